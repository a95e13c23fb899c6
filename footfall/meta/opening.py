"""Opening the metadata store, without the rest of the composition root.

Commands that only read or change metadata (sites, goals, keys, users, alert rules) open it
through here, so that they do not import the event store, the ingest pipeline and alerting:
`footfall site list` then starts in a third of the time. `footfall.services` re-exports both.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.errors import StoreError
from footfall.meta import db

if TYPE_CHECKING:
    import sqlalchemy as sa

    from footfall.settings import Settings


def prepare_data_dir(path: Path) -> None:
    """Creates the data directory if needed and checks that footfall can write in it.

    Raises:
        StoreError: It cannot be created or written; the message names the path.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Trying is the only reliable check: permissions, ACLs, read-only mounts, quotas.
        with tempfile.TemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise StoreError(
            f"data directory {path} is not writable: {exc.strerror or exc} (choose another "
            "with --data-dir or FOOTFALL_DATA_DIR, or give this user write access)"
        ) from exc


def open_meta(settings: Settings) -> sa.Engine:
    """Opens the metadata store and brings its schema up to date.

    Raises:
        ConfigError: ``FOOTFALL_DATABASE_URL`` cannot be parsed or names an unsupported
            database (the message shows the URL without its password).
        StoreError: The data directory is not writable, or the database cannot be reached.
    """
    prepare_data_dir(settings.data_dir)
    engine = db.create_engine(settings.metadata_url)
    db.migrate(engine)
    return engine
