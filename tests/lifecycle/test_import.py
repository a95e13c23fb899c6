from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.storage.schema import EVENT_COLUMNS, SESSION_COLUMNS
from tests.commands import footfall
from tests.conftest import CHROME_UA

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)

# (seconds after T0, user agent, ip, name, url, referrer, props)
TRAFFIC: list[tuple[int, str, str, str, str, str | None, dict[str, Any] | None]] = [
    (
        0,
        CHROME_UA,
        "81.2.69.142",
        "pageview",
        "https://example.com/?utm_source=newsletter&utm_medium=email",
        "https://news.ycombinator.com/item?id=1",
        None,
    ),
    (
        60,
        IPHONE_UA,
        "8.8.8.8",
        "pageview",
        "https://www.example.com/blog/",
        "https://www.google.com/",
        None,
    ),
    (
        300,
        CHROME_UA,
        "81.2.69.142",
        "pageview",
        "https://example.com/pricing",
        "https://www.bing.com/",
        None,
    ),
    (
        360,
        CHROME_UA,
        "81.2.69.142",
        "Signup",
        "https://example.com/pricing",
        None,
        {"plan": "pro", "n": 3},
    ),
    (400, IPHONE_UA, "8.8.8.8", "Scroll", "https://example.com/blog/", None, None),
    (2400, CHROME_UA, "81.2.69.142", "pageview", "https://example.com/docs", None, None),
    (
        2500,
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "66.249.66.1",
        "pageview",
        "https://example.com/",
        None,
        None,
    ),
]


def _ndjson(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def _import_lines() -> list[dict[str, Any]]:
    lines = []
    for offset, ua, ip, name, url, referrer, props in TRAFFIC:
        line: dict[str, Any] = {
            "timestamp": (T0 + dt.timedelta(seconds=offset)).isoformat().replace("+00:00", "Z"),
            "name": name,
            "url": url,
            "user_agent": ua,
            "ip": ip,
        }
        if referrer:
            line["referrer"] = referrer
        if props:
            line["props"] = props
        if name == "Scroll":
            line["interactive"] = False
        lines.append(line)
    return lines


def _rows(store: Any, table: str, columns: tuple[str, ...], site_id: int) -> list[dict[str, Any]]:
    skip = {"site_id", "visitor_id", "visitor", "session_id"}
    with store.cursor() as cur:
        order = "timestamp, pathname, name" if table == "events" else "start, entry_page"
        result = cur.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE site_id = ? ORDER BY {order}",
            [site_id],
        ).fetchall()
    return [{c: v for c, v in zip(columns, row, strict=True) if c not in skip} for row in result]


def test_import_and_live_ingest_store_the_same_events_and_sessions(
    settings: Settings, clock: FixedClock, import_key: str
) -> None:
    other = add_site(open_meta(settings), domain="other.example")
    clock.set(T0)
    with TestClient(create_app_for(settings, clock)) as client:
        for offset, ua, ip, name, url, referrer, props in TRAFFIC:
            clock.set(T0 + dt.timedelta(seconds=offset))
            body: dict[str, Any] = {"n": name, "u": url, "d": "example.com", "r": referrer}
            if props:
                body["p"] = props
            if name == "Scroll":
                body["i"] = False
            response = client.post(
                "/api/event",
                content=json.dumps(body),
                headers={"user-agent": ua, "x-forwarded-for": ip, "content-type": "text/plain"},
            )
            assert response.status_code == 202
        response = client.post(
            "/api/import?site_id=other.example",
            content=_ndjson(_import_lines()),
            headers={"authorization": f"Bearer {import_key}"},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "lines": 7,
            "stored": 6,
            "sessions": 3,
            "dropped": 1,
            "rejected": 0,
            "errors": [],
        }
        assert client.app.state.footfall.writer.flush_sessions()
        store = client.app.state.footfall.store
        live_events = _rows(store, "events", EVENT_COLUMNS, 1)
        imported_events = _rows(store, "events", EVENT_COLUMNS, other.id)
        live_sessions = _rows(store, "sessions", SESSION_COLUMNS, 1)
        imported_sessions = _rows(store, "sessions", SESSION_COLUMNS, other.id)
        # The ids must be the live function's, under the same salt, for the imported site's
        # domain (tests/ingest/test_bulk_visitors.py checks every kind of identity).
        from footfall.ingest.visitor import visitor_id

        with store.cursor() as cur:
            stored_id = cur.execute(
                "SELECT visitor_id FROM events WHERE site_id = ? AND pathname = '/blog/'",
                [other.id],
            ).fetchone()
        salt = client.app.state.footfall.salts.ring(clock.now()).current
        expected = visitor_id(
            salt,
            user_agent=IPHONE_UA,
            ip="8.8.8.8",
            domain="other.example",
            root_domain="example.com",
        )
        assert stored_id == (expected,)
    assert len(live_events) == 6 and len(live_sessions) == 3
    assert imported_events == live_events
    assert imported_sessions == live_sessions
    first = live_sessions[0]
    assert (first["referrer_source"], first["utm_medium"], first["channel"]) == (
        "newsletter",
        "email",
        "Email",
    )
    assert first["country"] == "GB" and first["browser"] == "Chrome"
    assert (first["pageviews"], first["events"], first["is_bounce"]) == (2, 3, False)
    assert (first["entry_page"], first["exit_page"], first["duration"]) == ("/", "/pricing", 360)
    blog = next(s for s in live_sessions if s["entry_page"] == "/blog/")
    assert blog["is_bounce"] and blog["device"] == "Mobile" and blog["referrer_source"] == "Google"
    signup = next(e for e in live_events if e["name"] == "Signup")
    assert (signup["props_keys"], signup["props_values"]) == (["plan", "n"], ["pro", "3"])


def create_app_for(settings: Settings, clock: FixedClock) -> Any:
    from footfall.web.app import create_app

    return create_app(settings, clock=clock)


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return footfall(*args, stdin=stdin)


@pytest.mark.slow
def test_cli_import_reports_bad_lines_by_number_and_keeps_good_ones(
    settings: Settings, tmp_path: Path
) -> None:
    good = {
        "timestamp": "2026-11-01T10:00:00Z",
        "name": "pageview",
        "url": "https://example.com/a",
        "visitor_id": "v1",
    }
    lines = [
        json.dumps(good),
        "not json",
        "",
        json.dumps({**good, "timestamp": "yesterday"}),
        json.dumps({**good, "name": ""}),
        json.dumps({k: v for k, v in good.items() if k != "url"}),
        json.dumps({**good, "url": "data:text/plain,hi"}),
        json.dumps({**good, "props": {"k" * 301: "v"}}),
        json.dumps([1, 2]),
        json.dumps({**good, "timestamp": "2026-11-01T12:00:00+02:00", "visitor_id": "v2"}),
        json.dumps({**good, "name": "x" * 121}),
        json.dumps({**good, "timestamp": "9999-12-31T00:00:00Z"}),
    ]
    path = tmp_path / "history.ndjson"
    path.write_text("\n".join(lines) + "\n")
    result = _run(
        "import", "--site", "example.com", str(path), "--data-dir", str(settings.data_dir)
    )
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert "line 2: not a JSON object" in errors
    assert "line 4: timestamp is not an ISO-8601 date-time" in errors
    assert "line 5: name is required" in errors
    assert "line 6: url is required" in errors
    assert "line 7: url scheme is not allowed" in errors
    assert any(e.startswith("line 8: props: keys should have at most 300 bytes") for e in errors)
    assert "line 9: not a JSON object" in errors
    assert "line 11: name should be at most 120 characters" in errors
    assert "line 12: timestamp is more than a day in the future" in errors
    assert "imported 2 events in 2 visits from 11 lines" in result.stdout
    con = duckdb.connect(str(settings.event_store_path), read_only=True)
    stamps = [row[0] for row in con.execute("SELECT timestamp FROM events ORDER BY 1").fetchall()]
    con.close()
    assert stamps == [dt.datetime(2026, 11, 1, 10, 0), dt.datetime(2026, 11, 1, 10, 0)]


@pytest.mark.slow
def test_cli_import_from_stdin_and_unknown_site(settings: Settings) -> None:
    line = json.dumps(
        {
            "timestamp": "2026-11-01T10:00:00Z",
            "name": "pageview",
            "url": "https://example.com/",
            "visitor_id": "v",
        }
    )
    ok = _run(
        "import",
        "--site",
        "example.com",
        "-",
        "--data-dir",
        str(settings.data_dir),
        stdin=line + "\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "imported 1 event in 1 visit from 1 line " in ok.stdout
    missing = _run(
        "import", "--site", "nope.example", "-", "--data-dir", str(settings.data_dir), stdin=line
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "error: no site nope.example: add it with 'footfall site add nope.example'"
    )


def test_import_api_auth_and_errors(
    client: TestClient, import_key: str, settings: Settings
) -> None:
    from footfall.meta.keys import create_key

    body = json.dumps(
        {
            "timestamp": "2026-11-01T10:00:00Z",
            "name": "pageview",
            "url": "https://example.com/",
            "visitor_id": "v",
        }
    )
    url = "/api/import?site_id=example.com"
    assert client.post(url, content=body).json() == {
        "error": ("Missing API key. Please use a valid Plausible API key as a Bearer Token.")
    }
    bad = client.post(url, content=body, headers={"authorization": "Bearer nope"})
    assert bad.status_code == 401 and "Invalid API key or site ID" in bad.json()["error"]
    _, reader = create_key(open_meta(settings), name="reader", scopes=("stats:read",))
    assert (
        client.post(url, content=body, headers={"authorization": f"Bearer {reader}"}).status_code
        == 403
    )
    auth = {"authorization": f"Bearer {import_key}"}
    assert client.post("/api/import", content=body, headers=auth).status_code == 400
    assert (
        client.post("/api/import?site_id=nope.example", content=body, headers=auth).status_code
        == 401
    )
    only_bad = client.post(url, content="garbage\n", headers=auth)
    assert only_bad.status_code == 400
    assert only_bad.json()["errors"] == [{"line": 1, "error": "not a JSON object"}]
    good = client.post(url, content=body, headers=auth)
    assert good.status_code == 200 and good.json()["stored"] == 1


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "footfall", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0 and "import" in result.stdout


def _import_file(settings: Settings, domain: str, path: Path) -> Any:
    from footfall.lifecycle.importing import import_ndjson
    from footfall.meta.sites import get_site
    from footfall.services import Services

    services = Services.open(settings)
    try:
        report = import_ndjson(services, site=get_site(services.meta, domain), path=path)
        with services.store.cursor() as cur:
            site_id = get_site(services.meta, domain).id
            rows = cur.execute(
                "SELECT timestamp, name, pathname, props_keys, props_values, interactive, "
                "referrer_source, browser FROM events WHERE site_id = ? "
                "ORDER BY timestamp, pathname, name",
                [site_id],
            ).fetchall()
    finally:
        services.close()
    return report, rows


def test_line_numbers_stay_exact_in_a_large_file(settings: Settings, tmp_path: Path) -> None:
    """The whole-file reader is parallel; the reported numbers must still be the file's."""
    path = tmp_path / "big.ndjson"
    bad = set(range(997, 150_000, 997))
    with path.open("w") as handle:
        for n in range(1, 150_001):
            stamp = "bad" if n in bad else f"2026-11-01T{n % 24:02d}:00:00Z"
            handle.write(
                f'{{"timestamp":"{stamp}","name":"pageview","url":"https://example.com/{n}",'
                f'"visitor_id":"v{n % 5000}"}}\n'
            )
    report, _ = _import_file(settings, "example.com", path)
    assert report.reader == "whole-file"
    assert report.lines == 150_000 and report.rejected == len(bad)
    assert [n for n, _ in report.errors] == sorted(bad)


def test_both_readers_store_the_same_events(settings: Settings, tmp_path: Path) -> None:
    """A clean file takes the whole-file reader; a blank line sends the same content line by
    line. Awkward but valid values must come out the same either way."""
    add_site(open_meta(settings), domain="other.example")
    lines = [
        {
            "timestamp": "2026-11-01T10:00:00Z",
            "name": 404,
            "url": "https://example.com/x",
            "visitor_id": "a",
            "props": {"n": 1, "ok": True, "skip": None},
        },
        {
            "timestamp": "2026-11-01T10:00:01+02:00",
            "name": "Signup",
            "url": "https://example.com/",
            "visitor_id": "a",
            "props": '{"plan": "pro"}',
            "interactive": False,
        },
        {
            "timestamp": "2026-11-01T10:00:02Z",
            "name": "pageview",
            "url": "https://example.com/é",
            "user_agent": CHROME_UA,
            "ip": "81.2.69.142",
            "referrer": "https://www.google.com/",
            "extra": {"ignored": [1, 2]},
        },
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    clean = tmp_path / "clean.ndjson"
    clean.write_text(text)
    gappy = tmp_path / "gappy.ndjson"
    gappy.write_text(text.replace("\n", "\n\n", 1))
    fast_report, fast_rows = _import_file(settings, "example.com", clean)
    slow_report, slow_rows = _import_file(settings, "other.example", gappy)
    assert (fast_report.reader, slow_report.reader) == ("whole-file", "line-by-line")
    assert (fast_report.stored, slow_report.stored) == (3, 3)
    assert fast_rows == slow_rows
    not_found = next(row for row in fast_rows if row[1] == "404")
    assert not_found[3:5] == (["n", "ok"], ["1", "true"])


def test_a_line_that_breaks_the_whole_file_reader_falls_back(
    settings: Settings, tmp_path: Path
) -> None:
    """Found by the fuzz test: the reader's own error message can fail to decode."""
    path = tmp_path / "odd.ndjson"
    odd = json.dumps(
        {
            "timestamp": "2026-11-01T12:00:00Z",
            "name": "pageview",
            "interactive": {"": None, "\x1f\x80\x80\U00010000": None, "00\x1f\x1f\x80\u0800": None},
        },
        ensure_ascii=False,
    )
    path.write_text(odd + "\n", encoding="utf-8")
    report, _ = _import_file(settings, "example.com", path)
    assert report.reader == "line-by-line"
    assert (report.lines, report.stored + report.dropped + report.rejected) == (1, 1)
