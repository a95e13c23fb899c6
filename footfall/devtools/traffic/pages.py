"""The site's pages: a product site with a blog, docs, comparisons and a changelog.

Popularity follows a Zipf-like power law over the ~320 content pages: ``/``, ``/pricing``,
``/blog`` and ``/docs`` lead, the order of the rest is shuffled per seed. A few dead links are
never navigated to but are landed on from outside (and fire a ``404`` custom event).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple

BLOG_SLUGS_A = (
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
BLOG_SLUGS_B = (
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
DOCS_TREE: tuple[tuple[str, tuple[str, ...]], ...] = (
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
TOP_PAGES = (
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
COMPARE = (
    "google-analytics",
    "matomo",
    "fathom",
    "simple-analytics",
    "umami",
    "posthog",
    "mixpanel",
    "cloudflare-web-analytics",
)
DEAD_LINKS = (
    "/blog/2019/hello-world",
    "/docs/v1/install",
    "/wp-login.php",
    "/pricing-old",
    "/blog/feed.xml.bak",
    "/docs/api/v0",
)

#: Zipf exponent of page popularity.
ZIPF_EXPONENT = 1.1
#: How much more often a landing's boosted section is landed on than its popularity says.
BOOST = 6.0


def site_paths() -> list[str]:
    """Returns the site's content paths, most popular first (before seeded shuffling)."""
    paths = list(TOP_PAGES)
    for a in BLOG_SLUGS_A:
        for b in BLOG_SLUGS_B:
            paths.append(f"/blog/{a}-{b}")
    for section, pages in DOCS_TREE:
        paths.append(f"/docs/{section}")
        paths.extend(f"/docs/{section}/{page}" for page in pages)
    paths.extend(f"/compare/{c}" for c in COMPARE)
    paths.extend(f"/changelog/2026-{m:02d}" for m in range(1, 12))
    return paths


class Landing(NamedTuple):
    """Where the visitors of one kind of source land.

    Attributes:
        boost: Path prefix of the section landed on `BOOST` times more often, or None.
        home_share: Share of visits landing on ``/``.
        dead_share: Share of visits landing on one of the dead links.
    """

    boost: str | None
    home_share: float
    dead_share: float


#: Search engines send visitors to the docs.
SEARCH = Landing("/docs/", 0.2, 0.004)
#: Social sites, forums and news link to blog posts.
SOCIAL = Landing("/blog/", 0.25, 0.004)
#: Typed or bookmarked: mostly the home page.
DIRECT = Landing(None, 0.55, 0.002)
#: Newsletters and campaigns link to the home page or a post, never to a dead link.
CAMPAIGN = Landing("/blog/", 0.5, 0.0)


@dataclass(frozen=True)
class Pages:
    """The site's paths in order of popularity for one seed, and how to weigh them.

    Attributes:
        paths: Content paths, most popular first, then the dead links.
        popularity: Zipf weight of each path as a next page within a visit (0 for dead links).
    """

    paths: list[str]
    popularity: list[float]

    @classmethod
    def ranked(cls, rng: random.Random) -> Pages:
        """A few fixed heavy hitters, then the rest in an order shuffled by `rng`."""
        paths = site_paths()
        head, tail = paths[:4], paths[4:]
        rng.shuffle(tail)
        ranked = head + tail
        zipf = [1.0 / (r + 1) ** ZIPF_EXPONENT for r in range(len(ranked))]
        return cls(ranked + list(DEAD_LINKS), zipf + [0.0] * len(DEAD_LINKS))

    def landing_weights(self, landing: Landing) -> list[float]:
        """Relative chance of landing on each path for a `landing`."""
        w = list(self.popularity)
        if landing.boost is not None:
            w = [
                x * (BOOST if self.paths[i].startswith(landing.boost) else 1.0)
                for i, x in enumerate(w)
            ]
        home = self.paths.index("/")
        rest = sum(w) - w[home]
        w[home] = rest * landing.home_share / (1.0 - landing.home_share)
        total = sum(w)
        for i in range(len(self.paths) - len(DEAD_LINKS), len(self.paths)):
            w[i] = total * landing.dead_share / len(DEAD_LINKS)
        return w

    def blog_posts(self) -> list[int]:
        """Indices of the paths under ``/blog/``, in order of popularity (dead links last)."""
        return [i for i, p in enumerate(self.paths) if p.startswith("/blog/")]
