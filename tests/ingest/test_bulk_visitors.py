"""Visitor ids and numbers of imported events: the live hash, and numbers the store keeps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.bulk.distinct import Encoded, Vocabulary
from footfall.ingest.bulk.visitors import Identities, VisitorHasher, number_visitors
from footfall.ingest.visitor import VISITOR_ID_MARKER, visitor_id
from footfall.sessions.ids import IdAllocator
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.schema import EVENT_SCHEMA, SESSION_COLUMNS, SESSION_SCHEMA, rows_to_table

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["ua1", "ua2", ""]), text, st.none() | text, st.integers(0, 2)),
        max_size=30,
    ),
    split=st.integers(0, 30),
    salt=st.binary(min_size=16, max_size=16),
)
def test_hashes_are_the_live_functions(
    rows: list[tuple[str, str, str | None, int]], split: int, salt: bytes
) -> None:
    roots = ["example.com", "example.co.uk", "(none)"]
    agents, ips, given = Vocabulary[str](), Vocabulary[str](), Vocabulary[str]()
    hasher = VisitorHasher(salt=salt, domain="example.com")
    found: list[int] = []
    for block in (rows[:split], rows[split:]):  # the same identities may come back
        who = Identities(
            user_agents=Encoded(
                agents.codes(pa.array([r[0] for r in block], pa.string())), agents.values
            ),
            ips=Encoded(ips.codes(pa.array([r[1] for r in block], pa.string())), ips.values),
            given=Encoded(given.codes(pa.array([r[2] for r in block], pa.string())), given.values),
            roots=np.array([r[3] for r in block], dtype=np.int64),
            root_names=roots,
        )
        found += hasher.hashes(who).tolist()
    expected = [
        visitor_id(
            salt,
            # A line's own visitor id replaces User-Agent and IP.
            user_agent=ua if mine is None else VISITOR_ID_MARKER,
            ip=ip if mine is None else mine,
            domain="example.com",
            root_domain=roots[root],
        )
        for ua, ip, mine, root in rows
    ]
    assert found == expected


def _stored_session(session_id: int, visitor_id: int, visitor: int, site_id: int = 1) -> tuple:
    values = {
        "site_id": site_id,
        "session_id": session_id,
        "visitor_id": visitor_id,
        "visitor": visitor,
        "start": dt.datetime(2026, 11, 1),
        "timestamp": dt.datetime(2026, 11, 1),
    }
    return tuple(
        values.get(name, [] if name.startswith("entry_props") else _blank(name))
        for name in SESSION_COLUMNS
    )


def _blank(name: str) -> object:
    kind = SESSION_SCHEMA.field(name).type
    return "" if kind == pa.string() else (False if kind == pa.bool_() else 0)


def test_known_visitors_keep_their_numbers_and_new_ones_get_a_block(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        stored = [
            _stored_session(1, 111, 1),
            _stored_session(2, 222, 2),
            _stored_session(3, 333, 3, site_id=2),
        ]
        store.load(EVENT_SCHEMA.empty_table(), rows_to_table(stored, SESSION_SCHEMA))
        counter = IdAllocator(store.max_visitor() + 1)
        hashes = np.array([444, 222, 333, 555, 111], dtype=np.uint64)
        # First seen: 444 and 555 at the same time (the hash breaks the tie), 333 earlier.
        first_seen = np.array([50, 10, 20, 50, 30], dtype=np.int64)
        numbers = number_visitors(
            hashes,
            first_seen,
            site_id=1,
            known_visitors=store.known_visitors,
            reserve=counter.reserve,
        )
        # 222 and 111 are the site's: kept. 333 is another site's: new for this one.
        assert numbers.tolist() == [5, 2, 4, 6, 1]
        assert counter.next() == 7
    finally:
        store.close()
