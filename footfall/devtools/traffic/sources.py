"""How visitors arrive: search engines, social sites, news, GitHub, campaigns and direct.

About 40 % of visits are direct. A newsletter tags its links with ``utm_*`` parameters, paid
search adds a ``gclid``, a launch post is shared with UTM tags too. Only the first pageview of
a visit carries the external referrer; later pageviews refer from the previous page.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from footfall.devtools.traffic.pages import CAMPAIGN, DIRECT, SEARCH, SOCIAL, Landing

NEWSLETTER_CAMPAIGNS = (
    "2026-09-digest",
    "2026-10-digest",
    "2026-11-digest",
    "v2-4-launch",
    "black-friday",
    "webinar-invite",
)
SUBREDDITS = ("programming", "selfhosted", "webdev", "privacy", "opensource", "SaaS")
GITHUB_REPOS = (
    "footfall-analytics/footfall",
    "awesome-selfhosted/awesome-selfhosted",
    "sindresorhus/awesome",
    "vercel/next.js",
    "plausible/analytics",
)
#: Where shared links of the launch post lead, each with its own ``utm_source``.
LAUNCH_SHARES = ("twitter", "linkedin", "mastodon")
LAUNCH_CAMPAIGN = "v2-4-launch"
#: How many paid-search clicks (distinct ``gclid``) the window holds.
PAID_CLICKS = 256
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Source(NamedTuple):
    """A way to arrive at the site.

    Attributes:
        weight: Relative share of visits.
        referrer: The referrer of the landing pageview, None for none.
        landing: Where its visitors land.
        queries: Query strings of the landing URL, one drawn per visit (``""``: none).
    """

    weight: float
    referrer: str | None
    landing: Landing
    queries: tuple[str, ...] = ("",)


def _base62(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_BASE62) for _ in range(length))


def news_story(rng: random.Random) -> str:
    """The address of a random Hacker News story."""
    return f"https://news.ycombinator.com/item?id={rng.randrange(40_000_000, 46_000_000)}"


def sources(rng: random.Random) -> list[Source]:
    """Every way to arrive, with its share; `rng` draws the ids in the links (posts, clicks)."""
    out = [
        Source(40.0, None, DIRECT),
        Source(14.0, "https://www.google.com/", SEARCH),
        Source(2.0, "https://www.google.de/", SEARCH),
        Source(1.5, "https://www.google.co.uk/", SEARCH),
        Source(1.0, "https://www.google.fr/", SEARCH),
        Source(1.0, "https://www.google.co.in/", SEARCH),
        Source(3.5, "https://www.bing.com/", SEARCH),
        Source(2.5, "https://duckduckgo.com/", SEARCH),
        Source(0.5, "https://search.brave.com/", SEARCH),
        Source(0.4, "https://www.ecosia.org/", SEARCH),
        Source(3.0, "https://news.ycombinator.com/", SOCIAL),
        Source(1.0, news_story(rng), SOCIAL),
        Source(2.0, "https://www.reddit.com/", SOCIAL),
        Source(0.8, "https://old.reddit.com/", SOCIAL),
        Source(2.5, "https://t.co/", SOCIAL),
        Source(0.8, "https://x.com/", SOCIAL),
        Source(3.0, "https://github.com/", SOCIAL),
        Source(1.5, "https://www.linkedin.com/", SOCIAL),
        Source(0.8, "https://lnkd.in/", SOCIAL),
        Source(1.2, "https://l.facebook.com/", SOCIAL),
        Source(0.5, "https://m.facebook.com/", SOCIAL),
        Source(0.8, "https://lobste.rs/", SOCIAL),
        Source(0.6, "https://www.producthunt.com/", DIRECT),
        Source(0.5, "https://chatgpt.com/", SEARCH),
        Source(0.5, "https://stackoverflow.com/", SEARCH),
    ]
    for sub in SUBREDDITS:
        post = f"https://www.reddit.com/r/{sub}/comments/{_base62(rng, 7).lower()}/"
        out.append(Source(0.4, post, SOCIAL))
    out.extend(Source(0.3, f"https://t.co/{_base62(rng, 10)}", SOCIAL) for _ in range(8))
    out.extend(Source(0.4, f"https://github.com/{repo}", SOCIAL) for repo in GITHUB_REPOS)
    newsletter = tuple(
        f"?utm_source=newsletter&utm_medium=email&utm_campaign={c}" for c in NEWSLETTER_CAMPAIGNS
    )
    out.append(Source(3.0, None, CAMPAIGN, newsletter))
    clicks = tuple(f"?gclid={_base62(rng, 6)}_{_base62(rng, 20)}BwE" for _ in range(PAID_CLICKS))
    out.append(Source(2.5, "https://www.google.com/", SEARCH, clicks))
    launch = tuple(
        f"?utm_source={s}&utm_medium=social&utm_campaign={LAUNCH_CAMPAIGN}" for s in LAUNCH_SHARES
    )
    out.append(Source(0.8, "https://t.co/", CAMPAIGN, launch))
    return out
