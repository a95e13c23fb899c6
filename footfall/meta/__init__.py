"""The metadata store: sites, API keys and visitor-hash salts (SQLAlchemy Core, Alembic)."""
