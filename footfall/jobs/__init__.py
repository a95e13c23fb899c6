"""Background jobs: the runner, and the periodic work a footfall process does besides requests."""
