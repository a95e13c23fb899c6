"""State shared by every footfall process of one installation, kept in Redis."""
