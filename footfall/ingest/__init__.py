"""Event ingestion: parsing and enrichment of incoming events."""
