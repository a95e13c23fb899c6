"""The site's vocabulary for one domain and seed, written once in an output's notation."""

from __future__ import annotations

import ipaddress
import random
from typing import Generic, NamedTuple

from footfall.devtools.traffic.addresses import Addresses
from footfall.devtools.traffic.agents import BOT_USER_AGENTS, BROWSER_USER_AGENTS
from footfall.devtools.traffic.goals import goal_for
from footfall.devtools.traffic.notation import Notation, Visitor
from footfall.devtools.traffic.pages import Landing, Pages
from footfall.devtools.traffic.sources import news_story, sources
from footfall.devtools.traffic.tables import json_text, lookup_table

# Lookup tables have 2**bits entries: more for longer lists of weights, so rare items get slots.
PAGE_BITS = 16
SOURCE_BITS = 12
AGENT_BITS = 12
CRAWLER_BITS = 10


class Arrival(NamedTuple):
    """A source as the visit loop uses it.

    Attributes:
        referrer: The referrer part of the landing pageview.
        queries: JSON-escaped query strings of the landing URL (``""``: none).
        landing: Lookup table (2**PAGE_BITS entries) of the path indices landed on.
    """

    referrer: str
    queries: tuple[str, ...]
    landing: list[int]


class GoalParts(NamedTuple):
    """A page's custom events: chance per pageview (see `goals.Goal`), (opening, props) parts."""

    chance: int
    options: tuple[tuple[str, str], ...]


class Vocabulary(Generic[Visitor]):
    """Pages, sources, goals, user agents and addresses for one site, in one notation.

    Building it draws from `rng` (the order of pages, the ids in links, the spike's post), so
    the same seed gives the same vocabulary.

    Attributes:
        notation: The notation every part is written in.
        paths: Path of each page index.
        url: JSON-escaped URL of each page index.
        internal_referrer: Referrer part of each page, for the pageview that follows it.
        nav: Lookup table of the next page within a visit.
        arrivals: The sources, drawn through `arrival_table`.
        spike: The spike's source: a news story that everyone lands on one post from.
        goals: The goal of each page index, or None.
        pageview: The opening of a pageview.
        agents: The browsers' user agents, drawn through `agent_table`.
        crawlers: (user agent, network) of each crawler, drawn through `crawler_table`.
        addresses: Draws the addresses of new visitors.
    """

    def __init__(self, domain: str, rng: random.Random, notation: Notation[Visitor]) -> None:
        self.notation = notation
        base = "https://" + domain
        pages = Pages.ranked(rng)
        self.paths = pages.paths
        self.url = [json_text(base + p) for p in pages.paths]
        self.internal_referrer = [notation.referrer(base + p) for p in pages.paths]
        self.nav = lookup_table(pages.popularity, PAGE_BITS)

        landings: dict[Landing, list[int]] = {}
        arrivals: list[Arrival] = []
        all_sources = sources(rng)
        for source in all_sources:
            if source.landing not in landings:
                weights = pages.landing_weights(source.landing)
                landings[source.landing] = lookup_table(weights, PAGE_BITS)
            referrer = source.referrer
            arrivals.append(
                Arrival(
                    notation.no_referrer if referrer is None else notation.referrer(referrer),
                    tuple(json_text(q) for q in source.queries),
                    landings[source.landing],
                )
            )
        self.arrivals = arrivals
        self.arrival_table = lookup_table([s.weight for s in all_sources], SOURCE_BITS)

        posts = pages.blog_posts()
        spike_post = posts[rng.randrange(len(posts))]
        spike_referrer = notation.referrer(news_story(rng))
        self.spike = Arrival(spike_referrer, ("",), [spike_post] * (1 << PAGE_BITS))

        self.goals: list[GoalParts | None] = []
        for path in pages.paths:
            goal = goal_for(path)
            self.goals.append(
                None
                if goal is None
                else GoalParts(
                    goal.chance,
                    tuple((notation.name(n), notation.props(k, v)) for n, k, v in goal.options),
                )
            )
        self.pageview = notation.name("pageview")

        self.agents = [notation.user_agent(ua) for _, ua in BROWSER_USER_AGENTS]
        self.agent_table = lookup_table([w for w, _ in BROWSER_USER_AGENTS], AGENT_BITS)
        self.crawlers = [
            (notation.user_agent(ua), ipaddress.IPv4Network(net)) for _, ua, net in BOT_USER_AGENTS
        ]
        self.crawler_table = lookup_table([w for w, _, _ in BOT_USER_AGENTS], CRAWLER_BITS)
        self.addresses = Addresses()
