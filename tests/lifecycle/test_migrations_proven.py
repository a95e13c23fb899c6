"""Migrations proven on data: a data directory at every schema revision of the metadata, with
an event store of every schema version, holding a row in every table, opens at head with
nothing lost; and every down-migration runs on a full database and back up again.

Runs on SQLite and on PostgreSQL (where installed), as the metadata store does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta import db
from footfall.meta.keys import create_key
from footfall.meta.sites import get_site, list_sites
from footfall.services import Services
from footfall.settings import load_settings
from footfall.storage.duckdb.store import SCHEMA_VERSION, DuckDBEventStore
from footfall.web.app import create_app
from tests.lifecycle.old_versions import DAY, fill, v1_store_file
from tests.storage.rows import event, session

REVISIONS = db.known_revisions()
STORE_VERSIONS = sorted(DuckDBEventStore.readable_versions)
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)


def _store_at(version: str, path: Path) -> int:
    """An event store of schema `version` at `path`; returns the page views it holds."""
    if version == "1":
        v1_store_file(path, pageviews=3)
        return 3
    store = DuckDBEventStore(path)
    try:
        rows = [event(at=DAY + dt.timedelta(minutes=m), visitor=1) for m in range(4)]
        store.write(rows, [session(start=DAY, last=DAY + dt.timedelta(minutes=3), pageviews=4)], [])
    finally:
        store.close()
    return 4


def test_every_released_version_is_known() -> None:
    # A new migration or store version must join the lists this module walks.
    assert REVISIONS[0] == "0001" and REVISIONS[-1] == db.head_revision()
    assert STORE_VERSIONS == ["1", SCHEMA_VERSION]


@pytest.mark.parametrize("store_version", STORE_VERSIONS)
@pytest.mark.parametrize("revision", REVISIONS)
def test_a_data_directory_at_any_version_opens_at_head(
    meta_url: str, tmp_path: Path, revision: str, store_version: str
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = db.create_engine(meta_url)
    assert db.migrate(engine, revision) == revision
    counts = fill(engine)
    engine.dispose()
    pageviews = _store_at(store_version, data_dir / "events.duckdb")

    environ = {} if meta_url.startswith("sqlite") else {"FOOTFALL_DATABASE_URL": meta_url}
    settings = load_settings({"data_dir": data_dir}, environ=environ)
    if meta_url.startswith("sqlite"):
        settings = settings.replace(database_url=meta_url)
    services = Services.open(settings, clock=FixedClock(NOW))
    try:
        assert db.current_revision(services.meta) == db.head_revision()
        version = services.store.query(
            "SELECT value FROM store_info WHERE key = 'schema_version'", [], timeout=10, tag="t"
        )
        assert version == [(SCHEMA_VERSION,)]
        site = get_site(services.meta, "example.com")
        assert (site.timezone, site.retention_days) == ("Europe/Berlin", None)
        with services.meta.connect() as conn:
            for table in counts:
                found = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                # Salts rotate on open: the old one stays as the previous salt.
                assert found >= 1, table
        key = create_key(services.meta, name="after-upgrade", scopes=("stats:read",))[1]
    finally:
        services.close()
    with TestClient(create_app(settings, clock=FixedClock(NOW))) as client:
        answer = client.get(
            "/api/v1/stats/aggregate",
            params={
                "site_id": "example.com",
                "period": "day",
                "date": "2026-11-02",
                "metrics": "pageviews,visitors",
            },
            headers={"authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]["pageviews"]["value"] == pageviews
    assert answer.json()["results"]["visitors"]["value"] == 1


def test_every_down_migration_runs_on_a_full_database_and_back(meta_url: str) -> None:
    engine = db.create_engine(meta_url)
    try:
        db.migrate(engine)
        fill(engine)
        for target in [*reversed(REVISIONS[:-1]), "base"]:
            assert db.migrate(engine, target) == (None if target == "base" else target)
            tables = set(sa.inspect(engine).get_table_names())
            if target != "base":
                # The site outlives every down-migration but the last.
                assert [s.domain for s in list_sites_at(engine)] == ["example.com"], target
            else:
                assert "sites" not in tables
        assert db.migrate(engine) == db.head_revision()
        fill(engine)
        assert [s.domain for s in list_sites(engine)] == ["example.com"]
    finally:
        engine.dispose()


def list_sites_at(engine: sa.Engine) -> list[sa.Row[tuple[str]]]:
    """The sites' domains on a schema of any revision (the current functions need the newest)."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT domain FROM sites ORDER BY domain")))
