"""`footfall demo-data`: synthetic traffic through the import path, locally or to a server."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from footfall.devtools.demo_data import ChunkWriter, build_into_store, parse_end
from footfall.devtools.traffic import generate_batches
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import Services, open_meta
from footfall.settings import Settings, load_settings
from tests.commands import footfall
from tests.conftest import ServerProcess

EVENTS = 20_000
END = "2026-11-01T00:00:00Z"
END_DT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SUMMARY = re.compile(
    r"^generated ([\d,]+) events for (\S+) over (\d+) days ending (\S+): ([\d,]+) stored in "
    r"([\d,]+) visits \(([\d,]+) dropped as bots/spam, ([\d,]+) rejected\) in [\d.]+ s "
    r"\([\d,]+ events/s\)$"
)


def ff(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI without the tester's FOOTFALL_* settings (in-process; see tests/commands.py)."""
    return footfall(*args, data_dir=data_dir, clean_env=True)


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The numbers of the one-line summary."""
    found = SUMMARY.match(result.stdout.strip())
    assert found, result.stdout + result.stderr
    lines, _, days, _, stored, visits, dropped, rejected = found.groups()
    names = ("lines", "days", "stored", "visits", "dropped", "rejected")
    values = (lines, days, stored, visits, dropped, rejected)
    return {name: int(value.replace(",", "")) for name, value in zip(names, values, strict=True)}


def stored_rows(data_dir: Path) -> list[tuple[object, ...]]:
    """Every event without its (salted, per data directory) visitor and session ids."""
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT timestamp, name, pathname, country, browser, referrer_source FROM events "
            "ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    data = tmp_path_factory.mktemp("demo-data") / "data"
    result = ff(
        "demo-data", "--site", "Demo.Example", "--events", str(EVENTS), "--days", "30",
        "--seed", "3", "--end", END, "--data-dir", str(data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return data, result


def test_builds_the_site_through_the_import_path(
    built: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data, result = built
    counts = summary(result)
    assert result.stderr == "note: created the site demo.example (time zone UTC)\n"
    assert "for demo.example over 30 days ending 2026-11-01T00:00:00Z" in result.stdout
    # About the requested number of lines; bots (~1 %) are dropped, nothing is rejected.
    assert abs(counts["lines"] - EVENTS) < EVENTS * 0.02
    assert counts["rejected"] == 0
    assert 0 < counts["dropped"] < counts["lines"] * 0.03
    assert counts["stored"] == counts["lines"] - counts["dropped"]
    assert ff("site", "list", data_dir=data).stdout == "demo.example\tUTC\n"
    con = duckdb.connect(str(data / "events.duckdb"), read_only=True)
    try:
        events, first, last, countries = con.execute(
            "SELECT count(*), min(timestamp), max(timestamp), count(DISTINCT country) FROM events"
        ).fetchone() or (0, None, None, 0)
        visits = con.execute("SELECT count(*) FROM sessions").fetchone()
    finally:
        con.close()
    assert events == counts["stored"] and visits == (counts["visits"],)
    assert dt.datetime(2026, 10, 2) <= first < last < dt.datetime(2026, 11, 1)
    assert countries > 20  # enriched as a live event would be
    assert not list(data.glob("demo-data-*")), "chunk files are removed"
    # The goals of its custom events and the pricing page, for conversions and goal filters.
    goals = ff("goal", "list", "--site", "demo.example", data_dir=data).stdout
    for name in ("Signup", "Download", "Outbound Link: Click", "/pricing"):
        assert name in goals


def test_the_stats_engine_sees_the_events(
    built: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    from footfall.stats.cache import NullCache
    from footfall.stats.engine import StatsEngine
    from footfall.stats.v1 import V1Request

    data, result = built
    copy = tmp_path / "copy"  # a copy: the module's store stays untouched for the other tests
    copy.mkdir()
    for name in ("events.duckdb", "meta.sqlite3"):
        (copy / name).write_bytes((data / name).read_bytes())
    services = Services.open(load_settings({"data_dir": copy}, environ={}))
    try:
        engine = StatsEngine(services.store, cache=NullCache(), now=services.clock.now)
        request = V1Request(
            {"period": "custom", "date": "2026-10-01,2026-11-01", "metrics": "pageviews,visits"},
            site_id=1,
            timezone="UTC",
            goals=(),
            now=services.clock.now(),
        )
        (row,) = engine.run(request.aggregate()[0]).rows
    finally:
        services.close()
    counts = summary(result)
    pageviews, visits = row[1]
    assert visits == counts["visits"]
    # Custom events (Signup, Download, ...) are the rest of the stored events.
    assert counts["stored"] * 0.9 < pageviews < counts["stored"]


def test_the_same_seed_gives_the_same_events(
    built: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    data, result = built
    again = ff(
        "demo-data", "--site", "demo.example", "--events", str(EVENTS), "--seed", "3",
        "--end", END, "--data-dir", str(tmp_path / "again"),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert summary(again) == summary(result)
    assert stored_rows(tmp_path / "again") == stored_rows(data)


def test_chunks_import_what_one_file_imports(tmp_path: Path) -> None:
    """Cutting the stream into chunks keeps every generated visit whole."""
    reports = []
    for name, chunk in (("whole", 10**9), ("chunked", 1500)):
        settings = load_settings({"data_dir": tmp_path / name}, environ={})
        services = Services.open(settings)
        try:
            site = add_site(services.meta, domain="example.com")
            reports.append(
                build_into_store(
                    services,
                    site=site,
                    events=6000,
                    days=3,
                    end=END_DT,
                    seed=5,
                    chunk_lines=chunk,
                )
            )
        finally:
            services.close()
    whole, chunked = reports
    assert (whole.chunks, chunked.chunks > 3) == (1, True)
    assert (chunked.lines, chunked.stored, chunked.dropped) == (
        whole.lines,
        whole.stored,
        whole.dropped,
    )
    # Only a returning visitor back within 30 minutes of a visit in the previous chunk counts
    # as a new visit (with its own source) instead of continuing the old one.
    assert whole.sessions <= chunked.sessions <= whole.sessions * 1.005
    one, other = stored_rows(tmp_path / "whole"), stored_rows(tmp_path / "chunked")
    assert len(one) == len(other)
    assert sum((Counter(one) - Counter(other)).values()) <= len(one) * 0.005


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("demo-data-*"))


def test_chunk_files_are_removed_when_the_consumer_fails(tmp_path: Path) -> None:
    batches = generate_batches(domain="example.com", events=5000, days=2, end=END_DT, seed=1)
    writer = ChunkWriter(batches, directory=tmp_path, chunk_lines=800)
    with pytest.raises(RuntimeError):
        try:
            for chunk in writer:
                assert chunk.path.exists() and chunk.first_line == 1
                assert len(_files(tmp_path)) <= 2, "at most two chunk files at a time"
                raise RuntimeError("import failed")
        finally:
            writer.close()
    assert _files(tmp_path) == []


def test_a_failing_generator_reaches_the_consumer(tmp_path: Path) -> None:
    def broken() -> Iterator[list[str]]:
        yield ['{"timestamp": "2026-10-01T00:00:00Z"}'] * 10
        raise OSError("disk full")

    writer = ChunkWriter(broken(), directory=tmp_path, chunk_lines=5)
    chunks = []
    with pytest.raises(OSError, match="disk full"):
        try:
            for chunk in writer:
                chunks.append(chunk.lines)
                chunk.path.unlink()
                writer.release()
        finally:
            writer.close()
    assert chunks == [10] and _files(tmp_path) == []


def test_parse_end() -> None:
    now = dt.datetime(2026, 11, 5, 12, tzinfo=dt.UTC)
    assert parse_end(None, now) == now
    assert parse_end("2026-11-01", now) == END_DT
    assert parse_end("2026-11-01T01:00:00+01:00", now) == END_DT
    with pytest.raises(ValueError, match="future"):
        parse_end("2026-11-07", now)
    with pytest.raises(ValueError):
        parse_end("yesterday", now)


@pytest.mark.parametrize(
    "args",
    [
        ("--events", "-1"),
        ("--events", "1000000001"),
        ("--events", "10", "--days", "0"),
        ("--events", "10", "--days", "3651"),
        ("--events", "10", "--end", "2999-01-01"),
        ("--events", "10", "--end", "not a date"),
        ("--events", "10", "--url", "http://127.0.0.1:9"),
        ("--days", "3"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], tmp_path: Path) -> None:
    result = ff("demo-data", "--site", "example.com", *args, "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2, result.stderr
    assert "Error:" in result.stderr
    assert not (tmp_path / "data").exists(), "nothing is created on a usage error"


def test_zero_events(tmp_path: Path) -> None:
    result = ff("demo-data", "--site", "example.com", "--events", "0", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert summary(result)["stored"] == 0
    # Again on the same site: the goals it has are kept, not added twice.
    again = ff("demo-data", "--site", "example.com", "--events", "0", "--data-dir", str(tmp_path))
    assert again.returncode == 0, again.stderr
    goals = ff("goal", "list", "--site", "example.com", data_dir=tmp_path).stdout
    assert len(goals.splitlines()) == 5 and goals.count("\tSignup\tSignup") == 1


@pytest.mark.slow
def test_a_running_server_is_refused_then_fed_over_http(
    server: ServerProcess, settings: Settings, import_key: str
) -> None:
    server.start()
    busy = ff(
        "demo-data", "--site", "example.com", "--events", "3000", "--end", END,
        "--data-dir", str(settings.data_dir),
    )  # fmt: skip
    assert busy.returncode == 1
    assert busy.stdout == ""
    assert busy.stderr.count("\n") == 1 and busy.stderr.startswith("error: the event store")
    assert "stop it first" in busy.stderr and "--url URL --key KEY" in busy.stderr

    sent = ff(
        "demo-data", "--site", "example.com", "--events", "3000", "--days", "7", "--end", END,
        "--url", server.url, "--key", import_key,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    counts = summary(sent)
    assert counts["stored"] > 2800

    _, reader = create_key(open_meta(settings), name="reader", scopes=("stats:read",))
    answer = httpx.get(
        f"{server.url}/api/v1/stats/aggregate",
        params={
            "site_id": "example.com",
            "period": "custom",
            "date": "2026-10-20,2026-11-01",
            "metrics": "visits",
        },
        headers={"authorization": f"Bearer {reader}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]["visits"]["value"] == counts["visits"]

    unknown = ff(
        "demo-data", "--site", "nope.example", "--events", "100", "--end", END,
        "--url", server.url, "--key", import_key,
    )  # fmt: skip
    assert unknown.returncode == 1
    assert unknown.stderr.count("\n") == 1 and "footfall site add" in unknown.stderr


def test_a_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from footfall.cli.data import _progress_bar

    assert _progress_bar(10)[0] is None  # not a terminal under pytest
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    update, done = _progress_bar(10)
    assert update is not None
    update("reading", 0)
    update("imported", 10)
    done()
