"""Visitors and their visits: the one loop every output of the generator draws events from.

* Visitors are stable ``ip`` + ``user_agent`` pairs; about 30 % of visits come from a visitor
  seen before (returning visitors).
* Visits: ~55 % single-page bounces, the rest 2-20 pageviews with gaps of seconds to ~20
  minutes; ~3 % of gaps exceed 30 minutes (a new visit by the 30-minute rule).
* The first pageview lands from a source (see `footfall.devtools.traffic.sources`); the next
  pages follow the site's popularity, each referred from the page before.
* After each pageview, the page's goal may fire a custom event a second or so later.
* ~0.4 % of visits are crawler runs of 1-12 quick pageviews (~1 % of events), from the
  crawler's own address range; footfall is expected to drop them.
"""

from __future__ import annotations

import math
import random
from typing import Generic

from footfall.devtools.traffic.agents import crawler_address
from footfall.devtools.traffic.goals import CHANCE_BITS
from footfall.devtools.traffic.notation import Hit, Visitor
from footfall.devtools.traffic.tables import lookup_table
from footfall.devtools.traffic.vocabulary import (
    AGENT_BITS,
    CRAWLER_BITS,
    PAGE_BITS,
    SOURCE_BITS,
    Vocabulary,
)

#: Probability that a visit comes from a visitor already seen.
RETURNING_SHARE = 0.3
#: Probability that a visit is a crawler run.
BOT_SESSION_SHARE = 0.0037
#: Most pageviews of a crawler run.
BOT_RUN_PAGES = 12
#: Relative share of visits with 0, 1, 2, ... 20 pageviews: ~55 % bounces.
VISIT_PAGES: tuple[float, ...] = (0.0, 55.0, 14.0, 9.0, 6.0, 4.5, 3.5, 2.5, 2.0, 1.5, 1.2) + (
    1.8 / 10,
) * 10
#: Gaps between the pageviews of a visit: (share, shortest, longest seconds), log-uniform within.
GAPS: tuple[tuple[float, int, int], ...] = (
    (0.40, 5, 60),
    (0.40, 60, 300),
    (0.17, 300, 1200),
    (0.03, 1860, 7200),
)
#: Visitors remembered as possible returning visitors (recent ones replace the oldest).
REMEMBERED_VISITORS = 1 << 18
# Lookup bits of the draws below.
_START_BITS = 12
_LENGTH_BITS = 12
_GAP_BITS = 12
_VISITOR_BITS = 18


def _gap_table(rng: random.Random) -> list[int]:
    """2**_GAP_BITS gaps in seconds, drawn by `GAPS` and shuffled."""
    size = 1 << _GAP_BITS
    gaps: list[int] = []
    for share, lo, hi in GAPS:
        for _ in range(round(share * size)):
            gaps.append(int(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
    rng.shuffle(gaps)
    # Rounding may leave the table a gap short: repeat the first ones.
    return gaps[:size] + gaps[: max(0, size - len(gaps))]


class Visits(Generic[Visitor]):
    """Draws visits hour by hour, remembering visitors so that some come back.

    Args:
        vocabulary: The site's vocabulary, in the notation the events are wanted in.
        rng: The source of every draw (also used to build `vocabulary`, for one seed).
        visitors: At most this many distinct visitors: once there are as many, every visit is
            a returning visitor's. None: new visitors keep coming, the most recent
            `REMEMBERED_VISITORS` of them may return.
    """

    def __init__(
        self, vocabulary: Vocabulary[Visitor], rng: random.Random, *, visitors: int | None = None
    ) -> None:
        if visitors is not None and visitors < 1:
            raise ValueError("visitors must be >= 1")
        self._vocabulary = vocabulary
        self._rng = rng
        self._lengths = lookup_table(VISIT_PAGES, _LENGTH_BITS)
        self._gaps = _gap_table(rng)
        self._closed = visitors is not None
        self._size = REMEMBERED_VISITORS if visitors is None else visitors
        self._seen: list[Visitor] = []
        self._oldest = 0

    def hour(self, start: int, count: int, spike_share: float, end: int) -> list[Hit[Visitor]]:
        """Draws `count` visits starting in the hour from `start`.

        Events are in order within a visit and visits in order of their start, so the list is
        roughly, not strictly, in time order.

        Args:
            start: First second of the hour (epoch).
            count: Visits to start in it.
            spike_share: Share of the human visits that come from the spike's source.
            end: No event at or after this second: a visit that reaches it is cut short.

        Returns:
            The events (a visit's later pageviews stay with the hour it started in).
        """
        voc = self._vocabulary
        rng = self._rng
        # Hot locals.
        bits = rng.getrandbits
        rand = rng.random
        nav, url_of, internal_referrer, goals = voc.nav, voc.url, voc.internal_referrer, voc.goals
        arrivals, arrival_table = voc.arrivals, voc.arrival_table
        lengths, gaps = self._lengths, self._gaps
        agents, agent_table = voc.agents, voc.agent_table
        visitor, draw_ip = voc.notation.visitor, voc.addresses.draw
        pageview, no_referrer = voc.pageview, voc.notation.no_referrer
        seen, size, closed, oldest = self._seen, self._size, self._closed, self._oldest
        full = closed and len(seen) >= size

        out: list[Hit[Visitor]] = []
        app = out.append
        for off in sorted([bits(_START_BITS) for _ in range(count)]):
            t = start + (off * 3600 >> _START_BITS)
            if rand() < BOT_SESSION_SHARE:
                agent, network = voc.crawlers[voc.crawler_table[bits(CRAWLER_BITS)]]
                vis = visitor(agent, crawler_address(network, rng))
                for _ in range(1 + rng.randrange(BOT_RUN_PAGES)):
                    if t >= end:
                        break
                    app((t, pageview, url_of[nav[bits(PAGE_BITS)]], no_referrer, vis, ""))
                    t += 1 + bits(4)
                continue

            if seen and (full or rand() < RETURNING_SHARE):
                vis = seen[bits(_VISITOR_BITS) % len(seen)]
            else:
                vis = visitor(agents[agent_table[bits(AGENT_BITS)]], draw_ip(rng))
                if len(seen) < size:
                    seen.append(vis)
                    full = closed and len(seen) >= size
                else:
                    seen[oldest] = vis
                    oldest = (oldest + 1) % size

            src = (
                voc.spike
                if spike_share and rand() < spike_share
                else arrivals[arrival_table[bits(SOURCE_BITS)]]
            )
            path = src.landing[bits(PAGE_BITS)]
            q = src.queries
            url = url_of[path] + (q[0] if len(q) == 1 else q[bits(16) % len(q)])
            ref = src.referrer
            for i in range(lengths[bits(_LENGTH_BITS)]):
                if i:
                    t += gaps[bits(_GAP_BITS)]
                    ref = internal_referrer[path]
                    path = nav[bits(PAGE_BITS)]
                    url = url_of[path]
                if t >= end:
                    break
                app((t, pageview, url, ref, vis, ""))
                goal = goals[path]
                if goal is not None and bits(CHANCE_BITS) < goal.chance:
                    opts = goal.options
                    name, props = opts[bits(8) % len(opts)]
                    fired = t + 1 + bits(2)
                    if fired < end:
                        app((fired, name, url, ref, vis, props))
        self._oldest = oldest
        return out
