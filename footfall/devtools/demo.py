"""Deterministic synthetic traffic for one site, as footfall import NDJSON.

Used by ``footfall serve --demo`` (a few weeks of modest traffic) and by the
benchmarks / load tests (millions of events), so generation is built for speed:
every JSON fragment (URLs, referrers, user agents, props, timestamps) is
escaped once up front, categorical draws go through precomputed lookup tables
indexed with ``getrandbits``, and each event line is a single f-string
concatenation of ready-made fragments.

The traffic model, all seeded from ``seed``:

* Visitors are stable ``ip`` + ``user_agent`` pairs; about 30 % of sessions
  come from a visitor seen earlier in the window (returning visitors).
* Sessions: ~55 % single-page bounces, the rest 2-20 pageviews with gaps of
  seconds to ~20 minutes; ~3 % of gaps exceed 30 minutes (a new session).
* Paths follow a Zipf-like power law over ~320 paths (``/``, ``/pricing``,
  ``/blog/...``, ``/docs/<section>/<page>``, ...), plus a few dead links that
  fire a ``404`` custom event.
* Daily (UTC) and weekly seasonality, a slight growth trend, day-to-day noise
  and one Hacker News spike day landing on a single blog post.
* Referrers from search engines, social sites, news.ycombinator.com, GitHub,
  a newsletter (``utm_*`` query), paid Google (``gclid``) and ~40 % direct.
  Only the first pageview of a session carries the external referrer; later
  pageviews refer from the previous page of the site.
* ~30 real-world browser user agents with a realistic share, ~1 % of events
  from crawlers (Googlebot & co.) which footfall is expected to drop.
* IPs from public ranges of 30 countries (checked against ``geoip2fast``),
  about 12 % of visitors on IPv6.
* Custom events ``Signup`` (``plan``), ``Download`` (``file``),
  ``Outbound Link: Click`` (``url``) and ``404`` (``path``) on a small share
  of sessions.

Lines are emitted hour by hour (sessions ordered by start time), so the output
is roughly, not strictly, time-ordered.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import math
import random
import sys
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from functools import cache

__all__ = ["generate_batches", "generate_lines", "write_ndjson"]

# --------------------------------------------------------------------------------------------
# Static data
# --------------------------------------------------------------------------------------------

#: (weight, user agent) for real browsers. Weights are percentages of visitors.
BROWSER_USER_AGENTS: tuple[tuple[float, str], ...] = (
    # Desktop Chrome
    (
        15.0,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        7.0,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    (
        8.0,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        3.5,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    (
        2.5,
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        0.8,
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    # Desktop Edge
    (
        5.0,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    ),
    (
        0.6,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    ),
    # Desktop Firefox
    (3.0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (1.0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    (1.4, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (1.6, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (0.8, "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    # Desktop Safari / Opera
    (
        5.5,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    ),
    (
        1.5,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    ),
    (
        0.8,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
    ),
    # iPhone
    (
        9.0,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    ),
    (
        4.0,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    ),
    (
        1.5,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    ),
    # iPad
    (
        1.5,
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
    ),
    # Android Chrome phones / tablet
    (
        5.0,
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
    ),
    (
        2.0,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.81 Mobile Safari/537.36",
    ),
    (
        2.0,
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.6723.102 Mobile Safari/537.36",
    ),
    (
        1.0,
        "Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.6668.100 Mobile Safari/537.36",
    ),
    (
        0.6,
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    (0.5, "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"),
    # Samsung Internet
    (
        1.6,
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    ),
    (
        0.6,
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A546B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
)

#: (weight, user agent, IPv4 CIDR) for crawlers; the CIDR is a range the crawler really uses.
BOT_USER_AGENTS: tuple[tuple[float, str, str], ...] = (
    (
        35.0,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "66.249.64.0/20",
    ),
    (
        10.0,
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "66.249.64.0/20",
    ),
    (
        15.0,
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "157.55.39.0/24",
    ),
    (10.0, "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "54.36.148.0/22"),
    (6.0, "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "5.255.252.0/22"),
    (
        6.0,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; "
        "+http://www.apple.com/go/applebot)",
        "17.241.0.0/16",
    ),
    (5.0, "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "20.191.45.0/24"),
    (
        6.0,
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "85.208.96.0/22",
    ),
    (
        4.0,
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "31.13.64.0/20",
    ),
    (
        3.0,
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
        "20.171.206.0/24",
    ),
)

#: country -> (visitor weight, IPv4 CIDRs, IPv6 CIDRs). Every range was checked to resolve to
#: its country with the geoip2fast database (see tests/test_demo.py).
COUNTRIES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "US": (
        27.0,
        ("73.0.0.0/10", "24.0.0.0/12", "98.192.0.0/10", "71.192.0.0/12"),
        ("2601::/20", "2600:1700::/28"),
    ),
    "DE": (7.0, ("84.128.0.0/10", "91.0.0.0/10", "79.192.0.0/10"), ("2003::/19",)),
    "GB": (6.5, ("86.0.0.0/11", "81.96.0.0/12"), ("2a00:23c0::/27",)),
    "IN": (6.0, ("117.192.0.0/10", "106.192.0.0/11"), ("2409:4000::/22",)),
    "FR": (4.0, ("86.192.0.0/11", "90.0.0.0/13"), ("2a01:cb00::/27",)),
    "CA": (3.5, ("99.224.0.0/11", "70.24.0.0/13", "174.88.0.0/13"), ()),
    "NL": (3.0, ("84.24.0.0/13", "77.160.0.0/12"), ("2a02:a400::/26",)),
    "BR": (3.0, ("179.96.0.0/11", "177.0.0.0/13"), ("2804:14c::/32",)),
    "JP": (2.5, ("126.0.0.0/9",), ("240b:10::/32",)),
    "AU": (2.0, ("1.120.0.0/13", "101.160.0.0/14", "120.144.0.0/12"), ()),
    "ES": (2.0, ("83.32.0.0/11", "88.0.0.0/11", "79.144.0.0/12"), ()),
    "IT": (2.0, ("93.32.0.0/12", "79.0.0.0/12"), ()),
    "SE": (1.5, ("78.64.0.0/12", "83.248.0.0/13"), ()),
    "PL": (1.5, ("83.0.0.0/11", "79.184.0.0/13"), ()),
    "CN": (1.5, ("36.96.0.0/11", "114.80.0.0/12", "183.0.0.0/10"), ()),
    "RU": (1.3, ("95.24.0.0/13",), ()),
    "KR": (1.2, ("121.128.0.0/10", "211.32.0.0/12"), ()),
    "MX": (1.2, ("189.128.0.0/10",), ()),
    "ID": (1.2, ("36.64.0.0/11", "114.120.0.0/13"), ()),
    "CH": (1.0, ("85.0.0.0/13",), ()),
    "SG": (1.0, ("116.86.0.0/15", "220.255.0.0/16"), ()),
    "TR": (1.0, ("78.160.0.0/11", "88.224.0.0/11"), ()),
    "AT": (0.8, ("77.116.0.0/14",), ()),
    "NG": (0.8, ("105.112.0.0/12",), ()),
    "ZA": (0.8, ("41.0.0.0/11",), ()),
    "AR": (0.8, ("181.0.0.0/12",), ()),
    "IE": (0.8, ("86.40.0.0/13",), ()),
    "FI": (0.7, ("91.152.0.0/13",), ()),
    "NO": (0.7, ("84.208.0.0/13", "88.88.0.0/13"), ()),
    "DK": (0.7, ("87.48.0.0/13",), ()),
}

#: Share of (non-bot) new visitors that get an IPv6 address when their country has v6 ranges.
IPV6_SHARE = 0.2
_V6_SHIFTS = (112, 96, 80, 64, 48, 32, 16, 0)
#: Probability that a session comes from a visitor already seen in the window.
RETURNING_SHARE = 0.3
#: Probability that a session is a crawler run (bot runs are longer, ~1 % of events).
BOT_SESSION_SHARE = 0.0037

#: Relative traffic by UTC hour of day (Europe + Americas audience, peak ~15:00 UTC).
HOUR_WEIGHTS: tuple[float, ...] = (
    0.55,
    0.47,
    0.42,
    0.40,
    0.42,
    0.48,
    0.58,
    0.72,
    0.86,
    0.96,
    1.02,
    1.08,
    1.14,
    1.24,
    1.32,
    1.36,
    1.32,
    1.24,
    1.14,
    1.04,
    0.94,
    0.84,
    0.74,
    0.64,
)
#: Relative traffic by weekday, Monday first.
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.06, 1.1, 1.1, 1.05, 0.95, 0.6, 0.55)

_BLOG_SLUGS_A = (
    "why-we-left",
    "how-we-built",
    "a-gentle-introduction-to",
    "lessons-from",
    "the-hidden-cost-of",
    "scaling",
    "benchmarking",
    "debugging",
    "rethinking",
    "five-years-of",
    "a-year-of",
    "migrating-from",
    "notes-on",
    "the-case-for",
)
_BLOG_SLUGS_B = (
    "google-analytics",
    "cookie-banners",
    "postgres",
    "sqlite",
    "clickhouse",
    "privacy-first-analytics",
    "self-hosting",
    "gdpr",
    "edge-functions",
    "bot-traffic",
)
_DOCS_TREE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "getting-started",
        (
            "installation",
            "quick-start",
            "configuration",
            "first-site",
            "upgrading",
            "faq",
            "docker",
            "kubernetes",
            "systemd",
        ),
    ),
    (
        "tracking",
        (
            "script",
            "custom-events",
            "goals",
            "outbound-links",
            "file-downloads",
            "404-pages",
            "hash-routing",
            "spa",
            "proxy",
            "excluding-pages",
            "revenue",
            "custom-props",
        ),
    ),
    (
        "api",
        (
            "overview",
            "authentication",
            "events-api",
            "stats-api",
            "sites-api",
            "rate-limits",
            "errors",
            "pagination",
            "breakdowns",
            "timeseries",
        ),
    ),
    (
        "dashboard",
        (
            "filters",
            "segments",
            "comparisons",
            "funnels",
            "sources",
            "locations",
            "devices",
            "realtime",
            "shared-links",
            "exports",
        ),
    ),
    (
        "self-hosting",
        (
            "requirements",
            "backups",
            "geoip",
            "reverse-proxy",
            "tls",
            "performance",
            "monitoring",
            "imports",
            "retention",
            "troubleshooting",
        ),
    ),
    (
        "integrations",
        (
            "wordpress",
            "nextjs",
            "hugo",
            "gatsby",
            "ghost",
            "shopify",
            "webflow",
            "squarespace",
            "docusaurus",
            "astro",
            "nuxt",
            "sveltekit",
        ),
    ),
)
_TOP_PAGES = (
    "/",
    "/pricing",
    "/blog",
    "/docs",
    "/about",
    "/signup",
    "/login",
    "/download",
    "/changelog",
    "/features",
    "/contact",
    "/privacy",
    "/terms",
    "/security",
    "/status",
    "/careers",
    "/customers",
    "/open-source",
    "/data-policy",
    "/roadmap",
)
_COMPARE = (
    "google-analytics",
    "matomo",
    "fathom",
    "simple-analytics",
    "umami",
    "posthog",
    "mixpanel",
    "cloudflare-web-analytics",
)
_DEAD_LINKS = (
    "/blog/2019/hello-world",
    "/docs/v1/install",
    "/wp-login.php",
    "/pricing-old",
    "/blog/feed.xml.bak",
    "/docs/api/v0",
)
_DOWNLOAD_FILES = (
    "footfall-2.4.1-linux-amd64.tar.gz",
    "footfall-2.4.1-linux-arm64.tar.gz",
    "footfall-2.4.1-darwin-arm64.tar.gz",
    "footfall-2.4.1-windows-amd64.zip",
    "footfall-whitepaper.pdf",
)
_OUTBOUND_URLS = (
    "https://github.com/footfall-analytics/footfall",
    "https://github.com/footfall-analytics/footfall/releases",
    "https://twitter.com/footfall_hq",
    "https://en.wikipedia.org/wiki/GDPR",
    "https://www.postgresql.org/docs/",
    "https://discord.gg/footfall",
)
_NEWSLETTER_CAMPAIGNS = (
    "2026-09-digest",
    "2026-10-digest",
    "2026-11-digest",
    "v2-4-launch",
    "black-friday",
    "webinar-invite",
)
_SUBREDDITS = ("programming", "selfhosted", "webdev", "privacy", "opensource", "SaaS")
_GITHUB_REPOS = (
    "footfall-analytics/footfall",
    "awesome-selfhosted/awesome-selfhosted",
    "sindresorhus/awesome",
    "vercel/next.js",
    "plausible/analytics",
)


def _esc(value: str) -> str:
    """Returns ``value`` JSON-escaped, without the surrounding quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _site_paths() -> list[str]:
    """Returns the site's content paths, most popular first (before seeded shuffling)."""
    paths = list(_TOP_PAGES)
    for a in _BLOG_SLUGS_A:
        for b in _BLOG_SLUGS_B:
            paths.append(f"/blog/{a}-{b}")
    for section, pages in _DOCS_TREE:
        paths.append(f"/docs/{section}")
        paths.extend(f"/docs/{section}/{page}" for page in pages)
    paths.extend(f"/compare/{c}" for c in _COMPARE)
    paths.extend(f"/changelog/2026-{m:02d}" for m in range(1, 12))
    return paths


def _lookup_table(weights: Sequence[float], bits: int) -> list[int]:
    """Builds a table of ``2**bits`` indices where index i appears ~weights[i] share of times.

    Every index with a positive weight gets at least one slot, so the table can be sampled with
    ``table[getrandbits(bits)]``.
    """
    size = 1 << bits
    total = float(sum(weights))
    positive = [i for i, w in enumerate(weights) if w > 0]
    if not positive:
        raise ValueError("all weights are zero")
    counts = {i: max(1, int(weights[i] / total * size)) for i in positive}
    # Fix the rounding error by adjusting the most popular entries.
    diff = size - sum(counts.values())
    order = sorted(positive, key=lambda i: -weights[i])
    k = 0
    while diff != 0:
        i = order[k % len(order)]
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
        k += 1
    table: list[int] = []
    for i in positive:
        table.extend([i] * counts[i])
    return table


@cache
def _hms_fragments() -> tuple[str, ...]:
    """Returns ``'HH:MM:SSZ"'`` for every second of a day."""
    return tuple(
        f'{h:02d}:{m:02d}:{s:02d}Z"' for h in range(24) for m in range(60) for s in range(60)
    )


class _Source(typing.NamedTuple):
    """A way to arrive at the site: referrer fragment, landing query strings, landing table."""

    ref: str  # ',"referrer":"..."' or ""
    queries: tuple[str, ...]  # appended to the landing URL; ("",) for none
    landing: list[int]  # lookup table of path indices (2**16 entries)


class _CustomEvent(typing.NamedTuple):
    """Custom events a page may fire: chance in 1/1024 and (name fragment, props fragment)."""

    chance: int
    options: tuple[tuple[str, str], ...]


class _Model:
    """All precomputed tables for one (domain, seed)."""

    def __init__(self, domain: str, rng: random.Random) -> None:
        base = "https://" + domain
        paths = _site_paths()
        # Popularity ranking: a few fixed heavy hitters, the rest shuffled per seed.
        head, tail = paths[:4], paths[4:]
        rng.shuffle(tail)
        ranked = head + tail
        n_content = len(ranked)
        ranked += list(_DEAD_LINKS)
        self.paths = ranked
        self.url = [_esc(base + p) for p in ranked]
        self.internal_ref = [f',"referrer":"{_esc(base + p)}"' for p in ranked]

        zipf = [1.0 / (r + 1) ** 1.1 for r in range(n_content)] + [0.0] * len(_DEAD_LINKS)
        self.nav = _lookup_table(zipf, 16)  # next page within a session

        blog_posts = [i for i, p in enumerate(ranked) if p.startswith("/blog/")]
        home = ranked.index("/")

        def landing(boost_prefix: str | None, home_share: float, dead: float) -> list[int]:
            w = list(zipf)
            if boost_prefix is not None:
                w = [
                    x * (6.0 if ranked[i].startswith(boost_prefix) else 1.0)
                    for i, x in enumerate(w)
                ]
            rest = sum(w) - w[home]
            w[home] = rest * home_share / (1.0 - home_share)
            total = sum(w)
            for i in range(n_content, len(ranked)):
                w[i] = total * dead / len(_DEAD_LINKS)
            return _lookup_table(w, 16)

        land_search = landing("/docs/", 0.2, 0.004)
        land_social = landing("/blog/", 0.25, 0.004)
        land_direct = landing(None, 0.55, 0.002)
        land_campaign = landing("/blog/", 0.5, 0.0)

        def ref(url: str) -> str:
            return f',"referrer":"{_esc(url)}"'

        def hn_item() -> str:
            return f"https://news.ycombinator.com/item?id={rng.randrange(40_000_000, 46_000_000)}"

        def b62(n: int) -> str:
            alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
            return "".join(rng.choice(alphabet) for _ in range(n))

        none = ("",)
        sources: list[tuple[float, _Source]] = [
            (40.0, _Source("", none, land_direct)),
            (14.0, _Source(ref("https://www.google.com/"), none, land_search)),
            (2.0, _Source(ref("https://www.google.de/"), none, land_search)),
            (1.5, _Source(ref("https://www.google.co.uk/"), none, land_search)),
            (1.0, _Source(ref("https://www.google.fr/"), none, land_search)),
            (1.0, _Source(ref("https://www.google.co.in/"), none, land_search)),
            (3.5, _Source(ref("https://www.bing.com/"), none, land_search)),
            (2.5, _Source(ref("https://duckduckgo.com/"), none, land_search)),
            (0.5, _Source(ref("https://search.brave.com/"), none, land_search)),
            (0.4, _Source(ref("https://www.ecosia.org/"), none, land_search)),
            (3.0, _Source(ref("https://news.ycombinator.com/"), none, land_social)),
            (1.0, _Source(ref(hn_item()), none, land_social)),
            (2.0, _Source(ref("https://www.reddit.com/"), none, land_social)),
            (0.8, _Source(ref("https://old.reddit.com/"), none, land_social)),
            (2.5, _Source(ref("https://t.co/"), none, land_social)),
            (0.8, _Source(ref("https://x.com/"), none, land_social)),
            (3.0, _Source(ref("https://github.com/"), none, land_social)),
            (1.5, _Source(ref("https://www.linkedin.com/"), none, land_social)),
            (0.8, _Source(ref("https://lnkd.in/"), none, land_social)),
            (1.2, _Source(ref("https://l.facebook.com/"), none, land_social)),
            (0.5, _Source(ref("https://m.facebook.com/"), none, land_social)),
            (0.8, _Source(ref("https://lobste.rs/"), none, land_social)),
            (0.6, _Source(ref("https://www.producthunt.com/"), none, land_direct)),
            (0.5, _Source(ref("https://chatgpt.com/"), none, land_search)),
            (0.5, _Source(ref("https://stackoverflow.com/"), none, land_search)),
        ]
        for sub in _SUBREDDITS:
            sources.append(
                (
                    0.4,
                    _Source(
                        ref(f"https://www.reddit.com/r/{sub}/comments/{b62(7).lower()}/"),
                        none,
                        land_social,
                    ),
                )
            )
        for _ in range(8):
            sources.append((0.3, _Source(ref(f"https://t.co/{b62(10)}"), none, land_social)))
        for repo in _GITHUB_REPOS:
            sources.append((0.4, _Source(ref(f"https://github.com/{repo}"), none, land_social)))
        newsletter = tuple(
            _esc(f"?utm_source=newsletter&utm_medium=email&utm_campaign={c}")
            for c in _NEWSLETTER_CAMPAIGNS
        )
        sources.append((3.0, _Source("", newsletter, land_campaign)))
        gclids = tuple(_esc(f"?gclid={b62(6)}_{b62(20)}BwE") for _ in range(256))
        sources.append((2.5, _Source(ref("https://www.google.com/"), gclids, land_search)))
        social_utm = tuple(
            _esc(f"?utm_source={s}&utm_medium=social&utm_campaign=v2-4-launch")
            for s in ("twitter", "linkedin", "mastodon")
        )
        sources.append((0.8, _Source(ref("https://t.co/"), social_utm, land_campaign)))
        self.sources = [s for _, s in sources]
        self.source_table = _lookup_table([w for w, _ in sources], 12)

        # Hacker News spike: everyone lands on one blog post.
        spike_post = blog_posts[rng.randrange(len(blog_posts))]
        self.spike_source = _Source(
            ref(hn_item()),
            none,
            [spike_post] * (1 << 16),
        )

        # Custom events per path.
        def opt(name: str, key: str, value: str) -> tuple[str, str]:
            return (
                f',"name":"{_esc(name)}","url":"',
                f',"props":{{"{_esc(key)}":"{_esc(value)}"}}',
            )

        plans = (
            (opt("Signup", "plan", "free"),) * 11
            + (opt("Signup", "plan", "pro"),) * 7
            + (opt("Signup", "plan", "team"),) * 2
        )
        downloads = tuple(opt("Download", "file", f) for f in _DOWNLOAD_FILES)
        outbound = tuple(opt("Outbound Link: Click", "url", u) for u in _OUTBOUND_URLS)
        custom: list[_CustomEvent | None] = []
        for p in ranked:
            ce: _CustomEvent | None = None
            if p == "/signup":
                ce = _CustomEvent(380, plans)
            elif p == "/pricing":
                ce = _CustomEvent(60, plans)
            elif p in ("/download", "/docs/getting-started/installation"):
                ce = _CustomEvent(260, downloads)
            elif p.startswith("/blog/"):
                ce = _CustomEvent(40, outbound)
            elif p.startswith("/docs/") or p in ("/", "/open-source"):
                ce = _CustomEvent(15, outbound)
            if p in _DEAD_LINKS:
                ce = _CustomEvent(1024, (opt("404", "path", p),))
            custom.append(ce)
        self.custom = custom

        # Session lengths (pageviews) for humans: ~55 % bounces.
        len_weights = [0.0, 55.0, 14.0, 9.0, 6.0, 4.5, 3.5, 2.5, 2.0, 1.5, 1.2]
        len_weights += [1.8 / 10] * 10  # 11..20
        self.session_len = _lookup_table(len_weights, 12)

        # Gaps between pageviews, in seconds (log-uniform within buckets).
        gaps: list[int] = []
        for share, lo, hi in (
            (0.40, 5, 60),
            (0.40, 60, 300),
            (0.17, 300, 1200),
            (0.03, 1860, 7200),
        ):
            for _ in range(round(share * 4096)):
                gaps.append(int(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
        rng.shuffle(gaps)
        self.gaps = gaps[:4096] + gaps[: max(0, 4096 - len(gaps))]

        # User agents.
        self.ua = [_esc(ua) for _, ua in BROWSER_USER_AGENTS]
        self.ua_table = _lookup_table([w for w, _ in BROWSER_USER_AGENTS], 12)
        self.bot_ua = [_esc(ua) for _, ua, _ in BOT_USER_AGENTS]
        self.bot_net = [ipaddress.ip_network(net) for _, _, net in BOT_USER_AGENTS]
        self.bot_table = _lookup_table([w for w, _, _ in BOT_USER_AGENTS], 10)

        # Countries.
        codes = list(COUNTRIES)
        self.country_table = _lookup_table([COUNTRIES[c][0] for c in codes], 12)
        # Per country: IPv4 (network, number of /24 blocks); IPv6 (network, host bits).
        self.v4: list[list[tuple[int, int]]] = []
        self.v6: list[list[tuple[int, int]]] = []
        for c in codes:
            _, v4, v6 = COUNTRIES[c]
            self.v4.append(
                [
                    (int(n.network_address), n.num_addresses >> 8)
                    for n in map(ipaddress.IPv4Network, v4)
                ]
            )
            self.v6.append(
                [
                    (int(n.network_address), 128 - n.prefixlen)
                    for n in map(ipaddress.IPv6Network, v6)
                ]
            )


def _new_ip(model: _Model, rng: random.Random) -> str:
    """Draws a fresh visitor IP address from a weighted random country.

    Nearly half of all generation time went here with ``randrange`` and ``ipaddress``; plain
    ``random()`` scaling and hand-made formatting make it about twice as fast.
    """
    rand = rng.random
    c = model.country_table[rng.getrandbits(12)]
    v6 = model.v6[c]
    if v6 and rand() < IPV6_SHARE:
        base, host_bits = v6[int(rand() * len(v6))]
        n = base | (rng.getrandbits(host_bits) or 1)
        text = ":".join([f"{(n >> shift) & 0xFFFF:x}" for shift in _V6_SHIFTS])
        # Hand-made text is canonical unless zero groups run (RFC 5952 compresses them).
        return str(ipaddress.IPv6Address(n)) if ":0:0" in text else text
    v4 = model.v4[c]
    base, blocks = v4[int(rand() * len(v4))]
    ip = base + (int(rand() * blocks) << 8) + 1 + int(rand() * 254)
    return f"{ip >> 24}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"


def _hour_weights(start: int, n_hours: int, days: int, rng: random.Random) -> list[float]:
    """Relative traffic of each hour of the window (seasonality, trend, noise)."""
    day_noise = [rng.uniform(0.85, 1.15) for _ in range(days + 2)]
    weights = []
    for h in range(n_hours):
        t = start + h * 3600
        dt = datetime.datetime.fromtimestamp(t, datetime.UTC)
        trend = 1.0 + 0.25 * h / max(1, n_hours)
        weights.append(
            HOUR_WEIGHTS[dt.hour] * WEEKDAY_WEIGHTS[dt.weekday()] * trend * day_noise[h // 24]
        )
    return weights


def _batches(
    *, domain: str, events: int, days: int, end: datetime.datetime, seed: int
) -> Iterator[list[str]]:
    """Yields lists of NDJSON lines, one list per hour of the window, in time order."""
    if events < 0:
        raise ValueError("events must be >= 0")
    if days < 1:
        raise ValueError("days must be >= 1")
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    if events == 0:
        return

    # Synthetic traffic, not secrets: a seeded, reproducible generator is the point.
    rng = random.Random(f"footfall-demo:{seed}")  # noqa: S311  # nosec B311
    model = _Model(domain, rng)
    end_ts = math.floor(end.timestamp())
    start_ts = end_ts - days * 86400
    n_hours = days * 24

    weights = _hour_weights(start_ts, n_hours, days, rng)
    # One Hacker News spike (if the window is long enough): multiplier decays over ~a day.
    spike = [0.0] * n_hours
    if days >= 5:
        spike_start = rng.randrange(24, n_hours - 48)
        for k in range(36):
            spike[spike_start + k] = 4.0 * math.exp(-k / 6.0)
    weights = [w * (1.0 + s) for w, s in zip(weights, spike, strict=True)]
    total_w = sum(weights)
    cum_targets: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w
        cum_targets.append(events * acc / total_w)

    # Day prefixes '{"timestamp":"YYYY-MM-DDT' keyed by epoch day.
    first_day = start_ts // 86400
    day_prefix = {
        d: '{"timestamp":"'
        + datetime.datetime.fromtimestamp(d * 86400, datetime.UTC).strftime("%Y-%m-%dT")
        for d in range(first_day, end_ts // 86400 + 2)
    }
    hms = _hms_fragments()

    # Hot locals.
    bits: Callable[[int], int] = rng.getrandbits
    rand: Callable[[], float] = rng.random
    nav, url_of, internal_ref, custom = model.nav, model.url, model.internal_ref, model.custom
    sources, source_table = model.sources, model.source_table
    session_len, gaps = model.session_len, model.gaps
    ua_esc, ua_table = model.ua, model.ua_table
    pv = ',"name":"pageview","url":"'
    ring_size = 1 << 18
    ring: list[str] = []  # visitor fragments ',"user_agent":"...","ip":"..."'
    ring_pos = 0

    produced = 0
    sessions = 0
    avg_len = 2.4
    for h in range(n_hours):
        need = cum_targets[h] - produced
        if need <= 0:
            continue
        x = need / avg_len
        n = int(x)
        if rand() < x - n:
            n += 1
        if n == 0:
            continue
        t0 = start_ts + h * 3600
        spike_p = spike[h] / (1.0 + spike[h])
        starts = sorted([bits(12) for _ in range(n)])
        out: list[str] = []
        app = out.append
        for off in starts:
            t = t0 + (off * 3600 >> 12)
            if rand() < BOT_SESSION_SHARE:
                b = model.bot_table[bits(10)]
                net = model.bot_net[b]
                ip = str(net.network_address + 1 + rng.randrange(net.num_addresses - 2))
                vis = f',"user_agent":"{model.bot_ua[b]}","ip":"{ip}"'
                for _ in range(1 + rng.randrange(12)):
                    if t >= end_ts:
                        break
                    d, s = divmod(t, 86400)
                    app(f'{day_prefix[d]}{hms[s]}{pv}{url_of[nav[bits(16)]]}"{vis}}}')
                    t += 1 + bits(4)
                continue

            # Visitor.
            if ring and rand() < RETURNING_SHARE:
                vis = ring[bits(18) % len(ring)]
            else:
                vis = f',"user_agent":"{ua_esc[ua_table[bits(12)]]}","ip":"{_new_ip(model, rng)}"'
                if len(ring) < ring_size:
                    ring.append(vis)
                else:
                    ring[ring_pos] = vis
                    ring_pos = (ring_pos + 1) & (ring_size - 1)

            # Source and landing page.
            if spike_p and rand() < spike_p:
                src = model.spike_source
            else:
                src = sources[source_table[bits(12)]]
            path = src.landing[bits(16)]
            q = src.queries
            url = url_of[path] + (q[0] if len(q) == 1 else q[bits(16) % len(q)])
            ref = src.ref
            for i in range(session_len[bits(12)]):
                if i:
                    t += gaps[bits(12)]
                    ref = internal_ref[path]
                    path = nav[bits(16)]
                    url = url_of[path]
                if t >= end_ts:
                    break
                d, s = divmod(t, 86400)
                dp = day_prefix[d]
                app(f'{dp}{hms[s]}{pv}{url}"{ref}{vis}}}')
                ce = custom[path]
                if ce is not None and bits(10) < ce.chance:
                    opts = ce.options
                    name, props = opts[bits(8) % len(opts)]
                    tc = t + 1 + bits(2)
                    if tc < end_ts:
                        d, s = divmod(tc, 86400)
                        app(f'{day_prefix[d]}{hms[s]}{name}{url}"{ref}{vis}{props}}}')
        sessions += n
        produced += len(out)
        avg_len = max(1.0, produced / sessions)
        yield out


def generate_batches(
    *, domain: str, events: int, days: int, end: datetime.datetime, seed: int = 0
) -> Iterator[list[str]]:
    """Generates the same lines as `generate_lines`, one list per hour of the window.

    Each list holds whole visits (a visit's later pageviews stay with the hour it started in),
    so cutting the stream between lists never splits a generated visit. Lists may be empty.

    Args:
        domain: The site's domain.
        events: Approximate number of events to generate.
        days: Length of the window in days.
        end: End of the window (timezone-aware).
        seed: Seed; the same arguments always produce the same lines.

    Yields:
        Lists of NDJSON lines (no trailing newlines).

    Raises:
        ValueError: If ``events`` is negative, ``days`` < 1 or ``end`` is naive.
    """
    return _batches(domain=domain, events=events, days=days, end=end, seed=seed)


def generate_lines(
    *, domain: str, events: int, days: int, end: datetime.datetime, seed: int = 0
) -> Iterator[str]:
    """Generates synthetic traffic for one site as NDJSON lines.

    Args:
        domain: The site's domain, e.g. ``"example.com"``; URLs are ``https://<domain>/...``.
        events: Approximate number of events to generate (pageviews, custom events and bots).
        days: Length of the window in days.
        end: End of the window (timezone-aware); events fall in ``[end - days, end)``.
        seed: Seed; the same arguments always produce the same lines.

    Yields:
        NDJSON lines (no trailing newline), about ``events`` events spread over the ``days``
        days before ``end``, roughly in time order.

    Raises:
        ValueError: If ``events`` is negative, ``days`` < 1 or ``end`` is naive.
    """
    for batch in _batches(domain=domain, events=events, days=days, end=end, seed=seed):
        yield from batch


def write_ndjson(
    out: typing.TextIO,
    *,
    domain: str,
    events: int,
    days: int,
    end: datetime.datetime,
    seed: int = 0,
) -> int:
    """Writes synthetic traffic as NDJSON to ``out``.

    Args:
        out: Text stream to write to.
        domain: The site's domain.
        events: Approximate number of events to generate.
        days: Length of the window in days.
        end: End of the window (timezone-aware).
        seed: Seed; the same arguments always produce the same output.

    Returns:
        The number of events (lines) written.
    """
    written = 0
    for batch in _batches(domain=domain, events=events, days=days, end=end, seed=seed):
        if batch:
            out.write("\n".join(batch))
            out.write("\n")
            written += len(batch)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: ``python -m footfall.devtools.demo --events N [--out FILE]``."""
    parser = argparse.ArgumentParser(description="Generate synthetic footfall NDJSON events.")
    parser.add_argument("--domain", default="demo.example")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--end", default=None, help="ISO end of the window (UTC if no offset); default: now"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="-", help="output file, '-' for stdout")
    args = parser.parse_args(argv)
    if args.end is None:
        end = datetime.datetime.now(datetime.UTC)
    else:
        end = datetime.datetime.fromisoformat(args.end.replace("Z", "+00:00"))
        if end.tzinfo is None:
            end = end.replace(tzinfo=datetime.UTC)
    began = time.perf_counter()
    if args.out == "-":
        n = write_ndjson(
            sys.stdout,
            domain=args.domain,
            events=args.events,
            days=args.days,
            end=end,
            seed=args.seed,
        )
    else:
        with open(args.out, "w", encoding="utf-8", buffering=1 << 20) as fh:
            n = write_ndjson(
                fh, domain=args.domain, events=args.events, days=args.days, end=end, seed=args.seed
            )
    elapsed = time.perf_counter() - began
    print(
        f"wrote {n} events in {elapsed:.2f}s ({n / max(elapsed, 1e-9):,.0f} events/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
