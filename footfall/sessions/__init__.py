"""Sessions: the 30-minute rule (pure) and the bounded cache of live sessions."""
