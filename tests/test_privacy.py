"""No raw IP address or User-Agent string ever reaches the disk.

A real `footfall serve` process receives pageviews over HTTP from visitors with distinctive IPs
and a distinctive User-Agent; afterwards every byte under the data directory is scanned. The
events must be stored (visitor ids are salted hashes), the raw identifiers must not be.
"""

from __future__ import annotations

import signal
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from footfall.settings import Settings
from tests.conftest import ServerProcess

PROBE = "PrivacyProbe/9.9"
PROBE_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    f"Chrome/124.0.0.0 Safari/537.36 {PROBE}"
)
IPS = ["203.0.113.77", "2001:db8::1234", "81.2.69.142"]
# How each address reaches the server: the headers Plausible resolves (§1.2).
IP_HEADERS = ["x-forwarded-for", "x-plausible-ip", "cf-connecting-ip"]
EVENTS = 51
NEEDLES = [*IPS, PROBE_UA, "PrivacyProbe"]

pytestmark = pytest.mark.slow


def _send_pageviews(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for i in range(EVENTS):
            ip = IPS[i % len(IPS)]
            header = IP_HEADERS[(i // len(IPS)) % len(IP_HEADERS)]
            value = f"{ip}, 10.1.2.3" if header == "x-forwarded-for" else ip
            response = http.post(
                "/api/event",
                content=orjson.dumps(
                    {
                        "n": "pageview",
                        "u": f"https://example.com/page/{i}",
                        "d": "example.com",
                        "r": "https://news.ycombinator.com/",
                    }
                ),
                headers={"content-type": "text/plain", "user-agent": PROBE_UA, header: value},
            )
            assert response.status_code == 202, response.text
            assert "x-plausible-dropped" not in response.headers


def _leaks(data_dir: Path) -> list[str]:
    """Every (file, needle) pair where a raw identifier appears, in any of its encodings."""
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert files, f"nothing under {data_dir}"
    found = []
    for path in files:
        content = path.read_bytes()
        for needle in NEEDLES:
            for encoded in (needle.encode(), needle.encode("utf-16-le")):
                if encoded in content:
                    found.append(f"{path.relative_to(data_dir)}: {needle!r}")
    return found


def _visible_on_disk(data_dir: Path, text: str) -> bool:
    return any(text.encode() in path.read_bytes() for path in data_dir.rglob("*") if path.is_file())


def _leaks_in_database(settings: Settings) -> list[str]:
    """The same search through SQL, in every text column of every table, in case the storage
    format compresses strings so that a byte scan could miss them."""
    con = duckdb.connect(str(settings.event_store_path), read_only=True)
    found = []
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'VARCHAR[]')"
        ).fetchall()
        assert ("events", "referrer") in columns
        for table, column in columns:
            text = f'CAST("{column}" AS VARCHAR)'
            for needle in NEEDLES:
                hits = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE contains({text}, ?)', [needle]
                ).fetchone()
                if hits and hits[0]:
                    found.append(f"{table}.{column}: {needle!r}")
    finally:
        con.close()
    return found


def _stored(settings: Settings) -> tuple[int, int, int]:
    con = duckdb.connect(str(settings.event_store_path), read_only=True)
    try:
        events = con.execute("SELECT count(*) FROM events").fetchone()
        visitors = con.execute("SELECT count(DISTINCT visitor_id) FROM events").fetchone()
        sessions = con.execute("SELECT count(*) FROM sessions").fetchone()
    finally:
        con.close()
    assert events and visitors and sessions
    return int(events[0]), int(visitors[0]), int(sessions[0])


def test_no_raw_ip_or_user_agent_on_disk_after_clean_shutdown(
    server: ServerProcess, settings: Settings
) -> None:
    server.start()
    _send_pageviews(server)
    server.stop()  # SIGTERM: flushes the writer and checkpoints the store

    assert _leaks(settings.data_dir) == []
    assert _leaks_in_database(settings) == []
    # Control: stored text is visible to the byte scan (so a stored IP would be too).
    assert _visible_on_disk(settings.data_dir, "news.ycombinator.com")
    # The data did get stored, one visitor (and session) per address.
    assert _stored(settings) == (EVENTS, len(IPS), len(IPS))
    # The server's own log (outside the data dir) does not record them either.
    assert server.log is not None
    log = server.log.read_text(errors="replace")
    assert not [needle for needle in NEEDLES if needle in log]


def test_no_raw_ip_or_user_agent_on_disk_after_sigkill(
    server: ServerProcess, settings: Settings
) -> None:
    server.start()
    _send_pageviews(server)
    server.kill(signal.SIGKILL)  # no flush, no checkpoint: whatever was durable is left as is

    assert _leaks(settings.data_dir) == []
    # Control: the acknowledged events are somewhere in these files.
    assert _visible_on_disk(settings.data_dir, "news.ycombinator.com")

    # Restart (recovers what was acknowledged but not yet in the store), stop, scan again.
    server.start()
    server.stop()
    assert _leaks(settings.data_dir) == []
    assert _leaks_in_database(settings) == []
    # Every acknowledged (202) event survived the kill.
    assert _stored(settings) == (EVENTS, len(IPS), len(IPS))
