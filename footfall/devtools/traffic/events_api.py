"""The traffic as live Events API requests: ``POST /api/event`` bodies and a browser's headers.

The bodies are what footfall's tracker sends (``{"n":…,"u":…,"d":…,"r":…,"p":…}`` as
``text/plain``); the visitor's address goes in ``X-Forwarded-For``, as the reverse proxy in
front of footfall would send it. There is no timestamp: the server stamps events on arrival.
The stream is endless, from the same visits as the import lines: the events of a few dozen
overlapping visits at a time, interleaved in the order they would happen.

Standard library only, like the rest of the generator: the load test's Locust file runs it in
Locust's own process.
"""

from __future__ import annotations

import itertools
import random
import sys
from collections.abc import Iterator
from operator import itemgetter
from typing import NamedTuple

from footfall.devtools.traffic.tables import json_text
from footfall.devtools.traffic.visits import Visits
from footfall.devtools.traffic.vocabulary import Vocabulary

#: Visits drawn at a time; their events are interleaved by time.
OVERLAPPING_VISITS = 64
_by_time = itemgetter(0)


class TrackerRequest(NamedTuple):
    """One ``POST /api/event`` as a browser's tracker sends it.

    Attributes:
        body: The JSON body.
        user_agent: The browser's (or crawler's) User-Agent.
        ip: The visitor's address, for ``X-Forwarded-For``.
    """

    body: bytes
    user_agent: str
    ip: str

    @property
    def headers(self) -> dict[str, str]:
        """The tracker's content type, the browser's User-Agent, the address a proxy forwards."""
        return {
            "Content-Type": "text/plain",
            "User-Agent": self.user_agent,
            "X-Forwarded-For": self.ip,
        }


class _Notation:
    """Tracker bodies up to the domain; visitors as (user agent, address) pairs."""

    no_referrer = ',"r":null'

    def name(self, name: str) -> str:
        return f'{{"n":"{json_text(name)}","u":"'

    def referrer(self, url: str) -> str:
        return f',"r":"{json_text(url)}"'

    def props(self, key: str, value: str) -> str:
        return f',"p":{{"{json_text(key)}":"{json_text(value)}"}}'

    def user_agent(self, user_agent: str) -> str:
        return user_agent

    def visitor(self, user_agent: str, ip: str) -> tuple[str, str]:
        return (user_agent, ip)


def tracker_requests(
    domain: str, rng: random.Random, *, visitors: int | None = None
) -> Iterator[TrackerRequest]:
    """Generates live traffic for one site as Events API requests, without end.

    Args:
        domain: The site's domain; URLs are ``https://<domain>/...``.
        rng: The source of every draw: the same state gives the same requests.
        visitors: At most this many distinct human visitors (address and user agent), so
            that a long run keeps revisiting them; None lets new visitors keep coming, as on a
            site. Crawlers come from their own address ranges either way.

    Returns:
        The requests: pageviews, custom events and ~1 % crawler hits, as the import lines have.

    Raises:
        ValueError: If `visitors` is less than 1.
    """
    visits = Visits(Vocabulary(domain, rng, _Notation()), rng, visitors=visitors)
    return _requests(visits, f',"d":"{json_text(domain)}"')


def _requests(visits: Visits[tuple[str, str]], site: str) -> Iterator[TrackerRequest]:
    for hour in itertools.count():
        hits = visits.hour(hour * 3600, OVERLAPPING_VISITS, 0.0, sys.maxsize)
        hits.sort(key=_by_time)
        for _, name, url, ref, (agent, ip), props in hits:
            yield TrackerRequest(f'{name}{url}"{site}{ref}{props}}}'.encode(), agent, ip)
