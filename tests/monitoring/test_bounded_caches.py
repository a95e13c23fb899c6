"""Every cache on the ingest path is bounded and counts what it evicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from footfall.ingest import caches, domains, request, sources, urls
from footfall.ingest.caches import CacheFigures, lru_figures, session_figures
from footfall.ingest.geo import GeoLocator
from footfall.ingest.sources import SourceClassifier
from footfall.ingest.useragent import UserAgentParser
from footfall.services import Services
from footfall.sessions.cache import SessionCache
from footfall.sessions.rule import Session, start_session
from footfall.settings import Settings

T0 = dt.datetime(2026, 11, 2, 10, 0)


def _session(visitor_id: int) -> Session:
    return start_session(
        site_id=1,
        session_id=visitor_id,
        visitor_id=visitor_id,
        visitor=visitor_id,
        timestamp=T0,
        name="pageview",
        hostname="example.com",
        pathname="/",
        interactive=True,
        props=(),
        visit=(),
    )


def test_the_session_cache_holds_its_bound_and_counts_evictions() -> None:
    cache = SessionCache(3)
    for visitor in range(5):
        cache.put(_session(visitor))
    assert session_figures(cache) == CacheFigures(entries=3, capacity=3, evictions=2)
    assert cache.get(1, 0) is None  # the least recently active went first
    assert cache.get(1, 4) is not None


@pytest.mark.parametrize(
    ("make", "call"),
    [
        (
            lambda: UserAgentParser(cache_size=4),
            lambda parser, i: parser.parse(f"Mozilla/5.0 (X11; Linux x86_64) Firefox/{i}.0"),
        ),
        (lambda: GeoLocator(cache_size=4), lambda geo, i: geo.country(f"81.2.69.{i}")),
        (
            lambda: SourceClassifier(cache_size=4),
            lambda classifier, i: classifier.classify(
                referrer=f"https://site{i}.example/", page_hostname="example.com", query={}
            ),
        ),
    ],
    ids=["user_agents", "geo", "sources"],
)
def test_per_process_parsers_hold_their_bound_and_count_evictions(
    make: Callable[[], Any], call: Callable[[Any, int], object]
) -> None:
    cached = make()
    for i in range(10):
        call(cached, i)
    call(cached, 9)  # a hit: neither grows nor evicts
    assert lru_figures(cached) == CacheFigures(entries=4, capacity=4, evictions=6)


@pytest.mark.parametrize(
    ("name", "fill"),
    [
        ("page_urls", lambda i: urls.parse_page_url_cached(f"https://example.com/fill/{i}")),
        ("url_hosts", lambda i: request._scheme_and_host(f"https://h{i}.example/")),
        ("root_domains", lambda i: domains.root_domain(f"h{i}.fill.example.co.uk")),
        ("spam_referrers", lambda i: sources.is_spam_referrer(f"https://r{i}.example/")),
    ],
)
def test_process_wide_caches_hold_their_bound_and_count_evictions(
    name: str, fill: Callable[[int], object]
) -> None:
    before = caches.module_cache_figures()[name]
    for i in range(before.capacity + 100):
        fill(i)
    after = caches.module_cache_figures()[name]
    assert after.entries == after.capacity == before.capacity > 0
    assert after.evictions >= before.evictions + 100


def test_the_pipeline_reports_every_cache(settings: Settings) -> None:
    services = Services.open(settings)
    try:
        figures = services.pipeline.cache_figures()
    finally:
        services.close()
    assert set(figures) == {
        "sessions",
        "user_agents",
        "geo",
        "sources",
        "page_urls",
        "url_hosts",
        "root_domains",
        "spam_referrers",
    }
    assert figures["sessions"].capacity == settings.session_cache_size
    assert figures["user_agents"].capacity == settings.ua_cache_size
    assert all(f.capacity > 0 for f in figures.values())
