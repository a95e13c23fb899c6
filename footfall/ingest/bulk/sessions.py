"""Plausible's session rule over a whole import at once (`footfall.sessions.rule`, vectorised).

Events are sorted by visitor, time and line. A session starts at a visitor's first event and
wherever more than 30 whole minutes passed since the visitor's previous event; its counts,
bounce, entry and exit pageviews are reductions over its run of events. Engagement events
never reach this point (imports have no engagement to extend a visit with).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from footfall.sessions.rule import SESSION_TIMEOUT_MINUTES

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def session_starts(visitors: Ints, seconds: Ints) -> Bools:
    """Which events start a session, for events sorted by visitor and time.

    Args:
        visitors: A code per visitor.
        seconds: Whole seconds (`footfall.sessions.rule.continues` counts whole minutes).
    """
    starts = np.ones(len(visitors), dtype=np.bool_)
    if len(visitors) > 1:
        gap_minutes = (seconds[1:] - seconds[:-1]) // 60
        starts[1:] = (visitors[1:] != visitors[:-1]) | (gap_minutes > SESSION_TIMEOUT_MINUTES)
    return starts


@dataclass(frozen=True, slots=True)
class Sessions:
    """Events in session order and what each session adds up to.

    Attributes:
        order: The events (as indexes into the input) sorted by visitor, time and line.
        session: The session of each event in `order`.
        firsts: Position in `order` of each session's first event.
        lasts: Position in `order` of each session's last event.
        entries: Position in `order` of each session's first pageview, -1 when it has none.
        exits: Position in `order` of each session's last pageview, -1 when it has none.
        pageviews: Pageviews per session.
        events: Events per session.
        bounces: Whether each session is a bounce (fewer than two pageviews and no
            interactive custom event).
    """

    order: Ints
    session: Ints
    firsts: Ints
    lasts: Ints
    entries: Ints
    exits: Ints
    pageviews: Ints
    events: Ints
    bounces: Bools


def sessionise(
    visitors: Ints, seconds: Ints, lines: Ints, *, pageview: Bools, interactive: Bools
) -> Sessions:
    """Splits events into sessions.

    Args:
        visitors: A code per visitor.
        seconds: Event times in whole seconds.
        lines: Line numbers: the order of events at the same second.
        pageview: Which events are pageviews.
        interactive: Which events are interactive.
    """
    count = len(visitors)
    order = np.lexsort((lines, seconds, visitors)).astype(np.int64)
    starts = session_starts(visitors[order], seconds[order])
    firsts = np.flatnonzero(starts)
    lasts = np.append(firsts[1:], count) - 1
    if not count:
        empty = np.zeros(0, dtype=np.int64)
        return Sessions(order, empty, empty, empty, empty, empty, empty, empty, starts)
    views = pageview[order]
    position = np.arange(count, dtype=np.int64)
    pageviews = np.add.reduceat(views.astype(np.int64), firsts)
    engaged = np.logical_or.reduceat(~views & interactive[order], firsts)
    entries = np.minimum.reduceat(np.where(views, position, count), firsts)
    return Sessions(
        order=order,
        session=np.cumsum(starts) - 1,
        firsts=firsts,
        lasts=lasts,
        entries=np.where(entries == count, -1, entries),
        exits=np.maximum.reduceat(np.where(views, position, -1), firsts),
        pageviews=pageviews,
        events=lasts - firsts + 1,
        bounces=(pageviews < 2) & ~engaged,
    )
