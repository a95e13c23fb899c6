"""Reading NDJSON for bulk import: exact line numbers, and the fast reader agrees with the
careful parser on every block it takes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.ingest.bulk.lines import parse_block
from footfall.ingest.bulk.reading import read_ndjson

GOOD = {"timestamp": "2026-11-01T10:00:00Z", "name": "pageview", "url": "https://example.com/"}


def _line(**fields: Any) -> bytes:
    return json.dumps({**GOOD, **fields}).encode()


def _read(tmp_path: Path, data: bytes, block_bytes: int = 1 << 20) -> tuple[list[int], Any]:
    path = tmp_path / "lines.ndjson"
    path.write_bytes(data)
    result = read_ndjson(path, block_bytes=block_bytes)
    return result.table["line"].to_pylist(), result


def test_a_clean_file_is_read_fast_with_its_line_numbers(tmp_path: Path) -> None:
    data = b"\n".join(_line(url=f"https://example.com/{n}") for n in range(1, 1001)) + b"\n"
    for block in (1 << 20, 4096, 100):  # one block, several, one line each
        lines, result = _read(tmp_path, data, block)
        assert result.fast and result.lines == 1000 and not result.rejected
        assert lines == list(range(1, 1001))
        assert result.table["url"][999].as_py() == "https://example.com/1000"


def test_messy_lines_keep_their_numbers(tmp_path: Path) -> None:
    messy = [
        _line(name="first"),  # 1
        b"",  # 2: blank, skipped and not counted
        b"   ",  # 3: spaces only, the same
        b"null",  # 4: JSON, not an object
        b"[1, 2]",  # 5
        b"not json",  # 6
        _line(name="crlf") + b"\r",  # 7: a Windows line end
        b'{"name": "a\x01b"}',  # 8: a raw control character inside a string
        b'{"name": "bad \xff byte", "url": "u"}',  # 9: invalid UTF-8, read with U+FFFD
        b'{"timestamp": NaN}',  # 10: not strict JSON
        _line(name=404),  # 11: a number where text is expected
        b'{"name": "a", "name": "b", "url": "u"}',  # 12: a repeated key: the last one counts
        b"\t",  # 13: a tab is not blank
        b'  {"name": "indented"}',  # 14: JSON may start with spaces
        _line(name="last"),  # 15, without a final newline
    ]
    data = b"\n".join(messy)
    for block in (1 << 20, 64, 1):
        lines, result = _read(tmp_path, data, block)
        assert result.lines == 13
        assert sorted(result.rejected) == [4, 5, 6, 8, 10, 13]
        assert lines == [1, 7, 9, 11, 12, 14, 15]
        names = dict(zip(lines, result.table["name"].to_pylist(), strict=True))
        assert names[7] == "crlf" and names[11] == "404" and names[12] == "b"
        assert names[9] == "bad \ufffd byte" and names[14] == "indented"


def test_a_leading_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    lines, result = _read(tmp_path, b"\xef\xbb\xbf" + _line() + b"\n" + _line() + b"\n")
    assert lines == [1, 2] and result.fast and not result.rejected


def test_values_of_other_types_are_read_as_their_json_text(tmp_path: Path) -> None:
    data = b"\n".join(
        [
            _line(name=404, visitor_id=10**22, props='{"plan": "pro"}'),
            _line(name=True, ip=1.5, props={"n": 1, "nested": {"x": 1}, "skip": None}),
            _line(name={"a": [1, None]}, props=[1, 2]),
            _line(props={"a": "b"}),
        ]
    )
    lines, result = _read(tmp_path, data)
    assert result.fast and lines == [1, 2, 3, 4]  # set aside and decoded one by one
    rows = result.table.to_pylist()
    assert [r["name"] for r in rows] == ["404", "true", '{"a":[1,null]}', "pageview"]
    assert rows[0]["visitor_id"] == "10000000000000000000000" and rows[1]["ip"] == "1.5"
    assert [r["props"] for r in rows] == [
        '"{\\"plan\\": \\"pro\\"}"',
        '{"n":1,"skip":null}',
        None,
        '{"a":"b"}',
    ]


def test_a_line_longer_than_a_block(tmp_path: Path) -> None:
    long = _line(url="https://example.com/" + "a" * 5000)
    lines, result = _read(tmp_path, _line() + b"\n" + long + b"\n" + _line() + b"\n", 1000)
    assert lines == [1, 2, 3] and len(result.table["url"][1].as_py()) == 5020


def test_an_empty_file(tmp_path: Path) -> None:
    lines, result = _read(tmp_path, b"")
    assert lines == [] and result.lines == 0 and not result.rejected


# -- the fast reader against the careful parser ----------------------------------------------

_PIECES = [
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b":",
    b",",
    b"\\",
    b"null",
    b"true",
    b"0",
    b"-1e5",
    b" ",
    b"\t",
    b"\r",
    b"\x00",
    b"\x1f",
    b"\xc3\xa9",
    b"\xff",
    b"\\u0000",
    b"\\ud800",
    b"\\u0070",
    b"1e999",
    b"NaN",
    b"Inf",
    b"-Infinity",
    b'"props"',
    b'"name"',
    b'"interactive"',
]
_BASES = [
    _line(referrer="https://x.example/", user_agent="Mozilla", ip="1.2.3.4", props={"a": "b"}),
    _line(name=404, visitor_id="v", props='{"x": 1}', extra=[1, {"a": None}], interactive=False),
    b'{"name":"p","url":"u","props":{"k":{"deep":[1]},"z":null},"interactive":true}',
]


@st.composite
def _blocks(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        line = bytearray(draw(st.sampled_from(_BASES)))
        for _ in range(draw(st.integers(0, 3))):
            at = draw(st.integers(0, len(line)))
            if draw(st.booleans()):
                line[at:at] = draw(st.sampled_from(_PIECES))
            else:
                del line[at : at + draw(st.integers(1, 4))]
        lines.append(bytes(line).replace(b"\n", b" "))
    return b"\n".join(lines) + draw(st.sampled_from([b"\n", b""]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_blocks())
def test_the_fast_reader_agrees_with_the_careful_parser(data: bytes) -> None:
    careful = parse_block(data, 1)
    with tempfile.TemporaryDirectory() as tmp:
        lines, result = _read(Path(tmp), data)
    assert result.table.to_pylist() == careful.table.to_pylist()
    assert sorted(result.rejected) == careful.rejected
    assert result.lines == careful.counted
    assert lines == careful.table["line"].to_pylist()
