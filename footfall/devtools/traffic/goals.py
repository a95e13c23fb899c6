"""Goals: the custom events pages fire, with their props.

``Signup`` (``plan``) on the sign-up and pricing pages, ``Download`` (``file``) on the download
and installation pages, ``Outbound Link: Click`` (``url``) on posts, docs and a few others, and
``404`` (``path``) on every dead link.
"""

from __future__ import annotations

from typing import NamedTuple

from footfall.devtools.traffic.pages import DEAD_LINKS

DOWNLOAD_FILES = (
    "footfall-2.4.1-linux-amd64.tar.gz",
    "footfall-2.4.1-linux-arm64.tar.gz",
    "footfall-2.4.1-darwin-arm64.tar.gz",
    "footfall-2.4.1-windows-amd64.zip",
    "footfall-whitepaper.pdf",
)
OUTBOUND_URLS = (
    "https://github.com/footfall-analytics/footfall",
    "https://github.com/footfall-analytics/footfall/releases",
    "https://twitter.com/footfall_hq",
    "https://en.wikipedia.org/wiki/GDPR",
    "https://www.postgresql.org/docs/",
    "https://discord.gg/footfall",
)
#: Sign-ups by plan, out of 20.
PLANS = (("free", 11), ("pro", 7), ("team", 2))
GOAL_NAMES = ("Signup", "Download", "Outbound Link: Click", "404")
#: A goal's chance is in 1/2**CHANCE_BITS per pageview.
CHANCE_BITS = 10
CHANCE_SCALE = 1 << CHANCE_BITS

#: A custom event: (name, prop key, prop value).
Fired = tuple[str, str, str]


class Goal(NamedTuple):
    """The custom events a page may fire after its pageview.

    Attributes:
        chance: Chance per pageview, in 1/`CHANCE_SCALE`.
        options: The events, one drawn with equal chance when it fires.
    """

    chance: int
    options: tuple[Fired, ...]


_SIGNUP = tuple(("Signup", "plan", plan) for plan, n in PLANS for _ in range(n))
_DOWNLOAD = tuple(("Download", "file", f) for f in DOWNLOAD_FILES)
_OUTBOUND = tuple(("Outbound Link: Click", "url", u) for u in OUTBOUND_URLS)


def goal_for(path: str) -> Goal | None:
    """The goal a page fires, or None for a page without one."""
    if path in DEAD_LINKS:
        return Goal(CHANCE_SCALE, (("404", "path", path),))
    if path == "/signup":
        return Goal(380, _SIGNUP)
    if path == "/pricing":
        return Goal(60, _SIGNUP)
    if path in ("/download", "/docs/getting-started/installation"):
        return Goal(260, _DOWNLOAD)
    if path.startswith("/blog/"):
        return Goal(40, _OUTBOUND)
    if path.startswith("/docs/") or path in ("/", "/open-source"):
        return Goal(15, _OUTBOUND)
    return None
