"""`footfall site delete`: asks for the domain on a terminal, `--yes` for scripts, refuses else.

The events of the site go with it (the same path as the admin's page; see
tests/web/pages/test_admin_sites.py for that one, in a serving process).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import duckdb
import pytest

from footfall.meta import db
from footfall.meta.audit import list_entries
from tests.commands import footfall
from tests.conftest import CHROME_UA, FOOTFALL

pytestmark = pytest.mark.slow


def _env(data: Path) -> dict[str, str]:
    # getpass.getuser() reads LOGNAME first: the actor is cli:alice whoever runs the tests.
    return {**os.environ, "FOOTFALL_DATA_DIR": str(data), "LOGNAME": "alice"}


def ff(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a command without a terminal: stdin is a pipe (empty unless given)."""
    return footfall(*args, data_dir=data, env={"LOGNAME": "alice"}, stdin=stdin or "")


def on_a_terminal(data: Path, *args: str, typed: str) -> subprocess.CompletedProcess[str]:
    """Runs a command whose stdin is a terminal (a pseudo-terminal), typing `typed` into it."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [*FOOTFALL, *args],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(data),
            start_new_session=True,
        )
        os.write(controller, typed.encode() + b"\n")
        stdout, stderr = process.communicate(timeout=120)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    finally:
        os.close(controller)
        os.close(terminal)


def _with_events(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    assert ff(data, "site", "add", "example.com").returncode == 0
    assert ff(data, "site", "add", "other.example").returncode == 0
    lines = [
        {
            "timestamp": "2026-11-01T10:00:00Z",
            "name": "pageview",
            "url": f"https://{domain}/",
            "user_agent": CHROME_UA,
            "ip": "203.0.113.5",
        }
        for domain in ("example.com", "other.example")
    ]
    for domain, line in zip(("example.com", "other.example"), lines, strict=True):
        imported = ff(data, "import", "--site", domain, "-", stdin=json.dumps(line) + "\n")
        assert imported.returncode == 0, imported.stderr
    return data


def _events_per_site(data: Path) -> dict[int, int]:
    """How many events the store holds for each site id (read with the store closed)."""
    with duckdb.connect(str(data / "events.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT site_id, count(*) FROM events GROUP BY site_id").fetchall()
    return {int(site_id): int(count) for site_id, count in rows}


def test_typing_the_domain_on_a_terminal_deletes_it(tmp_path: Path) -> None:
    data = _with_events(tmp_path)
    mistyped = on_a_terminal(data, "site", "delete", "example.com", typed="example.org")
    assert mistyped.returncode == 1
    assert mistyped.stderr == "error: the typed domain is not example.com: nothing was deleted\n"
    assert "Type the domain to confirm" in mistyped.stdout
    assert "example.com" in ff(data, "site", "list").stdout

    deleted = on_a_terminal(data, "site", "delete", "WWW.Example.com", typed=" Example.com ")
    assert (deleted.returncode, deleted.stderr) == (0, "")
    assert deleted.stdout.endswith("deleted example.com and its events\n")
    assert ff(data, "site", "list").stdout == "other.example\tUTC\n"
    assert _events_per_site(data) == {2: 1}

    engine = db.create_engine(f"sqlite:///{data / 'meta.sqlite3'}")
    try:
        (entry,) = [e for e in list_entries(engine) if e.action == "site.delete"]
        assert (entry.actor, entry.target) == ("cli:alice", "example.com")
    finally:
        engine.dispose()


def test_scripts_pass_yes_and_anything_else_is_refused(tmp_path: Path) -> None:
    data = _with_events(tmp_path)
    refused = ff(data, "site", "delete", "example.com")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "error: refusing to delete example.com without confirmation: pass --yes to delete it "
        "and all its events\n"
    )
    assert "example.com" in ff(data, "site", "list").stdout
    assert _events_per_site(data) == {1: 1, 2: 1}

    deleted = ff(data, "site", "delete", "example.com", "--yes")
    assert (deleted.returncode, deleted.stdout) == (0, "deleted example.com and its events\n")
    assert _events_per_site(data) == {2: 1}

    unknown = ff(data, "site", "delete", "nope.example", "--yes")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "error: no site nope.example: add it with 'footfall site add nope.example'\n",
    )
    assert ff(data, "site", "delete", "nope.example").returncode == 1  # unknown before asking
    missing = ff(data, "site", "delete")
    assert missing.returncode == 2 and "Missing argument 'DOMAIN'" in missing.stderr
    assert ff(data, "site", "delete", "x", "--force").returncode == 2
    assert "--yes" in ff(data, "site", "delete", "--help").stdout
