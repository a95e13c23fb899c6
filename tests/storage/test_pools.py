"""Pooled DuckDB cursors, the metadata connection pool and the writer's recycled batches."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from footfall.errors import QueryTimeoutError, StoreError
from footfall.ingest.pipeline import ClientContext
from footfall.ingest.request import parse_event
from footfall.meta import db
from footfall.monitoring.pools import BufferStats, PoolStats, reuse_ratio
from footfall.services import Services
from footfall.settings import Settings
from footfall.storage.duckdb.cursors import CursorPool
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.writer import GroupCommitWriter
from tests.conftest import CHROME_UA

# A cross join that runs for seconds: long enough to be interrupted mid-way.
SLOW = "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range + b.range = 7"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBEventStore]:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        yield store
    finally:
        store.close()


def test_reuse_ratio_is_the_share_served_by_something_already_made() -> None:
    stats = PoolStats()
    assert stats.reuse_ratio == 0.0  # nothing checked out yet
    stats.on_create()
    for _ in range(4):
        stats.on_checkout()
        stats.on_checkin()
    assert (stats.created, stats.checkouts, stats.reuses) == (1, 4, 3)
    assert stats.reuse_ratio == 0.75
    assert (stats.open, stats.in_use, stats.idle) == (1, 0, 1)
    assert reuse_ratio(5, 0) == 0.0
    assert BufferStats(acquisitions=10, reuses=9).reuse_ratio == 0.9


def test_an_idle_cursor_is_reused(store: DuckDBEventStore) -> None:
    stats = store.cursor_pool.stats
    before = stats.created
    for _ in range(10):
        with store.cursor() as cur:
            assert cur.execute("SELECT 42").fetchall() == [(42,)]
    assert stats.created == before + 1
    assert stats.checkouts >= 10
    assert stats.in_use == 0
    assert stats.open == 1


def test_pooled_cursors_see_data_committed_after_they_were_opened(
    store: DuckDBEventStore,
) -> None:
    sql = "SELECT value FROM store_info WHERE key = 'data_version'"
    with store.cursor() as cur:
        before = cur.execute(sql).fetchone()
    store.bump_data_version()  # commits on the store's writing connection
    with store.cursor() as cur:
        after = cur.execute(sql).fetchone()
    assert store.cursor_pool.stats.created == 1  # the same cursor both times
    assert before is not None and after is not None
    assert int(after[0]) == int(before[0]) + 1


def test_in_use_counts_concurrent_checkouts_and_the_idle_bound_holds(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    pool = CursorPool(con, max_idle=2)
    stack = []
    try:
        contexts = [pool.cursor() for _ in range(5)]
        for context in contexts:
            stack.append(context.__enter__())
        assert (pool.stats.in_use, pool.stats.open, pool.stats.created) == (5, 5, 5)
        assert len({id(cur) for cur in stack}) == 5  # never one cursor to two holders
        for context in contexts:
            context.__exit__(None, None, None)
        # Two kept for reuse, three closed on their way back.
        assert (pool.stats.in_use, pool.stats.open, pool.stats.closed) == (0, 2, 3)
        with pool.cursor() as cur:
            assert cur.execute("SELECT 1").fetchall() == [(1,)]
        assert pool.stats.created == 5
    finally:
        pool.close()
        con.close()
    assert pool.stats.open == 0


def test_threads_share_the_pool_without_losing_count(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    pool = CursorPool(con, max_idle=4)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(50):
                with pool.cursor() as cur:
                    assert cur.execute("SELECT ?", [i]).fetchone() == (i,)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.close()
    con.close()
    assert not errors
    assert pool.stats.checkouts == 200
    assert pool.stats.in_use == 0
    assert pool.stats.created <= 4 + 4  # at most one per thread beyond the idle ones
    assert pool.stats.reuse_ratio >= 0.9


def test_an_unread_result_is_dropped_when_the_cursor_comes_back(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    con.execute("CREATE TABLE t AS SELECT range AS i, 'row ' || range AS s FROM range(2000000)")
    pool = CursorPool(con)

    def memory() -> int:
        row = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
        return int(row[0]) if row else 0

    baseline = memory()
    with pool.cursor() as cur:
        cur.execute("SELECT * FROM t ORDER BY s DESC").fetchone()  # the rest stays unread
        assert memory() > baseline + 20_000_000
    assert memory() < baseline + 5_000_000  # not held by the idle cursor
    pool.close()
    con.close()


def test_duckdb_cursors_survive_interrupts_and_errors(tmp_path: Path) -> None:
    """What the pool relies on: DuckDB cursors stay usable after an interrupt or an error."""
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    cur = con.cursor()
    cur.interrupt()  # an interrupt that arrives while idle does not carry over
    assert cur.execute("SELECT 1").fetchall() == [(1,)]
    timer = threading.Timer(0.2, cur.interrupt)
    timer.start()
    with pytest.raises(duckdb.InterruptException):
        cur.execute(SLOW).fetchall()
    timer.join()
    assert cur.execute("SELECT 2").fetchall() == [(2,)]
    with pytest.raises(duckdb.BinderException):
        cur.execute("SELECT no_such_column")
    assert cur.execute("SELECT 3").fetchall() == [(3,)]
    cur.close()
    con.close()


def test_a_cursor_whose_query_was_interrupted_is_discarded_and_the_next_works(
    store: DuckDBEventStore,
) -> None:
    stats = store.cursor_pool.stats
    with store.cursor() as cur:
        cur.execute("SELECT 1").fetchall()
    created, closed = stats.created, stats.closed
    with pytest.raises(duckdb.InterruptException), store.cursor() as cur:
        interrupted = cur
        timer = threading.Timer(0.2, cur.interrupt)
        timer.start()
        try:
            cur.execute(SLOW).fetchall()
        finally:
            timer.join()
    assert stats.closed == closed + 1  # not put back
    assert stats.in_use == 0
    with store.cursor() as cur:
        assert cur is not interrupted
        assert cur.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert stats.created == created + 1


def test_a_cursor_whose_block_raised_is_discarded(store: DuckDBEventStore) -> None:
    stats = store.cursor_pool.stats
    with pytest.raises(duckdb.BinderException), store.cursor() as cur:
        cur.execute("SELECT no_such_column")
    assert (stats.in_use, stats.open) == (0, 0)
    with store.cursor() as cur:
        assert cur.execute("SELECT 1").fetchall() == [(1,)]


def test_a_cursor_closed_by_its_holder_is_not_pooled(store: DuckDBEventStore) -> None:
    with store.cursor() as cur:
        cur.close()
    assert (store.cursor_pool.stats.in_use, store.cursor_pool.stats.open) == (0, 0)
    with store.cursor() as cur:
        assert cur.execute("SELECT 1").fetchall() == [(1,)]


def test_unpooled_cursors_keep_their_temp_tables_to_themselves(store: DuckDBEventStore) -> None:
    with store.cursor(pooled=False) as cur:
        cur.execute("CREATE TEMP TABLE staging AS SELECT 1 AS x")
    assert store.cursor_pool.stats.checkouts == 0
    with store.cursor() as cur, pytest.raises(duckdb.CatalogException):
        cur.execute("SELECT * FROM staging")


def test_closing_the_store_closes_idle_cursors(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    with store.cursor() as cur:
        cur.execute("SELECT 1").fetchall()
    assert store.cursor_pool.stats.open == 1
    store.close()
    assert store.cursor_pool.stats.open == 0


def test_the_metadata_pool_is_counted(engine: sa.Engine) -> None:
    stats = db.pool_stats(engine)
    assert db.pool_stats(engine) is stats  # one set of counters per engine
    created = stats.created
    for _ in range(20):
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            assert stats.in_use >= 1
    assert stats.in_use == 0
    assert stats.created == created  # the migration's connection was reused
    assert stats.checkouts >= 20
    assert stats.open >= 1
    assert stats.reuse_ratio > 0.8
    engine.dispose()
    assert stats.open == 0
    with engine.connect() as conn:  # a new pool after dispose is still counted
        conn.execute(sa.text("SELECT 1"))
    assert stats.created == created + 1


def test_concurrent_metadata_checkouts_open_more_connections(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    stats = db.pool_stats(engine)
    first, second = engine.connect(), engine.connect()
    assert (stats.in_use, stats.open) == (2, 2)
    first.close()
    second.close()
    assert (stats.in_use, stats.open) == (0, 2)
    engine.dispose()


def test_the_writer_recycles_its_batches(settings: Settings) -> None:
    services = Services.open(settings)
    request = parse_event({"n": "pageview", "u": "https://example.com/", "d": "example.com"})
    assert not isinstance(request, dict)

    async def run() -> BufferStats:
        writer = GroupCommitWriter(
            services.store,
            services.journal,
            loop=asyncio.get_running_loop(),
            max_batch=10_000,
            max_wait_seconds=0,
            queue_limit=100_000,
            apply_interval_seconds=0.01,
        )
        try:
            for i in range(40):
                outcome = services.pipeline.process(
                    request, ClientContext(CHROME_UA, f"10.0.0.{i}")
                )
                waiter = writer.submit(outcome.events, outcome.sessions)
                assert waiter is not None
                await waiter
                # Let the apply thread store the batch and hand it back.
                deadline = time.monotonic() + 5
                while writer.queue_depth and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
            assert writer.flush_sessions()
            return writer.buffers
        finally:
            writer.close()

    try:
        buffers = asyncio.run(run())
        assert services.store.count_events() == 40
    finally:
        services.close()
    assert buffers.acquisitions == 41  # the first pending batch and one per group commit
    assert buffers.reuses >= 35
    assert buffers.reuse_ratio >= 0.8


def test_closing_under_running_queries_interrupts_them_and_closes_cleanly(
    tmp_path: Path,
) -> None:
    """A stopping server closes the store while worker threads still run queries.

    Closing used to checkpoint on the connection while those threads made cursors from it,
    and DuckDB refused ("connection is busy with another call"): the store was left unclean
    and the next start repaired sessions. Now the running queries are interrupted and waited
    for, later ones are refused, and the store is closed cleanly.
    """
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    outcomes: list[BaseException | None] = []
    started = threading.Barrier(5)

    def endless() -> None:
        started.wait()
        try:
            store.query("SELECT count(*) FROM range(100000000000) WHERE range % 7 = 3", [],
                        timeout=120)  # fmt: skip
            outcomes.append(None)
        except (StoreError, QueryTimeoutError) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=endless) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(0.3)  # the four statements are running
    began = time.monotonic()
    store.close()
    assert time.monotonic() - began < 20
    for thread in threads:
        thread.join(timeout=20)
    assert len(outcomes) == 4
    assert all(isinstance(exc, StoreError) for exc in outcomes), outcomes
    assert "closed while the query ran" in str(outcomes[0])
    with pytest.raises(StoreError, match="closing"):
        store.query("SELECT 1", [], timeout=5)
    reopened = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        assert reopened.was_closed_cleanly
    finally:
        reopened.close()
