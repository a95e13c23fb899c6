"""`footfall migrate-events`: DuckDB → ClickHouse (chdb) and back, with the same answers."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from footfall.clock import FixedClock
from footfall.lifecycle.importing import import_ndjson
from footfall.lifecycle.migrate_events import migrate_events
from footfall.services import Services, open_event_store_at
from tests.services import chdb_url
from tests.stats_harness import demo_file, prepare_site, serve

NOW = dt.datetime(2026, 11, 2, 12)
QUESTIONS: list[tuple[str, dict[str, Any]]] = [
    (
        "aggregate",
        {
            "period": "30d",
            "date": "2026-11-02",
            "metrics": "visitors,visits,pageviews,bounce_rate,visit_duration,events",
        },
    ),
    ("timeseries", {"period": "30d", "date": "2026-11-02", "metrics": "visitors,pageviews"}),
    (
        "breakdown",
        {
            "period": "30d",
            "date": "2026-11-02",
            "property": "visit:source",
            "metrics": "visitors,visits,bounce_rate",
        },
    ),
    (
        "breakdown",
        {
            "period": "30d",
            "date": "2026-11-02",
            "property": "visit:exit_page",
            "metrics": "visitors,visits",
        },
    ),
    (
        "breakdown",
        {
            "period": "30d",
            "date": "2026-11-02",
            "property": "event:page",
            "metrics": "visitors,pageviews",
        },
    ),
]


def _answers(settings: Any, key: str) -> list[Any]:
    with serve(settings, key, now=NOW) as h:
        return [h.get(endpoint, **params) for endpoint, params in QUESTIONS]


def test_a_round_trip_keeps_every_answer(tmp_path: Path) -> None:
    url = chdb_url(tmp_path / "chdb")
    settings, site, key = prepare_site(tmp_path / "data")
    services = Services.open(settings, clock=FixedClock(NOW.replace(tzinfo=dt.UTC)))
    path = demo_file(
        tmp_path / "events.ndjson",
        events=4000,
        days=20,
        end=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        seed=3,
    )
    import_ndjson(services, site=site, path=path)
    services.close()
    before = _answers(settings, key)
    assert all(status == 200 for status, _ in before)

    # DuckDB → ClickHouse, run twice: the second run finds every day there already.
    source = open_event_store_at(f"duckdb://{settings.event_store_path}", read_only=True)
    target = open_event_store_at(url)
    try:
        report = migrate_events(source, target)
        assert report.copied_days == report.days > 15 and not report.mismatches
        again = migrate_events(source, target)
        assert again.copied_days == 0 and again.skipped_days == report.days
        assert target.count_events() == source.count_events()
    finally:
        target.close()
        source.close()
    on_clickhouse = settings.replace(events_url=url)
    assert _answers(on_clickhouse, key) == before

    # ClickHouse → a new DuckDB file, through the command line.
    back = tmp_path / "back.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "footfall", "migrate-events", "--to", f"duckdb://{back}"],
        env={
            "FOOTFALL_DATA_DIR": str(settings.data_dir),
            "FOOTFALL_EVENTS_URL": url,
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout
    assert _answers(settings.replace(events_url=f"duckdb://{back}"), key) == before


def test_a_partly_copied_day_is_refused(tmp_path: Path) -> None:
    from tests.storage.rows import T0, event, session

    source = open_event_store_at(f"duckdb://{tmp_path / 'a.duckdb'}")
    target = open_event_store_at(f"duckdb://{tmp_path / 'b.duckdb'}")
    try:
        source.write([event(), event(session_id=2, visitor=2)], [session()], [])
        target.write([event()], [session()], [])
        with pytest.raises(Exception, match="already holds part of 2026-11-02"):
            migrate_events(source, target)
        assert T0.date().isoformat() == "2026-11-02"
    finally:
        source.close()
        target.close()


def test_the_url_password_is_never_printed(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "footfall",
            "migrate-events",
            "--to",
            "clickhouse://u:hunter2@127.0.0.1:9/db",
        ],
        env={"FOOTFALL_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "hunter2" not in done.stdout + done.stderr
    assert json.dumps(done.stderr).count("\\n") <= 2, done.stderr
