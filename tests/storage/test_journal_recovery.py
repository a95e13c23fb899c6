"""Journal lines carry a checksum: a corrupt line costs that line only, never the ones after it."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from footfall.settings import Settings
from footfall.storage.journal import Journal, ReplayCounts, pending_entries, read_segment
from tests.conftest import ServerProcess, ingest_then_kill
from tests.storage.rows import event

T0 = dt.datetime(2026, 11, 2, 10, 0)


def _rows(n: int) -> list[tuple[object, ...]]:
    """Two events of entry `n`, told apart by their path."""
    return [event(pathname=f"/e{n}/a", at=T0), event(pathname=f"/e{n}/b", at=T0)]


def _journal(directory: Path, entries: int) -> Path:
    """A closed one-segment journal of `entries` entries; returns the segment."""
    journal = Journal(directory)
    for n in range(1, entries + 1):
        assert journal.append(_rows(n)) == n
    journal.close()
    (segment,) = journal.segments()
    return segment


def _overwrite(segment: Path, line: int, data: bytes, *, at: int | None = None) -> None:
    """Overwrites bytes of a line in place (its middle, unless `at` is given)."""
    lines = segment.read_bytes().split(b"\n")
    start = sum(len(text) + 1 for text in lines[: line - 1])
    offset = start + (len(lines[line - 1]) // 2 if at is None else at)
    with segment.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def _paths(entries: list[tuple[int, list[tuple[object, ...]]]]) -> list[str]:
    return [row[4] for _, rows in entries for row in rows]  # type: ignore[misc]


def _expected(numbers: list[int]) -> list[str]:
    return [f"/e{n}/{half}" for n in numbers for half in ("a", "b")]


def test_a_corrupt_middle_line_loses_that_line_only_and_is_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    segment = _journal(tmp_path, 9)
    _overwrite(segment, 5, b"\x00\xffzz")
    counts = ReplayCounts()
    with caplog.at_level(logging.WARNING, logger="footfall.storage.journal"):
        entries = list(pending_entries(tmp_path, 0, counts=counts))
    assert [seq for seq, _ in entries] == [1, 2, 3, 4, 6, 7, 8, 9]
    assert _paths(entries) == _expected([1, 2, 3, 4, 6, 7, 8, 9])
    assert entries[0][1][0] == event(pathname="/e1/a", at=T0)  # rows come back as written
    assert counts.corrupt_lines == 1 and counts.missing_entries == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert segment.name in warnings[0] and "line 5 " in warnings[0]


def test_a_change_that_leaves_valid_json_is_caught_by_the_checksum(tmp_path: Path) -> None:
    segment = _journal(tmp_path, 3)
    # "/e2/a" becomes "/e2/z": still JSON, still a row, but not what was acknowledged.
    data = segment.read_bytes()
    at = data.index(b"/e2/a") + 4
    with segment.open("r+b") as handle:
        handle.seek(at)
        handle.write(b"z")
    assert _paths(list(read_segment(segment))) == _expected([1, 3])


def test_a_line_whose_newline_was_overwritten_does_not_take_the_next_line(
    tmp_path: Path,
) -> None:
    segment = _journal(tmp_path, 5)
    length = len(segment.read_bytes().split(b"\n")[2])
    _overwrite(segment, 3, b"\x00\x00", at=length - 1)  # its last byte and its newline
    counts = ReplayCounts()
    entries = list(pending_entries(tmp_path, 0, counts=counts))
    assert [seq for seq, _ in entries] == [1, 2, 4, 5]
    assert counts.corrupt_lines == 1


def test_a_torn_last_line_is_ignored_and_not_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    segment = _journal(tmp_path, 3)
    with segment.open("ab") as handle:
        handle.write(segment.read_bytes().split(b"\n")[0][:40])  # died mid-write, no newline
    counts = ReplayCounts()
    with caplog.at_level(logging.WARNING, logger="footfall.storage.journal"):
        entries = list(pending_entries(tmp_path, 0, counts=counts))
    assert [seq for seq, _ in entries] == [1, 2, 3]
    assert counts.corrupt_lines == 0
    assert "ends in an incomplete entry" in caplog.text


def test_a_corrupt_line_the_store_already_applied_is_not_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    segment = _journal(tmp_path, 6)
    _overwrite(segment, 2, b"\xff\xff\xff\xff")
    counts = ReplayCounts()
    with caplog.at_level(logging.WARNING, logger="footfall.storage.journal"):
        entries = list(pending_entries(tmp_path, 3, counts=counts))
    assert [seq for seq, _ in entries] == [4, 5, 6]
    assert counts.corrupt_lines == 0 and caplog.text == ""


def test_entries_missing_past_the_store_position_are_counted(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.set_sequence(10)  # entries 1 to 10 went with segments deleted too early
    journal.append(_rows(11))
    journal.close()
    counts = ReplayCounts()
    assert [seq for seq, _ in pending_entries(tmp_path, 4, counts=counts)] == [11]
    assert counts.missing_entries == 6 and counts.corrupt_lines == 0


def _legacy_line(seq: int, rows: list[tuple[object, ...]]) -> bytes:
    """A line as the release before checksums wrote it."""
    return orjson.dumps(
        {"s": seq, "e": rows}, option=orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE
    )


def test_lines_written_before_checksums_still_replay(tmp_path: Path) -> None:
    # An old segment: its lines start with the JSON's "{"; one of them was cut short by a
    # crash of the old release and is skipped like any corrupt line.
    old = tmp_path / "000000000001.log"
    old.write_bytes(
        _legacy_line(1, _rows(1))
        + _legacy_line(2, _rows(2))[:30]
        + b"\n"
        + _legacy_line(3, _rows(3))
    )
    journal = Journal(tmp_path)  # this release continues in a new segment
    journal.set_sequence(3)
    journal.append(_rows(4))
    journal.close()
    counts = ReplayCounts()
    entries = list(pending_entries(tmp_path, 0, counts=counts))
    assert [seq for seq, _ in entries] == [1, 3, 4]
    assert _paths(entries) == _expected([1, 3, 4])
    assert counts.corrupt_lines == 1
    assert journal.segments()[-1].read_bytes()[:8].isalnum()  # new lines lead with a checksum


@pytest.mark.slow
def test_after_kill_9_a_corrupt_journal_line_loses_only_its_own_events(
    server: ServerProcess, settings: Settings
) -> None:
    # Applies held back: every acknowledged event is in the journal only when the server dies.
    server.env = {"FOOTFALL_APPLY_INTERVAL_MS": "10000", "FOOTFALL_COMMIT_MAX_BATCH": "1000000"}
    server.start()
    acked = ingest_then_kill(server)

    (segment,) = [s for s in (settings.data_dir / "journal").glob("*.log") if s.stat().st_size]
    lines = segment.read_bytes().split(b"\n")[:-1]
    assert len(lines) > 100
    target = len(lines) // 2 + 1  # a line in the middle, by its 1-based number
    text = lines[target - 1]
    in_line = {row[4] for row in orjson.loads(text[text.index(b"{") :])["e"]}
    _overwrite(segment, target, b"\x00\xff\x00\xff")

    server.start()
    metrics = httpx.get(f"{server.url}/metrics").text
    server.stop()
    con = duckdb.connect(str(settings.event_store_path), read_only=True)
    stored = {row[0] for row in con.execute("SELECT pathname FROM events").fetchall()}
    con.close()
    assert set(acked) - stored == in_line & set(acked)
    assert "footfall_journal_corrupt_lines_total 1.0" in metrics
    assert server.log is not None
    warnings = [line for line in server.log.read_text().splitlines() if "is corrupt" in line]
    assert len(warnings) == 1
    assert f"journal {segment.name} line {target} is corrupt" in warnings[0]
