"""What only the ClickHouse store does: versioned sessions, batch ids, migrations, locks."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.errors import StoreError
from tests.clickhouse_http import clickhouse_http, clickhouse_http_server
from tests.services import chdb_store, chdb_url, require_chdb
from tests.storage.rows import T0, event, session

MINUTE = T0.resolution * 60_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    opened = chdb_store(tmp_path / "chdb")
    try:
        yield opened
    finally:
        opened.close()


def _one(store: Any, sql: str, *params: object) -> Any:
    return store.query(sql, list(params), timeout=10, tag="test")[0][0]


def test_a_changed_session_is_a_cancel_row_and_a_new_version(store: Any) -> None:
    store._command("SYSTEM STOP MERGES sessions")
    store.write([event()], [session()], [])
    for n in (2, 3):
        last = T0 + n * MINUTE
        store.write([event(at=last)], [], [session(last=last, pageviews=n, exit_page=f"/{n}")])
    rows = store.query(
        "SELECT sign, version, pageviews FROM sessions ORDER BY version, sign",
        [],
        timeout=10,
        tag="test",
    )
    assert rows == [(-1, 1, 1), (1, 1, 1), (-1, 2, 2), (1, 2, 2), (1, 3, 3)]
    assert _one(store, "SELECT sum(sign) FROM sessions WHERE exit_page = '/2'") == 0
    assert _one(store, "SELECT sum(sign * pageviews) FROM sessions") == 3
    # An unchanged state is not written again.
    store.write([], [], [session(last=T0 + 3 * MINUTE, pageviews=3, exit_page="/3")])
    assert _one(store, "SELECT count() FROM sessions") == 5


def test_a_session_state_unknown_to_a_new_process_is_read_back(tmp_path: Path) -> None:
    first = chdb_store(tmp_path / "chdb")
    first.write([event()], [session()], [])
    first.close()
    again = chdb_store(tmp_path / "chdb")
    try:
        later = T0 + 5 * MINUTE
        again.write([], [], [session(last=later, pageviews=2, exit_page="/b")])
        assert _one(again, "SELECT sum(sign) FROM sessions") == 1
        assert _one(again, "SELECT sum(sign * pageviews) FROM sessions") == 2
        assert _one(again, "SELECT max(version) FROM sessions") == 2
    finally:
        again.close()


def test_a_batch_stored_although_its_insert_failed_is_not_stored_again(store: Any) -> None:
    real = store._client.insert_arrow
    calls = {"n": 0}

    def lost_answer(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("the answer was lost")

    store._client.insert_arrow = lost_answer
    first = [event(pathname="/a"), event(pathname="/b")]
    with pytest.raises(StoreError):
        store.write(first, [], [], journal_seq=7)
    # The writer retries with the same rows and what arrived meanwhile.
    store.write([*first, event(pathname="/c")], [], [], journal_seq=8)
    assert store.count_events() == 3
    assert store.applied_journal_seq() == 8


def test_the_journal_position_comes_back_from_the_events(tmp_path: Path) -> None:
    first = chdb_store(tmp_path / "chdb")
    first.write([event()], [], [], journal_seq=41)
    first.write([], [], [], journal_seq=42)
    first.load(*_import_tables())
    first.close()
    again = chdb_store(tmp_path / "chdb")
    try:
        assert again.applied_journal_seq() == 42
    finally:
        again.close()


def _import_tables() -> tuple[Any, Any]:
    from footfall.storage.schema import EVENT_SCHEMA, SESSION_SCHEMA, rows_to_table

    return (
        rows_to_table([event(session_id=9, visitor=9)], EVENT_SCHEMA),
        rows_to_table([session(session_id=9, visitor=9)], SESSION_SCHEMA),
    )


def test_migrations_go_down_and_up_again(store: Any) -> None:
    from footfall.storage.clickhouse import migrations

    store.write([event()], [session()], [])
    assert migrations.migrate(store._client, target=0) == 0
    tables = store.query("SHOW TABLES", [], timeout=10, tag="test")
    assert {t for (t,) in tables} == {"footfall_migrations"}
    assert migrations.migrate(store._client) == migrations.LATEST
    assert store.count_events() == 0


def test_a_second_process_cannot_open_the_same_chdb_directory(store: Any) -> None:
    code = (
        "import sys\n"
        "from footfall.errors import StoreBusyError\n"
        "from footfall.storage.clickhouse.store import ClickHouseEventStore\n"
        "try:\n"
        f"    ClickHouseEventStore({store.target.url!r})\n"
        "except StoreBusyError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 3, done.stderr
    assert "in use by another footfall process" in done.stdout


def test_every_query_names_what_asked_for_it(store: Any) -> None:
    # The tag travels as a leading comment and as log_comment, for system.query_log.
    assert store.query("SELECT getSetting('log_comment')", [], timeout=10, tag="top pages") == [
        ("top pages",)
    ]
    odd = store.query("SELECT getSetting('log_comment')", [], timeout=10, tag="a */ DROP x")
    assert "*/" not in odd[0][0]


def test_a_wrong_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    require_chdb()
    with clickhouse_http(tmp_path / "server", password="right-one") as url:
        wrong = url.replace("right-one", "hunter2")
        with pytest.raises(StoreError) as raised:
            ClickHouseEventStore(wrong)
    assert "hunter2" not in str(raised.value)
    assert "********" in str(raised.value)


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    require_chdb()
    with pytest.raises(StoreError, match="cannot open the event store") as raised:
        ClickHouseEventStore("clickhouse://u:hunter2@127.0.0.1:9/db")
    assert "hunter2" not in str(raised.value)


def test_chdb_url_of_a_directory(tmp_path: Path) -> None:
    assert chdb_url(tmp_path).startswith("chdb:///")


def test_footfall_migrate_brings_the_clickhouse_schema_up_to_date(tmp_path: Path) -> None:
    url = chdb_url(tmp_path / "chdb")
    done = subprocess.run(
        [sys.executable, "-m", "footfall", "migrate", "--data-dir", str(tmp_path / "data")],
        env={"FOOTFALL_EVENTS_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "event store schema up to date" in done.stdout
    opened = chdb_store(tmp_path / "chdb")
    try:
        assert opened.count_events() == 0
    finally:
        opened.close()


def test_an_insert_whose_answer_is_lost_over_http_is_stored_once(tmp_path: Path) -> None:
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    require_chdb()
    with clickhouse_http_server(tmp_path / "server", password="pw") as (url, server):
        store = ClickHouseEventStore(url)
        try:
            server.lose_answers = 1
            first = [event(pathname="/a"), event(pathname="/b")]
            # The writer keeps the rows and tries again with what came since.
            with contextlib.suppress(StoreError):
                store.write(first, [], [], journal_seq=3)
            store.write([*first, event(pathname="/c")], [], [], journal_seq=4)
            assert store.count_events() == 3
            server.lose_answers = 1
            store._command("SYSTEM STOP MERGES sessions")
            with contextlib.suppress(StoreError):
                store.write([], [session()], [])
            later = session(last=T0 + MINUTE, pageviews=2, exit_page="/b")
            store.write([], [], [later])
            assert _one(store, "SELECT sum(sign) FROM sessions") == 1
            assert _one(store, "SELECT sum(sign * pageviews) FROM sessions") == 2
        finally:
            store.close()


def test_a_time_range_reads_only_its_days(store: Any) -> None:
    # Nine days of events, about 21,600 a day: a one-day range must skip most granules by the key.
    store._command(
        "INSERT INTO events (site_id, timestamp, name, visitor) SELECT 1, "
        "toDateTime64('2026-10-01 00:00:00', 6, 'UTC') + toIntervalSecond(number * 4), "
        "'pageview', toUInt32(number % 5000) FROM numbers(200000)"
    )
    explained = store.query(
        "EXPLAIN indexes = 1 SELECT count() FROM events WHERE site_id = $1 "
        "AND timestamp BETWEEN $2 AND $3 AND name <> 'engagement'",
        [1, T0.replace(month=10, day=5, hour=0), T0.replace(month=10, day=5, hour=23)],
        timeout=10,
        tag="test",
    )
    lines = [row[0].strip() for row in explained]
    start = lines.index("PrimaryKey")
    granules = next(line for line in lines[start:] if line.startswith("Granules:"))
    read, total = (int(n) for n in granules.split()[1].split("/"))
    assert read * 4 < total, granules


def test_a_repair_of_many_sessions_over_http(tmp_path: Path) -> None:
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    require_chdb()
    with clickhouse_http(tmp_path / "server", password="pw") as url:
        first = ClickHouseEventStore(url)
        n = 5000
        first.write(
            [event(session_id=s, visitor=s, at=T0 + s * MINUTE / 100) for s in range(1, n + 1)],
            [session(session_id=s, visitor=s, pageviews=9) for s in range(1, n + 1)],
            [],
        )
        first.close()
        again = ClickHouseEventStore(url)  # knows no session state: reads them back
        try:
            assert again.repair_sessions(T0) == n
            assert _one(again, "SELECT sum(sign) FROM sessions") == n
            assert _one(again, "SELECT sum(sign * pageviews) FROM sessions") == n
        finally:
            again.close()


def test_a_schema_newer_than_this_release_is_refused(tmp_path: Path) -> None:
    from footfall.storage.clickhouse import migrations

    first = chdb_store(tmp_path / "chdb")
    first._client.insert(
        "footfall_migrations",
        [[migrations.LATEST + 1, "from the future", 0, 1]],
        column_names=["version", "name", "applied_at", "applied"],
    )
    first.close()
    with pytest.raises(StoreError, match="knows up to"):
        chdb_store(tmp_path / "chdb")


def test_a_read_only_store_changes_nothing(tmp_path: Path) -> None:
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    first = chdb_store(tmp_path / "chdb")
    first.write([event()], [session()], [])
    version = first.data_version()
    first.close()
    reader = ClickHouseEventStore(chdb_url(tmp_path / "chdb"), read_only=True)
    try:
        assert reader.count_events() == 1
        assert reader.data_version() == version
        assert reader.was_closed_cleanly
    finally:
        reader.close()
    again = chdb_store(tmp_path / "chdb")
    try:
        assert again.was_closed_cleanly  # the reader did not mark it otherwise
    finally:
        again.close()
