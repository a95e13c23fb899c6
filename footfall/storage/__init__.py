"""Event stores: DuckDB (embedded default); every backend implements `footfall.storage.base`."""
