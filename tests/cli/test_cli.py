from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from footfall.meta.db import head_revision
from footfall.settings import Settings
from footfall.storage.duckdb.store import DuckDBEventStore
from tests.commands import footfall, footfall_process
from tests.conftest import FOOTFALL

pytestmark = pytest.mark.slow


def ff(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return footfall(*args, data_dir=data_dir, env=env, stdin=stdin)


def test_sites_keys_and_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert ff(data, "site", "add", "example.com", "--timezone", "Europe/Berlin").returncode == 0
    listed = ff(data, "site", "list")
    assert listed.stdout == "example.com\tEurope/Berlin\n"
    duplicate = ff(data, "site", "add", "example.com")
    assert duplicate.returncode == 1
    assert duplicate.stderr == "error: site example.com already exists\n"
    assert ff(data, "site", "add", "bad domain").returncode == 1
    assert ff(data, "nosuchcommand").returncode == 2
    assert ff(data, "site", "add").returncode == 2

    created = ff(
        data,
        "key",
        "create",
        "--name",
        "ci",
        "--scope",
        "stats:read",
        "--scope",
        "events:import",
        "--expires-days",
        "30",
    )
    assert created.returncode == 0
    secret = created.stdout.splitlines()[-1]
    assert secret.startswith("ff_") and " " not in secret
    listed_keys = ff(data, "key", "list").stdout
    assert "ci\t" in listed_keys and "active" in listed_keys and secret not in listed_keys
    assert ff(data, "key", "create", "--name", "x", "--scope", "root").returncode == 1
    assert ff(data, "key", "revoke", "ci").stdout == "revoked ci\n"
    assert "revoked" in ff(data, "key", "list").stdout
    assert ff(data, "key", "revoke", "nope").returncode == 1

    deleted = ff(data, "site", "delete", "example.com", "--yes")
    assert deleted.returncode == 0 and ff(data, "site", "list").stdout == ""
    assert ff(data, "site", "delete", "example.com", "--yes").returncode == 1


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in (
        ["serve"],
        ["site", "add"],
        ["site", "list"],
        ["site", "delete"],
        ["key", "create"],
        ["key", "list"],
        ["key", "revoke"],
        ["import"],
        ["migrate"],
        ["settings"],
    ):
        result = ff(tmp_path, *command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, command


def test_settings_are_listed_with_secrets_redacted(tmp_path: Path) -> None:
    url = "postgresql+psycopg://footfall:s3cret-pw@localhost/footfall"
    result = ff(tmp_path, "settings", env={"FOOTFALL_DATABASE_URL": url})
    assert result.returncode == 0
    assert "FOOTFALL_DATABASE_URL=********" in result.stdout
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "FOOTFALL_PORT=8000" in result.stdout
    bad = ff(tmp_path, "settings", env={"FOOTFALL_PORT": "high"})
    assert bad.returncode == 1 and bad.stderr.startswith("error: FOOTFALL_PORT:")
    assert len(bad.stderr.splitlines()) == 1


def test_migrate_reports_revision(tmp_path: Path, meta_url: str) -> None:
    # SQLite in its default place in the data directory, or the PostgreSQL database.
    env = {} if meta_url.startswith("sqlite") else {"FOOTFALL_DATABASE_URL": meta_url}
    result = ff(tmp_path / "d", "migrate", env=env)
    assert result.returncode == 0 and f"revision {head_revision()}" in result.stdout
    down = ff(tmp_path / "d", "migrate", "--revision", "base", env=env)
    assert down.returncode == 0 and "revision base" in down.stdout


def test_busy_event_store_is_a_clear_error(settings: Settings) -> None:
    store = DuckDBEventStore(settings.event_store_path)
    try:
        # A second process: DuckDB's lock on the file is held per process.
        result = subprocess.run(
            [*FOOTFALL, "import", "--site", "example.com", "-"],
            capture_output=True,
            text=True,
            input="",
            timeout=120,
            check=False,
            env={**os.environ, "FOOTFALL_DATA_DIR": str(settings.data_dir)},
        )
    finally:
        store.close()
    assert result.returncode == 1
    assert "in use by another footfall process" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_metadata_database_is_one_line(tmp_path: Path) -> None:
    result = ff(
        tmp_path,
        "site",
        "list",
        env={"FOOTFALL_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/none"},
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["site", "list"],
        ["key", "list"],
        ["goal", "list", "--site", "example.com"],
        ["user", "list"],
    ],
)
def test_metadata_commands_load_neither_the_event_store_nor_the_migration_tooling(
    settings: Settings, command: list[str]
) -> None:
    # What a command imports is most of its start-up time: these need only the metadata store,
    # already at the newest revision (the `settings` fixture migrated it).
    result = footfall_process(
        *command, data_dir=settings.data_dir, python_flags=("-X", "importtime")
    )
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert imported & {"footfall.meta.sites", "sqlalchemy"}  # the report is read right
    heavy = {"alembic", "duckdb", "pyarrow", "footfall.services", "footfall.ingest", "httpx"}
    assert not imported & heavy
