"""Visitor ids and visitor numbers of imported events.

The id is the live pipeline's `visitor_id`, computed once per distinct identity: (User-Agent,
IP, root domain), or (the line's own visitor id, root domain) when it names one. The number
is the stored one for a hash the site already has, otherwise a new one from the live path's
counter, in order of first appearance (docs/adr/0007-dense-visitor-numbers.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from footfall.ingest.bulk.distinct import Encoded, combine, encode_keys, first_rows
from footfall.ingest.visitor import VISITOR_ID_MARKER, visitor_id

Ints = npt.NDArray[np.int64]
Hashes = npt.NDArray[np.uint64]
KnownVisitors = Callable[[int, pa.Array], pa.Table]


@dataclass(frozen=True, slots=True)
class Identities:
    """Who sent each event: codes into the distinct values of each part of the identity."""

    user_agents: Encoded[str]
    ips: Encoded[str]
    # The line's own visitor id; code -1 where it has none.
    given: Encoded[str]
    roots: Ints
    root_names: list[str]


class VisitorHasher:
    """Visitor ids of an import's events, block by block, hashed once per distinct identity."""

    def __init__(self, *, salt: bytes, domain: str) -> None:
        self._salt = salt
        self._domain = domain
        # (explicit, user agent or visitor id, ip or -1, root) codes -> visitor id
        self._known: dict[tuple[bool, int, int, int], int] = {}

    def hashes(self, who: Identities) -> Hashes:
        """The visitor id of every event of a block (codes into the import's vocabularies)."""
        ua, ip, given, roots = who.user_agents, who.ips, who.given, who.roots
        explicit = given.codes >= 0
        # An explicit visitor id replaces (User-Agent, IP) as the identity.
        implicit, size = combine((ua.codes, len(ua.values)), (ip.codes, len(ip.values)))
        identity = np.where(explicit, size + given.codes, implicit)
        total = size + len(given.values)
        distinct = encode_keys(combine((identity, total), (roots, len(who.root_names)))[0])
        first = first_rows(distinct.codes)
        mine = explicit[first]
        keys: Iterable[tuple[bool, int, int, int]] = zip(
            mine.tolist(),
            np.where(mine, given.codes[first], ua.codes[first]).tolist(),
            np.where(mine, -1, ip.codes[first]).tolist(),
            roots[first].tolist(),
            strict=True,
        )
        found = []
        for key in keys:
            known = self._known.get(key)
            if known is None:
                is_given, agent_or_id, address, root = key
                known = visitor_id(
                    self._salt,
                    user_agent=VISITOR_ID_MARKER if is_given else ua.values[agent_or_id],
                    ip=given.values[agent_or_id] if is_given else ip.values[address],
                    domain=self._domain,
                    root_domain=who.root_names[root],
                )
                self._known[key] = known
            found.append(known)
        result: Hashes = np.array(found, dtype=np.uint64)[distinct.codes]
        return result


def number_visitors(
    hashes: Hashes,
    first_seen: Ints,
    *,
    site_id: int,
    known_visitors: KnownVisitors,
    reserve: Callable[[int], int],
) -> npt.NDArray[np.uint32]:
    """The visitor number of each distinct visitor hash.

    Args:
        hashes: Distinct visitor ids.
        first_seen: When each was first seen (seconds), which orders the new numbers.
        site_id: The site whose stored numbers count.
        known_visitors: Asks the event store for the numbers the site already has
            (`EventStore.known_visitors`).
        reserve: Reserves a block of new numbers and returns the first.
    """
    numbers = np.zeros(len(hashes), dtype=np.uint32)
    if not len(hashes):
        return numbers
    known = known_visitors(site_id, pa.array(hashes, pa.uint64()))
    known_ids = np.asarray(known["visitor_id"].to_numpy(), dtype=np.uint64)
    order = np.argsort(known_ids)
    known_ids = known_ids[order]
    slot = np.searchsorted(known_ids, hashes)
    slot = np.minimum(slot, max(len(known_ids) - 1, 0))
    found = (known_ids[slot] == hashes) if len(known_ids) else np.zeros(len(hashes), np.bool_)
    numbers[found] = np.asarray(known["visitor"].to_numpy(), dtype=np.uint32)[order][slot[found]]
    new = np.flatnonzero(~found)
    if len(new):
        first = reserve(len(new))
        ranked = new[np.lexsort((hashes[new], first_seen[new]))]
        numbers[ranked] = first + np.arange(len(new), dtype=np.int64)
    return numbers
