"""Bulk import of NDJSON history.

The same enrichment and session rules as live events, run over whole columns, with Python
only once per distinct value (docs/adr/0011-bulk-import-in-the-core.md).
"""

from footfall.ingest.bulk.pipeline import Enrichers, ImportRows, ImportTarget, build_import
from footfall.ingest.bulk.report import ImportReport

__all__ = ["Enrichers", "ImportReport", "ImportRows", "ImportTarget", "build_import"]
