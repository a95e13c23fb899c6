"""Export: Plausible's CSV zip layout, and raw events that ``footfall import`` takes back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from footfall.clock import FixedClock
from footfall.lifecycle.export import plan_export, write_export
from footfall.lifecycle.plausible_csv import TABLES, spans
from footfall.meta.audit import list_entries
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.settings import Settings
from tests.commands import footfall
from tests.lifecycle.helpers import (
    DOMAIN,
    NOW,
    answers,
    data_dir_with_site,
    import_file,
    seeded,
)

PLAUSIBLE_FILES = [
    "imported_browsers",
    "imported_custom_events",
    "imported_devices",
    "imported_entry_pages",
    "imported_exit_pages",
    "imported_locations",
    "imported_operating_systems",
    "imported_pages",
    "imported_sources",
    "imported_visitors",
]


def _export(settings: Settings, fmt: str, out: Path, **dates: str) -> Path:
    command = ["export", "--site", DOMAIN, "--format", fmt, str(out)]
    for flag, value in dates.items():
        command += [f"--{flag}", value]
    done = footfall(*command, "--data-dir", str(settings.data_dir))
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    tmp = tmp_path_factory.mktemp("export")
    return seeded(tmp / "source", tmp)


def test_csv_is_plausibles_zip_layout(source: tuple[Settings, str], tmp_path: Path) -> None:
    settings, _ = source
    out = _export(settings, "csv", tmp_path)
    (archive,) = list(tmp_path.glob("*.zip"))
    # Plausible names the archive after the domain (dots as underscores) and the day it is made.
    assert re.fullmatch(r"example_com_20[0-9]{6}\.zip", archive.name), archive.name
    with zipfile.ZipFile(archive) as opened:
        names = sorted(opened.namelist())
        first, last = "20261102", "20261111"
        assert names == [f"{name}_{first}_{last}.csv" for name in PLAUSIBLE_FILES]
        tables = {}
        for name in names:
            rows = list(csv.reader(io.TextIOWrapper(opened.open(name), encoding="utf-8")))
            tables[name.rsplit("_", 2)[0]] = rows
    assert out == tmp_path
    # Plausible's columns, in its order.
    for table, rows in tables.items():
        assert tuple(rows[0]) == TABLES[table], table
    assert tables["imported_visitors"][0] == [
        "date",
        "visitors",
        "pageviews",
        "bounces",
        "visits",
        "visit_duration",
    ]
    assert tables["imported_sources"][0][:3] == ["date", "source", "referrer"]
    # Every day with traffic has a row, and the totals add up to what the Stats API says.
    visitors = tables["imported_visitors"][1:]
    assert [row[0] for row in visitors] == sorted(row[0] for row in visitors)
    assert len(visitors) >= 10
    pageviews = sum(int(row[2]) for row in visitors)
    visits = sum(int(row[4]) for row in visitors)
    aggregate = answers(settings, source[1], date_range=("2026-11-01", "2026-11-12"))[0][0]
    metrics = dict(
        zip(
            ["visitors", "visits", "pageviews"],
            [aggregate["metrics"][0], aggregate["metrics"][1], aggregate["metrics"][2]],
            strict=True,
        )
    )
    assert pageviews == metrics["pageviews"]
    assert visits == metrics["visits"]
    assert sum(int(row[5]) for row in tables["imported_pages"][1:]) == pageviews
    assert sum(int(row[3]) for row in tables["imported_entry_pages"][1:]) == visits
    assert sum(int(row[4]) for row in tables["imported_exit_pages"][1:]) == visits
    for table in ("imported_devices", "imported_browsers", "imported_operating_systems"):
        header = tables[table][0]
        column = header.index("visits")
        assert sum(int(row[column]) for row in tables[table][1:]) == visits, table


def test_csv_of_a_range_names_its_days(source: tuple[Settings, str], tmp_path: Path) -> None:
    settings, _ = source
    out = _export(settings, "csv", tmp_path / "x.zip", **{"from": "2026-11-03", "to": "2026-11-04"})
    with zipfile.ZipFile(out) as opened:
        assert "imported_visitors_20261103_20261104.csv" in opened.namelist()
        rows = list(
            csv.reader(
                io.TextIOWrapper(
                    opened.open("imported_visitors_20261103_20261104.csv"), encoding="utf-8"
                )
            )
        )
    assert [row[0] for row in rows[1:]] == ["2026-11-03", "2026-11-04"]


@pytest.mark.parametrize("fmt", ["ndjson", "parquet"])
def test_an_export_imported_again_answers_the_same(
    source: tuple[Settings, str], tmp_path: Path, fmt: str
) -> None:
    settings, key = source
    exported = _export(settings, fmt, tmp_path / f"events.{fmt}")
    copy, copy_key = data_dir_with_site(tmp_path / "copy")
    stored = import_file(copy, exported)
    assert stored > 2000
    assert answers(copy, copy_key) == answers(settings, key)


def test_raw_lines_hold_no_address_or_user_agent(
    source: tuple[Settings, str], tmp_path: Path
) -> None:
    settings, _ = source
    lines = _export(settings, "ndjson", tmp_path / "e.ndjson").read_bytes().splitlines()
    parsed = [orjson.loads(line) for line in lines]
    assert parsed and all({"timestamp", "name", "url", "visitor_id"} <= set(p) for p in parsed)
    assert not any("ip" in p or "user_agent" in p for p in parsed)
    assert all(p["timestamp"].endswith("Z") for p in parsed)
    assert [p["timestamp"] for p in parsed] == sorted(p["timestamp"] for p in parsed)
    table = pq.read_table(_export(settings, "parquet", tmp_path / "e.parquet"))
    assert table.column_names == [
        "timestamp",
        "name",
        "url",
        "referrer",
        "visitor_id",
        "interactive",
        "props",
    ]
    assert table.num_rows == len(parsed)


def test_sources_and_props_survive_the_round_trip(tmp_path: Path) -> None:
    settings, key = data_dir_with_site(tmp_path / "a")
    lines = [
        {
            "timestamp": "2026-11-05T10:00:00Z",
            "name": "pageview",
            "url": "https://example.com/?utm_source=news&utm_medium=email&utm_campaign=autumn",
            "visitor_id": "a",
        },
        {
            "timestamp": "2026-11-05T10:01:00Z",
            "name": "Signup",
            "url": "https://example.com/join",
            "visitor_id": "a",
            "props": {"plan": "pro"},
        },
        {
            "timestamp": "2026-11-05T11:00:00Z",
            "name": "pageview",
            "url": "https://example.com/?gclid=xyz",
            "referrer": "https://www.google.com/",
            "visitor_id": "b",
        },
        {
            "timestamp": "2026-11-05T12:00:00Z",
            "name": "pageview",
            "url": "https://example.com/b",
            "referrer": "https://news.ycombinator.com/item?id=1",
            "visitor_id": "c",
        },
        {
            "timestamp": "2026-11-05T12:00:30Z",
            "name": "Scroll",
            "url": "https://example.com/b",
            "visitor_id": "c",
            "interactive": False,
        },
    ]
    source = tmp_path / "in.ndjson"
    source.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    import_file(settings, source)
    copy, copy_key = data_dir_with_site(tmp_path / "b")
    import_file(copy, _export(settings, "ndjson", tmp_path / "out.ndjson"))
    questions = [
        {"metrics": ["visitors", "bounce_rate"], "dimensions": [dim]}
        for dim in (
            "visit:source",
            "visit:utm_medium",
            "visit:utm_campaign",
            "visit:channel",
            "visit:referrer",
        )
    ]
    questions.append({"metrics": ["visitors", "events"], "dimensions": ["event:props:plan"]})
    questions.append({"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"]})
    expected = answers(settings, key, questions=questions, date_range=("2026-11-05", "2026-11-05"))
    assert (
        answers(copy, copy_key, questions=questions, date_range=("2026-11-05", "2026-11-05"))
        == expected
    )
    channels = {row["dimensions"][0] for row in expected[3]}
    assert {"Email", "Paid Search"} <= channels and len(channels) == 3


def test_an_empty_site_exports_empty_files(tmp_path: Path) -> None:
    settings, _ = data_dir_with_site(tmp_path / "empty")
    services = Services.open(settings, clock=FixedClock(NOW))
    try:
        site = get_site(services.meta, DOMAIN)
        for fmt in ("csv", "ndjson", "parquet"):
            plan = plan_export(services.store, site, fmt=fmt, first=None, last=None, now=NOW)
            with (tmp_path / plan.filename).open("wb") as out:
                assert write_export(services.store, plan, out) == 0
    finally:
        services.close()
    with zipfile.ZipFile(tmp_path / f"example_com_{NOW:%Y%m%d}.zip") as opened:
        assert len(opened.namelist()) == 10


def test_the_command_line_export_is_audited(source: tuple[Settings, str], tmp_path: Path) -> None:
    settings, _ = source
    _export(settings, "ndjson", tmp_path / "audited.ndjson")
    services = Services.open(settings)
    try:
        entries = list_entries(services.meta, action="site.export")
    finally:
        services.close()
    assert entries and entries[0].target == DOMAIN and entries[0].actor.startswith("cli")


def test_csv_statements_cover_spans_of_bounded_events() -> None:
    day = dt.date(2026, 11, 1)
    counts = [(day + dt.timedelta(days=i), n) for i, n in enumerate([100, 100, 900, 50, 50])]
    found = spans(counts, limit=250)
    assert [(r.first.day, r.last.day) for r in found] == [(1, 2), (3, 3), (4, 5)]
    assert spans([]) == []
