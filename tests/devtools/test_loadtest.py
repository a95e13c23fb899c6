"""`footfall loadtest` and the Locust file: the query mix is valid, percentiles are exact, and
short runs against a real server report what they measured and gate on their budgets."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from footfall.cli import main
from footfall.devtools.loadtest.config import LoadConfig, check_url
from footfall.devtools.loadtest.dashboards import GOALS, dashboard, read_seconds
from footfall.devtools.loadtest.mix import (
    AGGREGATE,
    BREAKDOWN,
    EVENT,
    QUERY_V2,
    REALTIME,
    TIMESERIES,
    EventFactory,
    QueryMix,
    think_seconds,
)
from footfall.devtools.loadtest.report import (
    CACHE_HITS,
    CACHE_MISSES,
    RSS,
    Budgets,
    Recorder,
    ServerFigures,
    build_report,
    evaluate_budgets,
    format_table,
    latency_summary,
    parse_metrics,
    percentile,
)
from footfall.devtools.loadtest.runner import LoadTest, Progress
from footfall.devtools.traffic import write_ndjson
from footfall.devtools.traffic.agents import BOT_USER_AGENTS, BROWSER_USER_AGENTS
from footfall.devtools.traffic.goals import GOAL_NAMES
from footfall.ingest.request import EventRequest, decode_body, parse_event
from footfall.meta.goals import Goal, add_goal
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site, get_site
from footfall.services import open_meta
from footfall.settings import load_settings
from footfall.stats.v1 import V1Request
from footfall.stats.v2 import V2Request
from tests import ROOT
from tests.conftest import FOOTFALL, ServerProcess, free_port

SITE = "example.com"
ROOT = ROOT
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


# -- percentiles ---------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1
    # 0.29 * 100 is 28.999... in floats: the rank must still be 29.
    assert percentile(values, 29) == 29
    assert percentile([7.0], 99) == 7
    assert percentile([1.0, 2.0], 50) == 1
    assert percentile([1.0, 2.0], 51) == 2


def test_percentile_refuses_empty_or_out_of_range() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1))
def test_latency_summary_is_ordered(samples: list[float]) -> None:
    summary = latency_summary(samples)
    assert summary is not None
    assert summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"]
    assert summary["max"] == round(max(samples) * 1000, 3)


def test_latency_summary_of_nothing_is_none() -> None:
    assert latency_summary([]) is None


# -- the query mix -------------------------------------------------------------------------


def _parse(item: Any, goals: tuple[Goal, ...] = ()) -> None:
    """Parses a request of the mix with footfall's own Stats API parsers (raises if invalid)."""
    common: dict[str, Any] = {"site_id": 1, "timezone": "UTC", "goals": goals, "now": NOW}
    if item.path == QUERY_V2:
        V2Request(dict(item.body), first_data_day=None, **common).query()
        return
    request = V1Request(item.params, **common)
    {AGGREGATE: request.aggregate, TIMESERIES: request.timeseries, BREAKDOWN: request.breakdown}[
        item.path
    ]()


def test_every_query_of_the_mix_is_valid() -> None:
    mix = QueryMix(SITE)
    paths = {item.path for item in mix.requests}
    assert paths == {AGGREGATE, TIMESERIES, BREAKDOWN, REALTIME, QUERY_V2}
    for item in mix.requests:
        assert item.weight > 0, item.describe()
        if item.path == REALTIME:
            assert item.params == {"site_id": SITE}
            continue
        _parse(item)
    described = "\n".join(item.describe() for item in mix.requests)
    for needle in (
        "compare=previous_period",
        "filters=visit:source==Google",
        "filters=event:page==/",
        "filters=visit:country==US",
        "property=visit:utm_source",
        "property=visit:device",
        "interval=month",
        '"date_range": "6mo"',
    ):
        assert needle in described


def test_the_mix_is_weighted_and_replayed_by_a_seed() -> None:
    mix = QueryMix(SITE)
    first = [mix.pick(random.Random("7")).describe() for _ in range(50)]
    again = [mix.pick(random.Random("7")).describe() for _ in range(50)]
    assert first == again
    rng = random.Random(1)
    kinds = [mix.pick(rng).kind for _ in range(5000)]
    # Breakdown panels outnumber the top stats; every kind shows up.
    assert sum(k.startswith("breakdown") for k in kinds) > 2 * kinds.count("aggregate")
    assert {k for k in kinds} == {item.kind for item in mix.requests}


def test_think_time_is_exponential_with_the_mean_asked() -> None:
    rng = random.Random(3)
    assert think_seconds(rng, 0) == 0
    times = [think_seconds(rng, 500) for _ in range(20_000)]
    assert min(times) >= 0
    assert 0.47 < sum(times) / len(times) < 0.53


def test_ingest_events_are_valid_tracker_payloads() -> None:
    factory = EventFactory(SITE, random.Random(5), visitors=50)
    browsers = {agent for _, agent in BROWSER_USER_AGENTS}
    crawlers = {agent for _, agent, _ in BOT_USER_AGENTS}
    addresses = set()
    names = set()
    for _ in range(600):
        body, headers = factory.next()
        event = parse_event(decode_body(body))
        assert isinstance(event, EventRequest), event
        assert event.url.startswith(f"https://{SITE}/")
        assert headers["Content-Type"] == "text/plain"
        assert headers["User-Agent"] in browsers | crawlers
        if headers["User-Agent"] in browsers:
            addresses.add(headers["X-Forwarded-For"])
        names.add(event.name)
    # The pool's visitors come back; crawlers come from their own ranges.
    assert 20 < len(addresses) <= 50
    assert "pageview" in names and len(names) > 1
    assert names <= {"pageview", *GOAL_NAMES}


# -- metrics, budgets, report --------------------------------------------------------------

EXPOSITION = """# HELP footfall_query_cache_hits_total Query cache lookups answered from the cache.
# TYPE footfall_query_cache_hits_total counter
footfall_query_cache_hits_total 90.0
footfall_query_cache_misses_total 10.0
footfall_http_requests_total{method="GET",route="/metrics",status="200"} 3.0
footfall_http_requests_total{method="GET",route="/healthz",status="200"} 4.0 1700000000000
process_resident_memory_bytes 1.2345e+08
"""


def test_parse_metrics_reads_plain_and_labelled_samples() -> None:
    names = (CACHE_HITS, CACHE_MISSES, RSS, "footfall_http_requests_total", "absent")
    parsed = parse_metrics(EXPOSITION, names)
    assert parsed == {
        CACHE_HITS: 90,
        CACHE_MISSES: 10,
        RSS: 123_450_000,
        "footfall_http_requests_total": 7,
    }


def test_server_figures_are_deltas_over_the_run() -> None:
    figures = ServerFigures()
    assert figures.summary()["cache_hit_rate"] is None
    figures.before = {CACHE_HITS: 10, CACHE_MISSES: 5, RSS: 100}
    figures.after = {CACHE_HITS: 100, CACHE_MISSES: 15, RSS: 120}
    for sample in (figures.before, {RSS: 150}, figures.after):
        figures.observe_rss(sample)
    summary = figures.summary()
    assert summary["metrics_available"] is True
    assert (summary["cache_hits"], summary["cache_misses"]) == (90, 10)
    assert summary["cache_hit_rate"] == 0.9
    assert (summary["rss_start_bytes"], summary["rss_end_bytes"]) == (100, 120)
    assert summary["rss_peak_bytes"] == 150


def _recorder() -> Recorder:
    recorder = Recorder()
    for i in range(100):
        recorder.record(AGGREGATE, "aggregate", (i + 1) / 1000, None, at=float(i))
    recorder.record(BREAKDOWN, "breakdown visit:source", 0.5, "500", at=100.0)
    recorder.record(EVENT, "ingest", 9.0, "timeout", at=100.0)
    return recorder


def test_budgets_hold_or_break() -> None:
    recorder = _recorder()
    # The p95 budget looks at the Stats API requests only: the ingest timeout is not in it.
    ok = evaluate_budgets(recorder, Budgets(p95_max_ms=100, max_errors=2))
    assert [(b["name"], b["scope"], b["value"], b["passed"]) for b in ok] == [
        ("p95_ms", "stats_api", 96.0, True),
        ("errors", "all", 2, True),
    ]
    broken = evaluate_budgets(recorder, Budgets(p95_max_ms=50, max_errors=1))
    assert [b["passed"] for b in broken] == [False, False]
    assert evaluate_budgets(recorder, Budgets()) == []
    ingest_only = Recorder()
    ingest_only.record(EVENT, "ingest", 0.002, None, at=0.0)
    (budget,) = evaluate_budgets(ingest_only, Budgets(p95_max_ms=1))
    assert (budget["scope"], budget["value"], budget["passed"]) == ("ingest", 2.0, False)


def test_report_and_table() -> None:
    report = build_report(
        config={"url": "http://127.0.0.1:1", "site": SITE, "users": 2, "think_ms": 0.0}
        | {"ingest_rate": 5.0},
        stopped_by="duration",
        recorder=_recorder(),
        server=ServerFigures(error="GET /metrics answered 403 (set --metrics-token)"),
        elapsed=2.0,
        budgets=Budgets(max_errors=0),
    )
    assert report["passed"] is False
    assert report["totals"]["requests"] == 102
    assert report["totals"]["errors_by_status"] == {"500": 1, "timeout": 1}
    assert report["endpoints"][AGGREGATE]["throughput_rps"] == 50
    assert report["stats_api"]["requests"] == 101
    assert report["queries"]["ingest"]["errors"] == 1
    assert report["server"]["metrics_available"] is False
    table = format_table(report)
    for row in (AGGREGATE, BREAKDOWN, EVENT, "total"):
        assert any(line.startswith(row) for line in table.splitlines()), row
    assert "errors by status: 500: 1, timeout: 1" in table
    assert "server metrics: unavailable (GET /metrics answered 403" in table
    assert "budget: errors 2 <= 0: FAIL" in table


def test_progress_rewrites_one_line_on_a_terminal_and_prints_lines_elsewhere() -> None:
    tty = io.StringIO()
    progress = Progress(tty, tty=True)
    for second in range(3):
        progress.update(f"line {second}", now=float(second))
    progress.close()
    assert tty.getvalue() == "\r\x1b[2Kline 0\r\x1b[2Kline 1\r\x1b[2Kline 2\n"
    log = io.StringIO()
    progress = Progress(log, tty=False, every=5)
    for second in range(8):
        progress.update(f"line {second}", now=float(second))
    progress.update("last", now=8.5, final=True)
    progress.close()
    assert log.getvalue() == "line 0\nline 5\nlast\n"


# -- command-line usage --------------------------------------------------------------------


def test_only_http_urls() -> None:
    assert check_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    for bad in ("ftp://example.com", "file:///etc/passwd", "127.0.0.1:8000", "http://"):
        with pytest.raises(ValueError, match="not an http"):
            check_url(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "file:///etc/passwd"], "is not an http:// or https:// URL"),
        (["--users", "0"], "nothing to send"),
        (["--duration", "0"], "--duration"),
        (["--p95-max", "0"], "--p95-max"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["loadtest", "--key", "k", "--site", SITE, *args])
    assert result.exit_code == 2
    assert message in result.output


# -- a slow stand-in server -----------------------------------------------------------------


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    """Answers the key check at once, /metrics with 404, and everything else too late."""

    seen = 0

    def _answer(self) -> None:
        type(self).seen += 1
        if self.path.startswith("/metrics"):
            self.send_error(404)
            return
        if type(self).seen > 1:
            time.sleep(0.5)
        body = b'{"results": {}}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up
            self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


def test_slow_answers_count_as_timeouts_and_missing_metrics_are_reported() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stream = io.StringIO()
    config = LoadConfig(
        url=f"http://127.0.0.1:{server.server_address[1]}",
        key="k",
        site=SITE,
        users=2,
        duration=1.0,
        think_ms=0,
        timeout=0.1,
    )
    try:
        test = LoadTest(config, budgets=Budgets(max_errors=0), progress=Progress(stream, tty=False))
        report = asyncio.run(test.run())
    finally:
        server.shutdown()
        server.server_close()
    totals = report["totals"]
    assert totals["requests"] >= 4
    assert totals["errors_by_status"] == {"timeout": totals["requests"]}
    assert 100 <= totals["latency_ms"]["p50"] < 400
    assert report["server"]["metrics_available"] is False
    assert report["server"]["metrics_error"] == "GET /metrics answered 404"
    assert report["passed"] is False
    assert "requests" in stream.getvalue()


# -- against a real server -----------------------------------------------------------------


def _server(
    data: Path, env: dict[str, str] | None = None, *, events: int = 3000
) -> tuple[ServerProcess, list[str]]:
    """A server with example.com and `events` of demo traffic; returns it and two keys."""
    settings = load_settings({"data_dir": data}, environ={})
    meta = open_meta(settings)
    add_site(meta, domain=SITE, timezone="UTC")
    keys = [create_key(meta, name=f"load{i}", scopes=("stats:read",))[1] for i in range(2)]
    site_id = get_site(meta, SITE).id
    for goal in GOALS:  # the goals the demo data configures, for the dashboards mix's filters
        add_goal(meta, site_id, event_name=goal)
    importer = create_key(meta, name="importer", scopes=("events:import",))[1]
    meta.dispose()
    server = ServerProcess(data_dir=data, port=free_port(), env=env)
    server.start()
    if not events:
        return server, keys
    lines = io.StringIO()
    end = dt.datetime.now(dt.UTC)
    write_ndjson(lines, domain=SITE, events=events, days=30, end=end)
    answer = httpx.post(
        f"{server.url}/api/import",
        params={"site_id": SITE},
        content=lines.getvalue().encode(),
        headers={"authorization": f"Bearer {importer}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return server, keys


@pytest.fixture(scope="module")
def site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server, keys = _server(tmp_path_factory.mktemp("loadtest") / "data")
    try:
        yield server, keys[0]
    finally:
        server.stop()


def _loadtest(url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOOTFALL, "loadtest", "--url", url, "--key", key, "--site", SITE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _unperiodic(item: Any) -> str:
    if item.body is not None:
        return json.dumps({k: v for k, v in item.body.items() if k != "date_range"})
    return json.dumps({k: v for k, v in item.params.items() if k != "period"})


@pytest.mark.slow
def test_every_query_of_the_mix_answers_200(site_server: tuple[ServerProcess, str]) -> None:
    server, key = site_server
    # Every shape once (the parsers above check every period): the period only moves the
    # range, except for the timeseries, whose interval follows it.
    shapes = {}
    for item in QueryMix(SITE).requests:
        same = item.describe() if item.path == TIMESERIES else item.kind + _unperiodic(item)
        shapes.setdefault(same, item)
    failed = []
    with httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        for item in shapes.values():
            answer = client.request(item.method, item.path, params=item.params, json=item.body)
            if answer.status_code != 200:
                failed.append((item.describe(), answer.status_code, answer.text[:200]))
    assert failed == []


@pytest.mark.slow
def test_a_short_run_reports_every_endpoint(site_server: tuple[ServerProcess, str]) -> None:
    server, key = site_server
    result = _loadtest(
        server.url,
        key,
        *("--users", "3", "--duration", "3", "--think-ms", "10", "--ingest-rate", "20"),
        *("--seed", "1", "--json", "--p95-max", "60000", "--max-errors", "0"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"config", "elapsed_s", "endpoints", "queries", "totals", "server"}
    assert "key" not in report["config"]
    assert report["config"]["users"] == 3
    assert 3 <= report["elapsed_s"] < 30
    assert report["stopped_by"] == "duration"
    assert set(report["endpoints"]) >= {AGGREGATE, BREAKDOWN, EVENT}
    for name, figures in [*report["endpoints"].items(), ("totals", report["totals"])]:
        latency = figures["latency_ms"]
        assert figures["requests"] > 0, name
        assert figures["errors"] == 0, (name, figures["errors_by_status"])
        assert figures["throughput_rps"] > 0
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"], name
    assert report["endpoints"][EVENT]["requests"] >= 30
    assert report["totals"]["requests"] == sum(e["requests"] for e in report["endpoints"].values())
    assert report["queries"]["ingest"]["requests"] == report["endpoints"][EVENT]["requests"]
    server_figures = report["server"]
    assert server_figures["metrics_available"] is True
    assert 0 <= server_figures["cache_hit_rate"] <= 1
    assert server_figures["cache_hits"] + server_figures["cache_misses"] > 0
    assert server_figures["rss_end_bytes"] > 0
    assert server_figures["rss_peak_bytes"] >= server_figures["rss_end_bytes"]
    assert [(b["name"], b["passed"]) for b in report["budgets"]] == [
        ("p95_ms", True),
        ("errors", True),
    ]
    assert report["passed"] is True


@pytest.mark.slow
def test_a_broken_p95_budget_exits_1_and_names_it(site_server: tuple[ServerProcess, str]) -> None:
    server, key = site_server
    result = _loadtest(
        server.url, key, "--users", "2", "--duration", "1", "--think-ms", "0", "--p95-max", "0.001"
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    for endpoint in (AGGREGATE, BREAKDOWN, "total"):
        assert any(line.startswith(endpoint) for line in lines), result.stdout
    assert "query cache hit rate:" in result.stdout
    assert "budget: p95 of Stats API requests" in result.stdout
    assert "budget broken: p95 of Stats API requests" in result.stderr
    assert "0.001 ms: FAIL" in result.stderr
    # Progress lines went to stderr, not into the table.
    assert "req/s  0 errors" in result.stderr


@pytest.mark.slow
def test_a_refused_key_fails_before_the_run(site_server: tuple[ServerProcess, str]) -> None:
    server, _ = site_server
    result = _loadtest(server.url, "not-a-key", "--max-errors", "0", "--duration", "30")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: the server refused the key (401)")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_an_unreachable_server_fails_with_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _loadtest(url, "k", "--duration", "30")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot reach {url}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_errors_are_counted_by_status_and_the_error_budget_gates(tmp_path: Path) -> None:
    # Six Stats API requests per key and hour: the rest of the run is answered 429. /metrics
    # is closed to loopback and opened by its token.
    env = {
        "FOOTFALL_STATS_API_HOURLY_LIMIT": "6",
        "FOOTFALL_METRICS_ALLOW": "",
        "FOOTFALL_METRICS_TOKEN": "metrics-secret",
    }
    server, keys = _server(tmp_path / "data", env, events=0)
    try:
        limited = _loadtest(
            server.url,
            keys[0],
            *("--users", "2", "--duration", "1", "--think-ms", "0", "--quiet", "--json"),
            *("--max-errors", "0", "--metrics-token", "metrics-secret"),
        )
        closed = _loadtest(
            server.url,
            keys[1],
            *("--users", "1", "--max-requests", "3", "--think-ms", "0", "--json", "--quiet"),
        )
    finally:
        server.stop()
    assert limited.returncode == 1
    assert limited.stderr.startswith("budget broken: errors")
    report = json.loads(limited.stdout)
    assert report["totals"]["errors"] > 0
    assert set(report["totals"]["errors_by_status"]) == {"429"}
    assert report["totals"]["requests"] - report["totals"]["errors"] == 5
    assert report["server"]["metrics_available"] is True
    assert closed.returncode == 0, closed.stderr
    report = json.loads(closed.stdout)
    assert report["totals"]["requests"] == 3
    assert report["stopped_by"] == "max_requests"
    assert report["server"]["metrics_available"] is False
    assert report["server"]["metrics_error"] == "GET /metrics answered 401 (set --metrics-token)"
    assert report["server"]["cache_hit_rate"] is None


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="locust is not installed")
def test_the_locustfile_runs_the_same_mix(site_server: tuple[ServerProcess, str]) -> None:
    server, key = site_server
    env = {
        **os.environ,
        "FOOTFALL_API_KEY": key,
        "FOOTFALL_SITE": SITE,
        "FOOTFALL_THINK_MS": "50",
        "FOOTFALL_INGEST_RATE": "10",
    }
    # Locust patches the standard library's networking: it runs in its own process only.
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")]
    result = subprocess.run(
        [
            *command,
            *("--host", server.url, "--headless", "-u", "3", "-r", "3", "-t", "4s"),
            *("--only-summary", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stats = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert EVENT in stats
    assert len(set(stats) & {AGGREGATE, TIMESERIES, BREAKDOWN, REALTIME, QUERY_V2}) >= 3
    assert sum(entry["num_requests"] for entry in stats.values()) > 20
    assert sum(entry["num_failures"] for entry in stats.values()) == 0


# -- the varied-filter dashboards mix --------------------------------------------------------

# The goals the demo data configures, which the mix's goal filters name.
DEMO_GOALS = tuple(Goal(i, name, event_name=name) for i, name in enumerate(GOALS, start=1))


def test_a_dashboard_is_eight_valid_requests_for_one_period_and_filter() -> None:
    rng = random.Random(3)
    today = dt.date(2026, 12, 7)
    seen_periods, seen_filters = set(), set()
    for _ in range(400):
        view = dashboard(SITE, rng, today)
        assert [item.kind for item in view][:2] == ["aggregate", "timeseries"]
        assert len(view) == 8 and len({item.kind for item in view}) == 8
        # One period and one filter for the whole dashboard, as one page view asks them.
        assert len({(i.params["period"], i.params["date"]) for i in view}) == 1
        assert len({i.params.get("filters") for i in view}) == 1
        for item in view:
            _parse(item, DEMO_GOALS)
        period, date = view[0].params["period"], view[0].params["date"]
        seen_periods.add(period)
        if period == "custom":
            first, last = (dt.date.fromisoformat(d) for d in date.split(","))
            assert first < last <= today
        else:
            assert dt.date.fromisoformat(date) <= today
        seen_filters.add((view[0].params.get("filters") or "none").split("==")[0])
    assert seen_periods == {"day", "7d", "30d", "month", "custom"}
    assert seen_filters == {"none", "visit:source", "visit:device", "visit:browser", "event:page",
                            "event:goal"}  # fmt: skip
    first = [i.describe() for i in dashboard(SITE, random.Random(9), today)]
    assert first == [i.describe() for i in dashboard(SITE, random.Random(9), today)]
    assert 0.2 <= read_seconds(rng) <= 1.0


@pytest.mark.slow
def test_the_dashboards_mix_and_the_capacity_search(site_server: tuple[ServerProcess, str]) -> None:
    server, key = site_server
    result = _loadtest(
        server.url,
        key,
        *("--mix", "dashboards", "--users", "2", "--duration", "2", "--json"),
        *("--max-errors", "0"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["config"]["mix"] == "dashboards"
    kinds = set(report["queries"])
    assert {"aggregate", "timeseries", "breakdown visit:os", "breakdown visit:entry_page"} <= kinds
    assert report["stats_api"]["requests"] >= 8 and report["stats_api"]["errors"] == 0

    found = _loadtest(
        server.url,
        key,
        *("--mix", "dashboards", "--find-capacity", "--steps", "1,3", "--duration", "2"),
        *("--p95-max", "60000", "--json"),
    )
    assert found.returncode == 0, found.stderr
    curve = json.loads(found.stdout)
    assert [row["users"] for row in curve["curve"]] == [1, 3]
    assert all(row["within_budget"] and row["requests_per_s"] > 0 for row in curve["curve"])
    assert curve["capacity_users"] == 3 and curve["mix"] == "dashboards"
    table = _loadtest(
        server.url,
        key,
        *("--find-capacity", "--steps", "2", "--duration", "1", "--p95-max", "0.001"),
    )
    assert table.returncode == 0, table.stderr
    assert "| 2 |" in table.stdout and "capacity: 0 users within p95 0.001 ms" in table.stdout
    bad = _loadtest(server.url, key, "--find-capacity", "--steps", "0,x")
    assert bad.returncode == 2 and "--steps" in bad.stderr
