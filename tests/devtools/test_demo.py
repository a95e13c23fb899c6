"""The demo's traffic: import NDJSON from the synthetic-traffic generator, and seeding the demo
site with it (footfall.devtools.traffic, footfall.devtools.demo)."""

from __future__ import annotations

import collections
import datetime
import io
import ipaddress
import itertools
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from footfall.clock import FixedClock
from footfall.devtools.demo import seed_demo
from footfall.devtools.traffic import generate_lines, write_ndjson
from footfall.devtools.traffic.addresses import COUNTRIES
from footfall.devtools.traffic.agents import BOT_USER_AGENTS
from footfall.devtools.traffic.goals import GOAL_NAMES
from footfall.meta.goals import list_goals
from footfall.meta.sites import add_site
from footfall.services import Services
from footfall.settings import load_settings

END = datetime.datetime(2026, 11, 1, 12, 30, tzinfo=datetime.UTC)
DOMAIN = "shop.example"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
BOT_UAS = {ua for _, ua, _ in BOT_USER_AGENTS}
ALLOWED_KEYS = {"timestamp", "name", "url", "referrer", "user_agent", "ip", "props"}
CUSTOM_NAMES = set(GOAL_NAMES)


def _parse_ts(value: str) -> datetime.datetime:
    assert TS_RE.match(value), value
    return datetime.datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    lines = list(generate_lines(domain=DOMAIN, events=20_000, days=30, end=END, seed=7))
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def sessions(sample: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return _sessions(sample)


def _sessions(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Groups human events into sessions: same ip + user agent, gaps <= 30 minutes."""
    by_visitor: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for e in events:
        if e["user_agent"] not in BOT_UAS:
            by_visitor[(e["ip"], e["user_agent"])].append(e)
    sessions: list[list[dict[str, Any]]] = []
    for evs in by_visitor.values():
        evs.sort(key=lambda e: e["timestamp"])
        current = [evs[0]]
        for prev, e in itertools.pairwise(evs):
            gap = (_parse_ts(e["timestamp"]) - _parse_ts(prev["timestamp"])).total_seconds()
            if gap > 1800:
                sessions.append(current)
                current = []
            current.append(e)
        sessions.append(current)
    return sessions


def test_deterministic_for_a_seed() -> None:
    a = list(generate_lines(domain=DOMAIN, events=3000, days=7, end=END, seed=3))
    b = list(generate_lines(domain=DOMAIN, events=3000, days=7, end=END, seed=3))
    assert a == b


def test_different_seeds_differ() -> None:
    a = list(generate_lines(domain=DOMAIN, events=3000, days=7, end=END, seed=1))
    b = list(generate_lines(domain=DOMAIN, events=3000, days=7, end=END, seed=2))
    assert a != b
    assert len(set(a) & set(b)) < len(a) // 10


def test_lines_are_valid_events(sample: list[dict[str, Any]]) -> None:
    start = END - datetime.timedelta(days=30)
    for e in sample:
        assert set(e) <= ALLOWED_KEYS
        assert isinstance(e["name"], str) and e["name"]
        assert TS_RE.match(e["timestamp"]), e["timestamp"]
        assert start <= _parse_ts(e["timestamp"]) < END
        assert e["url"].startswith(f"https://{DOMAIN}/")
        assert isinstance(e["user_agent"], str) and e["user_agent"]
        ipaddress.ip_address(e["ip"])
        if "referrer" in e:
            assert e["referrer"].startswith("https://")
        if "props" in e:
            assert e["name"] != "pageview"
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in e["props"].items())
        if e["name"] != "pageview":
            assert e["name"] in CUSTOM_NAMES
            assert e["props"]


def test_lines_have_no_newlines_and_are_roughly_time_ordered() -> None:
    lines = list(generate_lines(domain=DOMAIN, events=5000, days=10, end=END, seed=0))
    assert all("\n" not in line for line in lines)
    stamps = [json.loads(line)["timestamp"] for line in lines]
    # Emitted hour by hour: nothing is more than a few hours out of order.
    running_max = stamps[0]
    for ts in stamps:
        lag = (_parse_ts(running_max) - _parse_ts(ts)).total_seconds()
        assert lag < 4 * 3600
        running_max = max(running_max, ts)


@pytest.mark.parametrize(("events", "days"), [(1000, 30), (5000, 1), (3000, 90)])
def test_event_count_close_to_request(events: int, days: int) -> None:
    n = sum(1 for _ in generate_lines(domain=DOMAIN, events=events, days=days, end=END))
    assert abs(n - events) <= max(0.03 * events, 10)


def test_sample_count(sample: list[dict[str, Any]]) -> None:
    assert abs(len(sample) - 20_000) <= 600


def test_zero_events() -> None:
    assert list(generate_lines(domain=DOMAIN, events=0, days=30, end=END)) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"events": -1, "days": 30, "end": END},
        {"events": 10, "days": 0, "end": END},
        {"events": 10, "days": 30, "end": END.replace(tzinfo=None)},
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        list(generate_lines(domain=DOMAIN, **kwargs))


def test_write_ndjson_matches_generate_lines() -> None:
    buf = io.StringIO()
    n = write_ndjson(buf, domain=DOMAIN, events=2000, days=5, end=END, seed=9)
    text = buf.getvalue()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert n == len(lines)
    assert lines == list(generate_lines(domain=DOMAIN, events=2000, days=5, end=END, seed=9))


def test_domain_is_escaped() -> None:
    line = next(iter(generate_lines(domain='we"ird\\.example', events=50, days=1, end=END)))
    assert json.loads(line)["url"].startswith('https://we"ird\\.example/')


def test_session_shapes(sample: list[dict[str, Any]], sessions: list[list[dict[str, Any]]]) -> None:
    pageviews_per_session = [sum(e["name"] == "pageview" for e in s) for s in sessions]
    bounces = sum(1 for n in pageviews_per_session if n == 1) / len(sessions)
    assert 0.40 <= bounces <= 0.70
    assert sum(1 for n in pageviews_per_session if 2 <= n <= 10) / len(sessions) > 0.25
    with_custom = sum(1 for s in sessions if any(e["name"] != "pageview" for e in s))
    assert 0.005 <= with_custom / len(sessions) <= 0.12
    # Some visitors come back on other days.
    days_per_visitor: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for e in sample:
        days_per_visitor[(e["ip"], e["user_agent"])].add(e["timestamp"][:10])
    returning = sum(1 for d in days_per_visitor.values() if len(d) > 1)
    assert returning / len(days_per_visitor) > 0.05


def test_referrers(sessions: list[list[dict[str, Any]]]) -> None:
    first = [s[0] for s in sessions]
    direct = sum(1 for e in first if "referrer" not in e) / len(first)
    assert 0.30 <= direct <= 0.55
    hosts = collections.Counter(e["referrer"].split("/")[2] for e in first if "referrer" in e)
    for host in ("www.google.com", "news.ycombinator.com", "github.com", "t.co", "www.bing.com"):
        assert hosts[host] > 0, host
    urls = [e["url"] for e in first]
    assert any("utm_source=newsletter&utm_medium=email&utm_campaign=" in u for u in urls)
    assert any("gclid=" in u for u in urls)
    # Later pageviews refer from the site itself (external referrers only start sessions).
    internal = f"https://{DOMAIN}/"
    later = [e for s in sessions for e in s[1:] if e["name"] == "pageview"]
    assert later
    internal_share = sum(1 for e in later if e.get("referrer", "").startswith(internal))
    assert internal_share / len(later) > 0.97


def test_paths_follow_power_law(sample: list[dict[str, Any]]) -> None:
    paths = collections.Counter(
        e["url"].split("?")[0].removeprefix(f"https://{DOMAIN}")
        for e in sample
        if e["name"] == "pageview"
    )
    assert len(paths) >= 150
    top = paths.most_common()
    assert top[0][0] == "/"
    total = sum(paths.values())
    assert 0.4 <= sum(n for _, n in top[:10]) / total <= 0.85
    assert any(p.startswith("/blog/") for p in paths)
    assert any(p.count("/") >= 3 and p.startswith("/docs/") for p in paths)
    assert "/pricing" in paths


def test_bots_and_user_agents(sample: list[dict[str, Any]]) -> None:
    bots = sum(1 for e in sample if e["user_agent"] in BOT_UAS)
    assert 0.003 <= bots / len(sample) <= 0.025
    uas = collections.Counter(e["user_agent"] for e in sample if e["user_agent"] not in BOT_UAS)
    assert len(uas) >= 25
    mobile = sum(n for ua, n in uas.items() if "Mobile" in ua)
    assert 0.2 <= mobile / sum(uas.values()) <= 0.6
    assert sum(1 for e in sample if ":" in e["ip"]) > 0  # some IPv6


def test_seasonality(sample: list[dict[str, Any]]) -> None:
    per_weekday: collections.Counter[int] = collections.Counter()
    per_hour: collections.Counter[int] = collections.Counter()
    for e in sample:
        ts = _parse_ts(e["timestamp"])
        per_weekday[ts.weekday()] += 1
        per_hour[ts.hour] += 1
    weekday_avg = sum(per_weekday[d] for d in range(5)) / 5
    weekend_avg = (per_weekday[5] + per_weekday[6]) / 2
    assert weekend_avg < 0.85 * weekday_avg
    night = sum(per_hour[h] for h in range(1, 6))
    afternoon = sum(per_hour[h] for h in range(13, 18))
    assert night < 0.6 * afternoon


def test_custom_event_props(sample: list[dict[str, Any]]) -> None:
    by_name: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for e in sample:
        if e["name"] != "pageview":
            by_name[e["name"]].append(e["props"])
    assert {p["plan"] for p in by_name["Signup"]} <= {"free", "pro", "team"}
    assert all("file" in p for p in by_name["Download"])
    assert all(p["url"].startswith("https://") for p in by_name["Outbound Link: Click"])
    assert all(p["path"].startswith("/") for p in by_name["404"])
    assert set(by_name) == CUSTOM_NAMES


def test_ip_ranges_match_geoip_countries() -> None:
    geoip2fast = pytest.importorskip("geoip2fast")
    geo = geoip2fast.GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz")
    rng = random.Random(0)
    assert len(COUNTRIES) >= 25
    for code, (_, v4, v6) in COUNTRIES.items():
        for cidr in v4 + v6:
            net = ipaddress.ip_network(cidr)
            samples = [net.network_address + rng.randrange(net.num_addresses) for _ in range(20)]
            hits = sum(geo.lookup(str(ip)).country_code == code for ip in samples)
            assert hits >= 18, (code, cidr, hits)


def test_seed_demo_imports_the_window_before_now_for_the_site(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    services = Services.open(settings, clock=FixedClock(END))
    try:
        site = add_site(services.meta, domain="demo.example", timezone="UTC")
        report = seed_demo(services, site=site, events=2000, days=3)
        assert report.rejected == 0
        assert report.stored + report.dropped == report.lines
        assert abs(report.lines - 2000) <= 60 and report.sessions > 500
        assert services.store.count_events(site.id) == report.stored
        goals = {g.display_name for g in list_goals(services.meta, site.id)}
        assert goals == {*GOAL_NAMES, "Visit /pricing"}
    finally:
        services.close()
    assert not list(tmp_path.glob("*.ndjson")), "the generated file is removed"
