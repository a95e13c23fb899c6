"""The same file imported twice into a site is refused, not counted twice; --force imports it.

On the command line (a file, or the same bytes on stdin) and over `POST /api/import`; a file
that stored nothing can be sent again, another site or another file is not affected, and a
deleted site forgets its imports.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.meta.imports import find_import, imported_sizes, record_import
from footfall.meta.sites import add_site, delete_site
from footfall.meta.tables import imports
from footfall.services import open_meta
from footfall.settings import Settings
from tests.commands import footfall

LINES = [
    {
        "timestamp": "2024-05-01T10:00:00Z",
        "name": "pageview",
        "url": "https://example.com/a",
        "visitor_id": "v1",
    },
    {
        "timestamp": "2024-05-01T10:05:00Z",
        "name": "pageview",
        "url": "https://example.com/b",
        "visitor_id": "v1",
    },
]
BODY = "".join(json.dumps(line) + "\n" for line in LINES)
REFUSED = (
    r"example\.com already holds the events of this file \(imported on "
    r"\d{4}-\d\d-\d\d at \d\d:\d\d UTC: 2 events\)"
)


def _ff(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return footfall(*args, "--data-dir", str(data), stdin=stdin)


def _stored(settings: Settings) -> int:
    con = duckdb.connect(str(settings.event_store_path), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM events").fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
def test_the_command_refuses_a_file_imported_before(settings: Settings, tmp_path: Path) -> None:
    data = settings.data_dir
    path = tmp_path / "events.ndjson"
    path.write_text(BODY)
    first = _ff(data, "import", "--site", "example.com", str(path))
    assert first.returncode == 0, first.stderr
    assert "imported 2 events in 1 visit from 2 lines" in first.stdout

    again = _ff(data, "import", "--site", "example.com", str(path))
    assert again.returncode == 1 and again.stdout == ""
    assert re.fullmatch(
        f"error: {REFUSED}; add --force to import them a second time\n", again.stderr
    ), again.stderr
    # The same bytes on stdin are the same file.
    piped = _ff(data, "import", "--site", "example.com", "-", stdin=BODY)
    assert piped.returncode == 1 and "add --force" in piped.stderr
    assert _stored(settings) == 2

    forced = _ff(data, "import", "--site", "example.com", "--force", str(path))
    assert forced.returncode == 0, forced.stderr
    assert _stored(settings) == 4
    # One byte more is another file.
    path.write_text(BODY + "\n")
    other = _ff(data, "import", "--site", "example.com", str(path))
    assert other.returncode == 0, other.stderr
    assert _stored(settings) == 6
    assert "--force" in _ff(data, "import", "--help").stdout


@pytest.mark.slow
def test_a_file_that_stored_nothing_can_be_sent_again(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text("not json\n")
    for _ in range(2):
        result = _ff(settings.data_dir, "import", "--site", "example.com", str(path))
        assert result.returncode == 1
        assert "line 1: not a JSON object" in result.stderr
        assert "already holds" not in result.stderr


def test_the_api_refuses_a_body_imported_before(
    client: TestClient, import_key: str, settings: Settings
) -> None:
    auth = {"authorization": f"Bearer {import_key}"}
    url = "/api/import?site_id=example.com"
    assert client.post(url, content=BODY, headers=auth).json()["stored"] == 2
    again = client.post(url, content=BODY, headers=auth)
    assert again.status_code == 409
    message = again.json()["error"]
    assert re.fullmatch(f"{REFUSED}; add force=true to import them a second time", message)
    forced = client.post(url + "&force=true", content=BODY, headers=auth)
    assert forced.status_code == 200 and forced.json()["stored"] == 2
    # Another site is another question.
    add_site(open_meta(settings), domain="other.example")
    elsewhere = client.post("/api/import?site_id=other.example", content=BODY, headers=auth)
    assert elsewhere.status_code == 200 and elsewhere.json()["stored"] == 2
    # What the command line imported counts too (the same digest of the same bytes).
    assert client.post(url, content=BODY.encode(), headers=auth).status_code == 409


def test_records_are_kept_per_site_and_go_with_it(engine: sa.Engine) -> None:
    now = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
    site = add_site(engine, domain="gone.example")
    other = add_site(engine, domain="kept.example")
    for target in (site, other):
        record_import(
            engine, site_id=target.id, digest="ab" * 32, size=10, lines=2, stored=2, now=now
        )
    later = now + dt.timedelta(hours=1)
    record_import(engine, site_id=site.id, digest="ab" * 32, size=10, lines=2, stored=1, now=later)
    found = find_import(engine, site.id, "ab" * 32)
    assert found is not None and (found.stored, found.imported_at) == (1, later)
    assert find_import(engine, site.id, "cd" * 32) is None
    assert imported_sizes(engine, site.id) == {10}
    delete_site(engine, "gone.example")
    with engine.connect() as conn:
        left = conn.execute(sa.select(imports.c.site_id)).scalars().all()
    assert left == [other.id]
