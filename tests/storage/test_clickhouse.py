"""What only the ClickHouse store does: versioned sessions, batch ids, migrations, locks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.errors import StoreError
from tests.clickhouse_http import clickhouse_http
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
