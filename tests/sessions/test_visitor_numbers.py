"""Dense visitor numbers: one per (site, visitor hash), stable across sessions, restarts and
imports, and exact for distinct counts (docs/adr/0007-dense-visitor-numbers.md).

Everything runs through the real pipeline and the real DuckDB store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.devtools.traffic import write_ndjson
from footfall.ingest.pipeline import ClientContext, Outcome
from footfall.ingest.request import parse_event
from footfall.lifecycle.importing import import_ndjson
from footfall.meta.sites import add_site, get_site
from footfall.services import Services, open_meta
from footfall.sessions.ids import IdAllocator
from footfall.sessions.numbering import VisitorNumbers
from footfall.sessions.store import LocalSessions
from footfall.settings import Settings
from footfall.storage.duckdb.store import SCHEMA_VERSION, DuckDBEventStore
from footfall.storage.schema import EVENT_COLUMNS
from footfall.web.app import create_app
from tests.conftest import CHROME_UA
from tests.lifecycle.old_versions import VISIT_VALUES, create_v1_tables

IP_A, IP_B, IP_C = "81.2.69.142", "81.2.69.160", "8.8.8.8"


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def services(settings: Settings, clock: FixedClock) -> Iterator[Services]:
    opened = Services.open(settings, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def _process(services: Services, path: str, *, ip: str, domain: str = "example.com") -> Outcome:
    request = parse_event({"n": "pageview", "u": f"https://{domain}{path}", "d": domain})
    assert not isinstance(request, dict)
    return services.pipeline.process(request, ClientContext(CHROME_UA, ip))


def _ingest(services: Services, path: str, *, ip: str, domain: str = "example.com") -> None:
    """One live event, through the pipeline into the store (sessions included)."""
    outcome = _process(services, path, ip=ip, domain=domain)
    assert outcome.events, "the event was dropped"
    services.store.write(
        outcome.events,
        [row for row, created in outcome.sessions if created],
        [row for row, created in outcome.sessions if not created],
    )


def _rows(store: DuckDBEventStore, sql: str, params: Any = None) -> list[Any]:
    with store.cursor() as cur:
        return cur.execute(sql, params or []).fetchall()


def _event_numbers(store: DuckDBEventStore) -> dict[str, tuple[int, int, int]]:
    """pathname → (visitor_id, visitor, session_id)."""
    rows = _rows(store, "SELECT pathname, visitor_id, visitor, session_id FROM events")
    return {path: (vid, number, sid) for path, vid, number, sid in rows}


def _assert_consistent(store: DuckDBEventStore) -> None:
    """One number per (site, hash), one (site, hash) per number, equal on events and sessions;
    one row per session."""
    for table in ("events", "sessions"):
        per_hash = _rows(
            store,
            f"SELECT count(*) FROM (SELECT site_id, visitor_id FROM {table} "
            "GROUP BY ALL HAVING count(DISTINCT visitor) > 1)",
        )
        per_number = _rows(
            store,
            f"SELECT count(*) FROM (SELECT visitor FROM {table} "
            "GROUP BY visitor HAVING count(DISTINCT (site_id, visitor_id)) > 1)",
        )
        assert per_hash == per_number == [(0,)], table
    mismatched = _rows(
        store,
        "SELECT count(*) FROM events e JOIN sessions s USING (session_id) "
        "WHERE e.visitor <> s.visitor",
    )
    assert mismatched == [(0,)]
    assert _rows(store, "SELECT count(*) - count(DISTINCT session_id) FROM sessions") == [(0,)]


def _ndjson_line(ts: dt.datetime, path: str, ip: str, domain: str = "example.com") -> str:
    return json.dumps(
        {
            "timestamp": ts.isoformat().replace("+00:00", "Z"),
            "name": "pageview",
            "url": f"https://{domain}{path}",
            "user_agent": CHROME_UA,
            "ip": ip,
        }
    )


# -- the mapping ----------------------------------------------------------------------------


def test_rotation_bounds_the_mapping() -> None:
    counter = IdAllocator(1)
    numbers = VisitorNumbers(counter.next)
    day1 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    assert not numbers.rotate(day1)  # the first call only records the current salt
    first = {vid: numbers.number_for(1, vid) for vid in range(100)}
    assert sorted(first.values()) == list(range(1, 101))  # dense, in order of first sight
    assert numbers.number_for(1, 5) == first[5] and numbers.number_for(2, 5) == 101
    assert len(numbers) == 101

    assert numbers.rotate(day1 + dt.timedelta(days=1))
    assert not numbers.rotate(day1 + dt.timedelta(days=1))  # idempotent between rotations
    assert len(numbers) == 101  # yesterday's generation is kept one more day
    # Found in the old generation: the same number, promoted to the new one.
    assert [numbers.number_for(1, vid) for vid in range(10)] == [first[v] for v in range(10)]
    fresh = [numbers.number_for(3, vid) for vid in range(50)]
    assert fresh == list(range(102, 152))
    assert len(numbers) == 151  # promoted entries move, they are not copied

    assert numbers.rotate(day1 + dt.timedelta(days=2))
    # Only what was seen since the previous rotation survives: the other 91 are gone.
    assert len(numbers) == 60
    assert numbers.number_for(1, 3) == first[3]
    assert numbers.number_for(1, 50) == 152  # dropped, so (if it ever came back) a new number

    for day in range(3, 10):
        numbers.rotate(day1 + dt.timedelta(days=day))
        for vid in range(1000):
            numbers.number_for(day, vid)
    assert len(numbers) == 2000  # two days of visitors, however long it runs


def test_remembered_numbers_are_reused_but_never_override() -> None:
    counter = IdAllocator(500)
    numbers = VisitorNumbers(counter.next)
    assert numbers.number_for(1, 7) == 500
    numbers.remember([(1, 7, 42), (1, 8, 43), (2, 8, 44)])
    assert numbers.number_for(1, 7) == 500  # a number already held wins
    assert (numbers.number_for(1, 8), numbers.number_for(2, 8)) == (43, 44)
    numbers.remember([(1, 9, 45)])
    numbers.rotate(dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    numbers.rotate(dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    numbers.rotate(dt.datetime(2026, 11, 4, tzinfo=dt.UTC))
    assert len(numbers) == 0  # remembered and never seen again: dropped like the rest
    assert numbers.number_for(1, 10) == 501


# -- live ingest and restarts ---------------------------------------------------------------


def test_a_visitor_keeps_its_number_across_sessions_and_visitors_differ(
    services: Services, clock: FixedClock
) -> None:
    _ingest(services, "/a1", ip=IP_A)
    _ingest(services, "/b1", ip=IP_B)
    clock.advance(45 * 60)  # past the 30-minute rule: new sessions
    _ingest(services, "/a2", ip=IP_A)
    clock.advance(60)
    _ingest(services, "/a3", ip=IP_A)
    _ingest(services, "/c1", ip=IP_C)
    seen = _event_numbers(services.store)
    a1, a2, a3, b1, c1 = (seen[p] for p in ("/a1", "/a2", "/a3", "/b1", "/c1"))
    assert a1[2] != a2[2] == a3[2], "two sessions of visitor A"
    assert a1[:2] == a2[:2] == a3[:2]
    assert len({a1[1], b1[1], c1[1]}) == 3
    assert [a1[1], b1[1], c1[1]] == [1, 2, 3]  # dense, in order of first appearance
    sessions = _rows(services.store, "SELECT visitor, count(*) FROM sessions GROUP BY 1 ORDER BY 1")
    assert sessions == [(1, 2), (2, 1), (3, 1)]
    _assert_consistent(services.store)


def test_numbers_survive_a_restart(settings: Settings, clock: FixedClock) -> None:
    first = Services.open(settings, clock=clock)
    try:
        _ingest(first, "/a1", ip=IP_A)
        _ingest(first, "/b1", ip=IP_B)
    finally:
        first.close()
    clock.advance(3600)  # later the same day: same salt, but the sessions have ended
    second = Services.open(settings, clock=clock)
    try:
        assert len(second.sessions) == 0
        _ingest(second, "/c1", ip=IP_C)
        _ingest(second, "/a2", ip=IP_A)
        seen = _event_numbers(second.store)
        assert isinstance(second.sessions, LocalSessions)
        assert len(second.sessions.visitor_numbers) == 3  # two remembered taken in, one new
    finally:
        second.close()
    assert seen["/a2"][2] != seen["/a1"][2]  # a new session ...
    assert seen["/a2"][:2] == seen["/a1"][:2]  # ... of the same visitor, with its number
    assert seen["/c1"][1] == 3  # the counter continues after the stored numbers


def test_journal_replay_and_session_repair_keep_the_numbers(
    settings: Settings, clock: FixedClock
) -> None:
    services = Services.open(settings, clock=clock)
    _ingest(services, "/a1", ip=IP_A)
    clock.advance(60)
    journalled = [_process(services, "/a2", ip=IP_A), _process(services, "/b1", ip=IP_B)]
    services.journal.append([row for outcome in journalled for row in outcome.events])
    services.journal.close()
    services.store._con.close()  # the process dies: events journalled, sessions not written
    assigned = {row[EVENT_COLUMNS.index("pathname")]: row for o in journalled for row in o.events}

    reopened = Services.open(settings, clock=clock)
    try:
        seen = _event_numbers(reopened.store)
        index = EVENT_COLUMNS.index("visitor")
        assert seen["/a2"][1] == assigned["/a2"][index] == seen["/a1"][1] == 1
        assert seen["/b1"][1] == assigned["/b1"][index] == 2
        # B's session existed only in memory; the repair rebuilt it with its events' number.
        assert _rows(reopened.store, "SELECT visitor FROM sessions ORDER BY visitor") == [
            (1,),
            (2,),
        ]
        _assert_consistent(reopened.store)
        assert reopened.visitor_ids.next() == 3
        clock.advance(3600)
        _ingest(reopened, "/b2", ip=IP_B)
        assert _event_numbers(reopened.store)["/b2"][1] == 2
        _assert_consistent(reopened.store)  # the new session did not reuse a repaired one's id
    finally:
        reopened.close()


def test_events_journalled_before_visitor_numbers_are_numbered_on_replay(
    settings: Settings, clock: FixedClock
) -> None:
    """A journal written by the previous release lacks the `visitor` column."""
    services = Services.open(settings, clock=clock)
    _ingest(services, "/a1", ip=IP_A)
    clock.advance(3600)
    index = EVENT_COLUMNS.index("visitor")
    old_rows = [
        (*row[:index], *row[index + 1 :])
        for path, ip in (("/a2", IP_A), ("/b1", IP_B))
        for row in _process(services, path, ip=ip).events
    ]
    services.journal.append(old_rows)
    services.journal.close()
    services.store._con.close()

    reopened = Services.open(settings, clock=clock)
    try:
        seen = _event_numbers(reopened.store)
        assert seen["/a2"][1] == seen["/a1"][1] == 1  # a stored hash keeps its number
        assert seen["/b1"][1] == 2  # a new one gets the next
        _assert_consistent(reopened.store)
        assert reopened.visitor_ids.next() == 3
    finally:
        reopened.close()


# -- imports --------------------------------------------------------------------------------


def test_import_into_a_store_with_data_keeps_existing_numbers(
    services: Services, clock: FixedClock, tmp_path: Path
) -> None:
    _ingest(services, "/live-a", ip=IP_A)
    _ingest(services, "/live-b", ip=IP_B)
    before = _event_numbers(services.store)
    # History under the current salt: A is the same hash as live, C is new.
    now = clock.now()
    path = tmp_path / "history.ndjson"
    lines = [
        _ndjson_line(now - dt.timedelta(days=3), "/old-c", IP_C),
        _ndjson_line(now - dt.timedelta(days=2), "/old-a", IP_A),
    ]
    path.write_text("\n".join(lines) + "\n")
    site = get_site(services.meta, "example.com")
    assert import_ndjson(services, site=site, path=path).stored == 2
    seen = _event_numbers(services.store)
    assert {p: seen[p] for p in before} == before
    assert seen["/old-a"][:2] == before["/live-a"][:2]
    assert seen["/old-c"][1] == 3  # from the same counter as the live path
    _ingest(services, "/live-d", ip="81.2.69.1")
    assert _event_numbers(services.store)["/live-d"][1] == 4
    # Importing the same history again finds every hash stored: no new numbers.
    assert import_ndjson(services, site=site, path=path, force=True).stored == 2
    again = _rows(
        services.store, "SELECT pathname, visitor FROM events WHERE pathname LIKE '/old%'"
    )
    assert sorted(again) == [("/old-a", 1), ("/old-a", 1), ("/old-c", 3), ("/old-c", 3)]
    _assert_consistent(services.store)


def test_an_import_then_a_live_event_of_the_same_visitor_share_a_number(
    settings: Settings, clock: FixedClock, import_key: str
) -> None:
    """Inside a running server: the import registers its recent visitors in the live mapping."""
    now = clock.now()
    history = "\n".join(
        [
            _ndjson_line(now - dt.timedelta(hours=5), "/imported-a", IP_A),
            _ndjson_line(now - dt.timedelta(hours=4), "/imported-b", IP_B),
        ]
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        state = client.app.state.footfall
        response = client.post(
            "/api/import?site_id=example.com",
            content=history + "\n",
            headers={"authorization": f"Bearer {import_key}"},
        )
        assert response.status_code == 200 and response.json()["stored"] == 2
        for ip, path in ((IP_B, "/live-b"), (IP_C, "/live-c")):
            sent = client.post(
                "/api/event",
                content=json.dumps(
                    {"n": "pageview", "u": f"https://example.com{path}", "d": "example.com"}
                ),
                headers={
                    "content-type": "text/plain",
                    "user-agent": CHROME_UA,
                    "x-forwarded-for": ip,
                },
            )
            assert sent.status_code == 202
        assert state.writer.flush_sessions()
        seen = _event_numbers(state.store)
        _assert_consistent(state.store)
    assert seen["/live-b"][2] != seen["/imported-b"][2]  # imported sessions are not continued
    assert seen["/live-b"][:2] == seen["/imported-b"][:2]
    assert seen["/imported-a"][1] != seen["/imported-b"][1]
    assert seen["/live-c"][1] == 3


def test_distinct_numbers_count_exactly_like_hashes_on_demo_data(
    services: Services, settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    other = add_site(open_meta(settings), domain="other.example")
    sites = [get_site(services.meta, "example.com"), other]
    for seed, site in enumerate(sites):
        path = tmp_path / f"{site.domain}.ndjson"
        with path.open("w") as handle:
            write_ndjson(
                handle, domain=site.domain, events=3000, days=7, end=clock.now(), seed=seed
            )
        assert import_ndjson(services, site=site, path=path).stored > 2500
    _assert_consistent(services.store)
    end = clock.now().replace(tzinfo=None)
    ranges = [(end - dt.timedelta(days=8), end)]
    ranges += [(end - dt.timedelta(days=d + 1), end - dt.timedelta(days=d)) for d in range(7)]
    for site in sites:
        for table, time in (("events", "timestamp"), ("sessions", "start")):
            where = f"site_id = $site AND {time} >= $start AND {time} < $end"
            for start, stop in ranges:
                params = {"site": site.id, "start": start, "end": stop}
                # bitstring_agg wants its bounds as constants: the band of numbers in range.
                lo, hi = _rows(
                    services.store,
                    f"SELECT min(visitor), max(visitor) FROM {table} WHERE {where}",
                    params,
                )[0]
                counts = _rows(
                    services.store,
                    "SELECT count(DISTINCT visitor_id), count(DISTINCT visitor), "
                    "bit_count(bitstring_agg(visitor, $lo::UINTEGER, $hi::UINTEGER)) "
                    f"FROM {table} WHERE {where}",
                    {**params, "lo": lo, "hi": hi},
                )[0]
                assert counts[0] > 0 and counts[0] == counts[1] == counts[2], (site, table, start)
    # One import's new visitors are one dense block of the counter.
    for site in sites:
        lo, hi, count = _rows(
            services.store,
            "SELECT min(visitor), max(visitor), count(DISTINCT visitor) FROM sessions "
            "WHERE site_id = ?",
            [site.id],
        )[0]
        assert hi - lo + 1 == count


# -- upgrading a version-1 store ------------------------------------------------------------


def _write_v1_store(path: Path) -> None:
    """A store as the previous release left it after a crash (one session never written)."""
    day = dt.datetime(2026, 11, 2)
    # (site_id, visitor hash, session id, minutes after 09:00 of each event, session written)
    visits = [
        (1, 111, 1, [60, 65], True),
        (1, 222, 2, [120], True),
        (1, 111, 3, [180], True),
        (2, 111, 4, [0], True),
        (1, 333, 5, [240], False),
    ]
    con = duckdb.connect(str(path))
    create_v1_tables(con, clean_shutdown=False)
    for site_id, vid, sid, minutes, written in visits:
        stamps = [day + dt.timedelta(hours=9, minutes=m) for m in minutes]
        for ts in stamps:
            con.execute(
                "INSERT INTO events VALUES (?, ?, 'pageview', 'example.com', ?, ?, ?, [], [], "
                f"255, 0, true{VISIT_VALUES})",
                [site_id, ts, f"/s{sid}", vid, sid],
            )
        if written:
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, 'example.com', "
                f"'example.com', [], []{VISIT_VALUES})",
                [
                    site_id,
                    sid,
                    vid,
                    stamps[0],
                    stamps[-1],
                    len(stamps),
                    len(stamps),
                    len(stamps) < 2,
                    f"/s{sid}",
                    f"/s{sid}",
                ],
            )
    con.close()


def test_a_version_1_store_is_upgraded_in_place(settings: Settings, clock: FixedClock) -> None:
    path = settings.event_store_path
    _write_v1_store(path)
    services = Services.open(settings, clock=clock)  # upgrades, then repairs the crashed tail
    try:
        store = services.store
        assert _rows(store, "SELECT value FROM store_info WHERE key = 'schema_version'") == [
            (SCHEMA_VERSION,)
        ]
        column = _rows(
            store,
            "SELECT data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = 'events' AND column_name = 'visitor'",
        )
        assert column == [("UINTEGER", "NO", None)]
        # Numbered in order of first appearance, the same number on events and sessions.
        expected = {(2, 111): 1, (1, 111): 2, (1, 222): 3, (1, 333): 4}
        for table in ("events", "sessions"):
            found = _rows(store, f"SELECT DISTINCT site_id, visitor_id, visitor FROM {table}")
            assert {(s, v): n for s, v, n in found} == expected, table
        # The session lost in the crash was rebuilt from its events, number included.
        assert _rows(store, "SELECT visitor FROM sessions WHERE session_id = 5") == [(4,)]
        _assert_consistent(store)
        # The upgraded store takes new rows (its `visitor` column is last on disk).
        assert services.visitor_ids.next() == 5
        _ingest(services, "/new", ip=IP_A)
        assert _event_numbers(store)["/new"][1] == 6
        _assert_consistent(store)
    finally:
        services.close()
    DuckDBEventStore(path).close()  # opens as a current store from now on
