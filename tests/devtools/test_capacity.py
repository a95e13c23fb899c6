"""`footfall capacity`: the projection math, the measurements, and the command."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from footfall.devtools.capacity import (
    CLICKHOUSE_DISK_BYTES,
    DEFAULT_INGEST_EVENTS_PER_CORE,
    DEFAULT_QUERY_MS,
    DEFAULT_VIEW_ROWS,
    DISK_HEADROOM,
    QUERY_SHAPES,
    REFERENCE_PIPELINE_EVENTS_PER_SECOND,
    Figure,
    Figures,
    QueryCost,
    advice,
    ingest_per_core_from_pipeline,
    project,
)
from footfall.devtools.capacity_probe import empty_store_bytes, measure, pipeline_events_per_second
from footfall.devtools.demo_data import build_into_store
from footfall.meta.sites import add_site
from footfall.services import Services
from footfall.settings import Settings, load_settings
from footfall.text.quantities import format_bytes
from tests.conftest import ServerProcess

END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


# -- the projection, pure --------------------------------------------------------------------


def test_disk_is_events_kept_times_bytes_per_event_with_headroom() -> None:
    figures = Figures(bytes_per_event=Figure(40.0, "measured"))
    p = project(figures, events_per_day=1_000_000, retention_days=365)
    assert p.events_kept == 365_000_000
    assert p.store_bytes == 365_000_000 * 40.0
    assert p.disk_bytes == p.store_bytes * DISK_HEADROOM
    assert p.view_rows == 30_000_000
    short = project(figures, events_per_day=1_000_000, retention_days=7)
    assert short.view_rows == 7_000_000, "the view holds no more than what is kept"


def test_queries_scale_linearly_with_the_rows_of_the_view() -> None:
    cost = QueryCost.fit(empty_ms=5.0, sample_ms=105.0, rows=1_000_000, source="measured")
    assert (cost.fixed_ms, cost.ns_per_row) == (5.0, 100.0)
    assert cost.at(0) == 5.0 and cost.at(2_000_000) == pytest.approx(205.0)
    # Noise on a small store (the sample faster than the empty range) gives no slope.
    noisy = QueryCost.fit(empty_ms=5.0, sample_ms=4.0, rows=20_000, source="measured")
    assert (noisy.fixed_ms, noisy.ns_per_row) == (4.0, 0.0)
    # The defaults reproduce the documented timings at the documented size.
    p = project(Figures(), events_per_day=DEFAULT_VIEW_ROWS // 30, retention_days=30)
    for shape, ms in DEFAULT_QUERY_MS.items():
        assert p.query_ms[shape] == pytest.approx(ms, rel=1e-5)


def test_cpu_for_ingest_at_average_and_peak() -> None:
    per_core = 10_000.0
    figures = Figures(ingest_events_per_core=Figure(per_core, "default"))
    p = project(figures, events_per_day=864_000_000, retention_days=30, peak_factor=2)
    assert p.events_per_second == 10_000 and p.peak_events_per_second == 20_000
    assert (p.ingest_cores, p.peak_ingest_cores) == (1.0, 2.0)
    assert p.cores == 3, "peak ingest plus one core for queries"
    assert project(figures, events_per_day=1000, retention_days=30).cores == 2


def test_memory_is_baseline_plus_bytes_per_row_of_the_view() -> None:
    figures = Figures(
        baseline_rss_bytes=Figure(100e6, "default"), memory_bytes_per_row=Figure(50.0, "default")
    )
    p = project(figures, events_per_day=100_000, retention_days=365)
    assert p.memory_bytes == 100e6 + 50.0 * 3_000_000


@pytest.mark.parametrize(
    "field", ["events_kept", "disk_bytes", "memory_bytes", "peak_ingest_cores", "view_rows"]
)
def test_projections_grow_with_volume_and_retention(field: str) -> None:
    def value(events: int, days: int) -> float:
        return float(getattr(project(Figures(), events_per_day=events, retention_days=days), field))

    volumes = [value(n, 90) for n in (0, 1000, 10**6, 10**8)]
    assert volumes == sorted(volumes) and volumes[0] < volumes[-1]
    retentions = [value(10**6, d) for d in (1, 7, 30, 365)]
    assert retentions == sorted(retentions)
    for shape in QUERY_SHAPES:
        by_volume = [
            project(Figures(), events_per_day=n, retention_days=30).query_ms[shape]
            for n in (10, 10**5, 10**7)
        ]
        assert by_volume == sorted(by_volume)


def test_clickhouse_is_advised_for_a_huge_volume_only() -> None:
    tiny = project(Figures(), events_per_day=10_000, retention_days=365)
    assert not tiny.clickhouse and tiny.reasons == []
    assert "fits this volume" in advice(tiny)
    huge = project(Figures(), events_per_day=2_000_000_000, retention_days=365)
    assert huge.clickhouse and len(huge.reasons) == 3
    assert advice(huge).startswith("Recommendation: move to the ClickHouse backend")
    # Each threshold on its own.
    slow = project(Figures(), events_per_day=5_000_000, retention_days=30)
    assert [r.split(" ")[1] for r in slow.reasons] == ["uncached"]
    big = project(Figures(), events_per_day=600_000, retention_days=36_500)
    assert big.disk_bytes > CLICKHOUSE_DISK_BYTES and len(big.reasons) == 1
    # ~11.6 events/s on average, a thousand times that at the peak.
    bursty = project(Figures(), events_per_day=1_000_000, retention_days=30, peak_factor=1000)
    assert len(bursty.reasons) == 1 and "peak" in bursty.reasons[0]


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        project(Figures(), events_per_day=-1, retention_days=30)
    with pytest.raises(ValueError):
        project(Figures(), events_per_day=1, retention_days=0)
    with pytest.raises(ValueError):
        project(Figures(), events_per_day=1, retention_days=1, peak_factor=0.5)


def test_ingest_per_core_scales_with_this_machines_pipeline() -> None:
    assert ingest_per_core_from_pipeline(REFERENCE_PIPELINE_EVENTS_PER_SECOND) == pytest.approx(
        DEFAULT_INGEST_EVENTS_PER_CORE
    )
    half = ingest_per_core_from_pipeline(REFERENCE_PIPELINE_EVENTS_PER_SECOND / 2)
    assert half == pytest.approx(DEFAULT_INGEST_EVENTS_PER_CORE / 2)


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**30) == "3 GiB"
    assert format_bytes(2 * 2**40) == "2 TiB"


# -- measuring a live store ------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """20k demo events for one site, built through the import path."""
    settings = load_settings({"data_dir": tmp_path_factory.mktemp("capacity")}, environ={})
    services = Services.open(settings)
    try:
        site = add_site(services.meta, domain="example.com")
        build_into_store(services, site=site, events=20_000, days=30, end=END, seed=2)
    finally:
        services.close()
    return settings


def test_a_small_store_is_measured_when_allowed(small_store: Settings) -> None:
    figures, store = measure(
        small_store, runs=2, pipeline_events=2000, min_events=1000, min_view_rows=1000
    )
    assert store.queries_timed and store.site == "example.com"
    assert store.events > 19_000 and 0.3 < store.sessions / store.events < 0.5
    assert 19_000 < store.view_rows <= store.events
    assert figures.bytes_per_event.source == "measured"
    # The empty store's fixed blocks are left out; what is left is tens of bytes per event.
    expected = (store.store_bytes - store.empty_store_bytes) / store.events
    assert figures.bytes_per_event.value == pytest.approx(expected)
    assert 10 < figures.bytes_per_event.value < 200
    assert 0 < store.empty_store_bytes < store.store_bytes
    assert {q.source for q in figures.queries.values()} == {"measured"}
    assert all(q.sample_rows == store.view_rows for q in figures.queries.values())
    assert figures.memory_bytes_per_row.source == "measured"
    assert figures.ingest_events_per_core.source == "measured"
    assert figures.baseline_rss_bytes.source == "default"


def test_a_small_store_falls_back_to_defaults(small_store: Settings) -> None:
    figures, store = measure(small_store, runs=1, pipeline_events=0)
    assert not store.queries_timed
    assert figures.bytes_per_event.source == "default"
    assert {q.source for q in figures.queries.values()} == {"default"}
    assert figures.ingest_events_per_core.source == "default"  # pipeline_events=0 skips it
    assert any("too few" in note for note in store.notes)


def test_no_store_at_all(tmp_path: Path) -> None:
    figures, store = measure(load_settings({"data_dir": tmp_path}, environ={}), pipeline_events=0)
    assert figures == Figures() and store.notes[0].startswith("no event store")


def test_the_pipeline_is_timed_in_process() -> None:
    assert pipeline_events_per_second(1000) > 1000
    assert empty_store_bytes() > 0


# -- the command -------------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from footfall.cli import main

    result = CliRunner().invoke(main, list(args), env={"FOOTFALL_DATA_DIR": None})
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def capacity_json(settings: Settings, events_per_day: int, days: int = 365) -> dict[str, Any]:
    result = run(
        "capacity", "--events-per-day", str(events_per_day), "--retention-days", str(days),
        "--runs", "1", "--json", "--data-dir", str(settings.data_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_json_output(small_store: Settings) -> None:
    tiny = capacity_json(small_store, 1000)
    assert set(tiny) == {"inputs", "store", "figures", "projection", "recommendation"}
    assert tiny["inputs"] == {"events_per_day": 1000, "retention_days": 365, "peak_factor": 3.0}
    assert tiny["store"]["events"] > 19_000
    figures = tiny["figures"]
    assert figures["bytes_per_event"]["source"] == "default"  # 20k events: too few
    assert figures["ingest_events_per_core"]["source"] == "measured"
    assert set(figures["queries"]) == set(QUERY_SHAPES)
    assert figures["queries"]["top_pages"]["source"] == "default"
    projection = tiny["projection"]
    assert projection["events_kept"] == 365_000 and projection["clickhouse"] is False
    assert set(projection["query_ms"]) == set(QUERY_SHAPES)
    assert "fits this volume" in tiny["recommendation"]

    huge = capacity_json(small_store, 5_000_000_000)
    assert huge["projection"]["clickhouse"] is True and huge["projection"]["reasons"]
    assert "ClickHouse" in huge["recommendation"]
    assert huge["projection"]["disk_bytes"] > tiny["projection"]["disk_bytes"]


@pytest.mark.parametrize(
    "args",
    [
        ("--events-per-day", "-1", "--retention-days", "30"),
        ("--events-per-day", "10", "--retention-days", "0"),
        ("--events-per-day", "10", "--retention-days", "30", "--peak-factor", "0.5"),
        (
            "--retention-days",
            "30",
        ),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = run("capacity", *args)
    assert result.returncode == 2 and "Error:" in result.stderr


@pytest.mark.slow
def test_a_busy_store_falls_back_with_a_note(server: ServerProcess, settings: Settings) -> None:
    server.start()
    result = run(
        "capacity", "--events-per-day", "100000", "--retention-days", "90", "--runs", "1",
        "--data-dir", str(settings.data_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "in use by a running server" in text
    assert re.search(r"bytes per event on disk +36\.5 B +default\n", text)
    assert "unit cost" in text and "projection" in text and "Recommendation:" in text
    assert "default" in text and "measured (pipeline" in text
