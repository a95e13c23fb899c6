"""Files imported into a site, known by the SHA-256 of their bytes.

An import adds events; it cannot tell an event it stored before from a new one. So the import
(footfall.lifecycle.importing) records every file that stored events here, and refuses a file
whose bytes were imported into the same site before, unless told to import it anyway. Only
the digest, the size and the counts are kept, never the file. Deleting a site deletes its
records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.meta.db import as_utc
from footfall.meta.tables import imports


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """A file that was imported into a site.

    Attributes:
        site_id: The site the events went to.
        digest: The SHA-256 of the file's bytes, in hex.
        size: The file's size in bytes.
        lines: The lines it had (blank ones not counted).
        stored: The events it stored.
        imported_at: When the import finished (UTC).
    """

    site_id: int
    digest: str
    size: int
    lines: int
    stored: int
    imported_at: dt.datetime


def record_import(
    engine: sa.Engine,
    *,
    site_id: int,
    digest: str,
    size: int,
    lines: int,
    stored: int,
    now: dt.datetime,
) -> ImportRecord:
    """Records that a file with `digest` stored `stored` events in the site `site_id`."""
    record = ImportRecord(site_id, digest, size, lines, stored, now)
    with engine.begin() as conn:
        conn.execute(
            imports.insert().values(
                site_id=site_id,
                digest=digest,
                size=size,
                lines=lines,
                stored=stored,
                imported_at=now,
            )
        )
    return record


def find_import(engine: sa.Engine, site_id: int, digest: str) -> ImportRecord | None:
    """The latest import of a file with `digest` into the site `site_id`, or None."""
    query = (
        sa.select(imports)
        .where(imports.c.site_id == site_id, imports.c.digest == digest)
        .order_by(imports.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    m = row._mapping
    return ImportRecord(
        site_id=int(m["site_id"]),
        digest=str(m["digest"]),
        size=int(m["size"]),
        lines=int(m["lines"]),
        stored=int(m["stored"]),
        imported_at=as_utc(m["imported_at"]),
    )


def imported_sizes(engine: sa.Engine, site_id: int) -> set[int]:
    """The sizes of the files imported into the site `site_id`.

    A file of another size cannot be one of them, so it needs no digest before its import.
    """
    query = sa.select(imports.c.size).where(imports.c.site_id == site_id).distinct()
    with engine.connect() as conn:
        return {int(size) for size in conn.execute(query).scalars()}
