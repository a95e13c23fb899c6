"""Visitor ids and visitor numbers of imported events.

The id is the live pipeline's `visitor_id`, computed once per distinct identity: (User-Agent,
IP, root domain), or (the line's own visitor id, root domain) when it names one. The number
is the stored one for a hash the site already has, otherwise a new one from the live path's
counter, in order of first appearance (docs/adr/0007-dense-visitor-numbers.md).
"""

from __future__ import annotations

from collections.abc import Callable
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


def visitor_hashes(identities: Identities, *, salt: bytes, domain: str) -> Hashes:
    """The visitor id of every event, hashed once per distinct identity."""
    ua, ip, given = identities.user_agents, identities.ips, identities.given
    roots, names = identities.roots, identities.root_names
    explicit = given.codes >= 0
    # An explicit visitor id replaces (User-Agent, IP) as the identity.
    implicit, size = combine((ua.codes, len(ua.values)), (ip.codes, len(ip.values)))
    key = np.where(explicit, size + given.codes, implicit)
    distinct = encode_keys(combine((key, size + len(given.values)), (roots, len(names)))[0])
    first = first_rows(distinct.codes)
    mine = explicit[first]
    agents = np.where(mine, VISITOR_ID_MARKER, _texts(ua, first))
    addresses = np.where(mine, _texts(given, first), _texts(ip, first))
    hashes = np.array(
        [
            visitor_id(salt, user_agent=agent, ip=address, domain=domain, root_domain=root)
            for agent, address, root in zip(
                agents.tolist(),
                addresses.tolist(),
                _texts(names, roots[first]).tolist(),
                strict=True,
            )
        ],
        dtype=np.uint64,
    )
    result: Hashes = hashes[distinct.codes]
    return result


def _texts(values: Encoded[str] | list[str], rows: Ints) -> npt.NDArray[np.object_]:
    """The texts of some rows (object arrays gather without a Python loop)."""
    if isinstance(values, list):
        return np.array(values, dtype=object)[rows]
    table = np.array([*values.values, ""], dtype=object)
    return table[values.codes[rows]]  # code -1 (none) picks the "" at the end


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
