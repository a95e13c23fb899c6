"""Enrichment of an import's lines, block by block, with Python once per distinct value.

Each block's columns are coded into vocabularies that grow over the whole import; the live
pipeline's own functions run on the values that are new: `parse_page_url` and `root_domain`
per URL, `UserAgentParser` per User-Agent, `is_spam_referrer` per referrer, `visitor_id` per
identity. Bots, referrer spam and engagement events are dropped here, as the live pipeline
drops them. What is kept per event is a handful of codes and numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from footfall.ingest.bulk.distinct import Encoded, Texts, Vocabulary, encode_keys
from footfall.ingest.bulk.pages import Pages
from footfall.ingest.bulk.validation import Checked, PropsBook
from footfall.ingest.bulk.visitors import Identities, VisitorHasher
from footfall.ingest.sources import is_spam_referrer
from footfall.ingest.useragent import UserAgentInfo, UserAgentParser

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Events:
    """The events to store, enriched: one entry per event, in file order.

    Attributes:
        lines: Line numbers.
        seconds: Times, in whole seconds since the epoch.
        interactive: The events' `interactive` flags.
        pageview: Which events are pageviews.
        names: Event names.
        urls: Codes into `pages`.
        pages: The distinct URLs, parsed.
        referrers: Referrers ("" when none).
        ips: IP addresses ("" when none).
        agents: User-Agents ("" when none).
        agent_info: Each distinct User-Agent, parsed.
        props: Codes into `props_lists`.
        props_lists: Keys and values of each distinct props.
        hashes: Visitor ids.
        visitors: A code per visitor id; `values` are the ids (as signed 64-bit integers).
    """

    lines: Ints
    seconds: Ints
    interactive: Bools
    pageview: Bools
    names: Texts
    urls: Ints
    pages: Pages
    referrers: Encoded[str]
    ips: Encoded[str]
    agents: Encoded[str]
    agent_info: list[UserAgentInfo]
    props: Ints
    props_lists: tuple[pa.Array, pa.Array]
    hashes: npt.NDArray[np.uint64]
    visitors: Encoded[int]


class Enrichment:
    """Gathers an import's events block by block, enriching each distinct value once."""

    def __init__(self, *, user_agents: UserAgentParser, salt: bytes, domain: str) -> None:
        """Starts an import.

        Args:
            user_agents: The live pipeline's User-Agent parser.
            salt: The current salt: visitor ids are hashed under it.
            domain: The site's domain (part of the visitor hash).
        """
        self._user_agents = user_agents
        self._urls: Vocabulary[str] = Vocabulary()
        self._pages = Pages()
        self._agents: Vocabulary[str] = Vocabulary(null="")
        self._agent_info: list[UserAgentInfo] = []
        self._referrers: Vocabulary[str] = Vocabulary(null="")
        self._spam: list[bool] = []
        self._names: Vocabulary[str] = Vocabulary()
        self._ips: Vocabulary[str] = Vocabulary(null="")
        self._given: Vocabulary[str] = Vocabulary()
        self._hasher = VisitorHasher(salt=salt, domain=domain)
        self._parts: dict[str, list[npt.NDArray[np.generic]]] = defaultdict(list)
        self.dropped = 0

    def add(self, checked: Checked) -> None:
        """Enriches one block of valid lines and keeps the events that will be stored."""
        table = checked.table
        urls = self._urls.codes(table["url"])
        self._pages.add(self._urls.values[len(self._pages.hostnames) :])
        agents = self._agents.codes(table["user_agent"])
        new_agents = self._agents.values[len(self._agent_info) :]
        self._agent_info.extend(self._user_agents.parse(agent) for agent in new_agents)
        referrers = self._referrers.codes(table["referrer"])
        new_referrers = self._referrers.values[len(self._spam) :]
        self._spam.extend(is_spam_referrer(referrer or None) for referrer in new_referrers)
        names = self._names.codes(table["name"])
        # Dropped as the live pipeline drops them: bots by User-Agent, referrer spam; an
        # engagement event only extends a live visit, which an import has no use for.
        bot = np.array([info.is_bot for info in self._agent_info] + [False])
        spam = np.array([*self._spam, False])
        engagement = np.array([name == "engagement" for name in self._names.values] + [False])
        rows = np.flatnonzero(~bot[agents] & ~spam[referrers] & ~engagement[names])
        self.dropped += table.num_rows - len(rows)
        if not len(rows):
            return
        urls, agents = urls[rows], agents[rows]
        ips = self._ips.codes(table["ip"])[rows]
        who = Identities(
            user_agents=Encoded(agents, self._agents.values),
            ips=Encoded(ips, self._ips.values),
            given=Encoded(self._given.codes(table["visitor_id"])[rows], self._given.values),
            roots=self._pages.roots[urls],
            root_names=self._pages.root_names,
        )
        kept = {
            "lines": checked.lines[rows],
            "seconds": checked.seconds[rows],
            "interactive": checked.interactive[rows],
            "names": names[rows],
            "urls": urls,
            "referrers": referrers[rows],
            "ips": ips,
            "agents": agents,
            "props": checked.props[rows],
            "hashes": self._hasher.hashes(who),
        }
        for name, values in kept.items():
            self._parts[name].append(values)

    def events(self, props: PropsBook) -> Events:
        """Every kept event, in file order."""
        empty = {"interactive": np.bool_, "hashes": np.uint64}
        column = {
            name: np.concatenate(self._parts[name])
            if self._parts[name]
            else np.zeros(0, dtype=empty.get(name, np.int64))
            for name in (
                "lines",
                "seconds",
                "interactive",
                "names",
                "urls",
                "referrers",
                "ips",
                "agents",
                "props",
                "hashes",
            )
        }
        self._parts.clear()
        names = self._names.values
        hashes = column["hashes"].astype(np.uint64)
        return Events(
            lines=column["lines"],
            seconds=column["seconds"],
            interactive=column["interactive"].astype(np.bool_),
            pageview=np.array([n == "pageview" for n in names] + [False])[column["names"]],
            names=Texts(names, column["names"]),
            urls=column["urls"],
            pages=self._pages,
            referrers=Encoded(column["referrers"], self._referrers.values),
            ips=Encoded(column["ips"], self._ips.values),
            agents=Encoded(column["agents"], self._agents.values),
            agent_info=self._agent_info,
            props=column["props"],
            props_lists=props.lists(),
            hashes=hashes,
            visitors=encode_keys(hashes.view(np.int64)),
        )
