"""The synthetic-traffic generator's live output: Events API requests from the same visits as
the import lines, standard library only (footfall.devtools.traffic)."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from footfall.devtools.traffic import TrackerRequest, generate_lines, tracker_requests
from footfall.devtools.traffic.__main__ import main
from footfall.devtools.traffic.agents import BOT_USER_AGENTS, BROWSER_USER_AGENTS
from footfall.devtools.traffic.goals import GOAL_NAMES
from footfall.devtools.traffic.pages import DEAD_LINKS, site_paths
from footfall.ingest.request import EventRequest, decode_body, parse_event

DOMAIN = "shop.example"
BROWSERS = {agent for _, agent in BROWSER_USER_AGENTS}
CRAWLERS = {agent for _, agent, _ in BOT_USER_AGENTS}


def _take(n: int, seed: int = 1, **kwargs: Any) -> list[TrackerRequest]:
    return list(itertools.islice(tracker_requests(DOMAIN, random.Random(seed), **kwargs), n))


@pytest.fixture(scope="module")
def live() -> list[TrackerRequest]:
    return _take(20_000)


def test_requests_are_what_the_tracker_sends(live: list[TrackerRequest]) -> None:
    for request in live[:3000]:
        body = json.loads(request.body)
        assert list(body)[:4] == ["n", "u", "d", "r"] and set(body) <= {"n", "u", "d", "r", "p"}
        assert body["d"] == DOMAIN
        event = parse_event(decode_body(request.body))
        assert isinstance(event, EventRequest), event
        assert event.url.startswith(f"https://{DOMAIN}/")
        assert request.headers == {
            "Content-Type": "text/plain",
            "User-Agent": request.user_agent,
            "X-Forwarded-For": request.ip,
        }


def test_the_same_rng_gives_the_same_requests() -> None:
    assert _take(500, seed=3) == _take(500, seed=3)
    assert _take(500, seed=3) != _take(500, seed=4)


def test_live_traffic_speaks_the_vocabulary_of_the_import_lines(
    live: list[TrackerRequest],
) -> None:
    end = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    imported = [
        json.loads(line) for line in generate_lines(domain=DOMAIN, events=20_000, days=7, end=end)
    ]
    bodies = [json.loads(r.body) for r in live]
    known_paths = {*site_paths(), *DEAD_LINKS}
    for events, name, url, referrer in (
        (imported, "name", "url", "referrer"),
        (bodies, "n", "u", "r"),
    ):
        paths = collections.Counter(
            e[url].split("?")[0].removeprefix(f"https://{DOMAIN}") for e in events
        )
        assert set(paths) <= known_paths and len(paths) > 150
        assert paths.most_common(1)[0][0] == "/"
        names = collections.Counter(e[name] for e in events)
        assert set(names) == {"pageview", *GOAL_NAMES}
        assert 0.01 < 1 - names["pageview"] / len(events) < 0.05
        external = {
            r for e in events if (r := e.get(referrer)) and not r.startswith(f"https://{DOMAIN}/")
        }
        assert {"https://www.google.com/", "https://news.ycombinator.com/"} <= external
        assert any("utm_campaign=" in e[url] for e in events)
    agents = collections.Counter(r.user_agent for r in live)
    assert set(agents) <= BROWSERS | CRAWLERS and len(agents) >= 25
    assert 0.002 < sum(n for a, n in agents.items() if a in CRAWLERS) / len(live) < 0.03
    assert any(":" in r.ip for r in live)  # some IPv6


def test_a_visitors_pages_follow_each_other(live: list[TrackerRequest]) -> None:
    """Events of overlapping visits interleave, but each visitor's visit reads in order."""
    last_page: dict[tuple[str, str], str] = {}
    followed = internal = 0
    for request in live:
        body = json.loads(request.body)
        if body["n"] != "pageview":
            continue
        visitor = (request.ip, request.user_agent)
        if str(body["r"]).startswith(f"https://{DOMAIN}/"):
            internal += 1
            followed += body["r"] == last_page.get(visitor)
        last_page[visitor] = body["u"].split("?")[0]
    assert internal > 1000 and followed / internal > 0.95
    switches = sum(a.ip != b.ip for a, b in itertools.pairwise(live))
    assert switches > len(live) / 2


def test_a_visitor_pool_caps_the_distinct_visitors() -> None:
    pooled = _take(5000, visitors=100)
    humans = {(r.ip, r.user_agent) for r in pooled if r.user_agent in BROWSERS}
    assert 90 <= len(humans) <= 100
    open_ended = {(r.ip, r.user_agent) for r in _take(5000) if r.user_agent in BROWSERS}
    assert len(open_ended) > 1000
    with pytest.raises(ValueError):
        tracker_requests(DOMAIN, random.Random(0), visitors=0)


def test_the_generator_needs_only_the_standard_library() -> None:
    """The load test's Locust file imports the mix, and with it the generator."""
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import footfall.devtools.loadtest.mix\n"
        "roots = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(roots - set(sys.stdlib_module_names) - {'footfall'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_the_command_writes_import_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "events.ndjson"
    argv = ["--events", "500", "--days", "2", "--end", "2026-11-01T00:00:00", "--out", str(out)]
    assert main(["--domain", DOMAIN, "--seed", "4", *argv]) == 0
    end = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    expected = list(generate_lines(domain=DOMAIN, events=500, days=2, end=end, seed=4))
    assert out.read_text().splitlines() == expected
    assert capsys.readouterr().err.startswith(f"wrote {len(expected)} events in ")
