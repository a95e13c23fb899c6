"""Backup and restore through the commands: same answers after, salts never copied, damaged
archives refused, older backups migrated forward, no partial archive on a full disk."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from footfall.lifecycle import archive
from footfall.meta import db
from footfall.meta.audit import list_entries
from footfall.meta.goals import add_goal, list_goals
from footfall.meta.keys import list_keys
from footfall.meta.sites import add_site, list_sites
from footfall.services import Services, open_meta
from footfall.settings import Settings, load_settings
from footfall.storage.duckdb import snapshots
from footfall.storage.duckdb.store import SCHEMA_VERSION
from tests.commands import footfall
from tests.lifecycle.helpers import DOMAIN, answers, seeded
from tests.lifecycle.old_versions import write_v1_store
from tests.services import fresh_postgres_database, unavailable
from tests.web.test_disk_full import _fill, small_disk  # noqa: F401


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return footfall(*args)


def _ok(*args: str) -> str:
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    tmp = tmp_path_factory.mktemp("original")
    settings, key = seeded(tmp / "data", tmp)
    meta = open_meta(settings)
    add_goal(meta, list_sites(meta)[0].id, event_name="Signup")
    meta.dispose()
    return settings, key


@pytest.fixture(scope="module")
def backup_file(original: tuple[Settings, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings, _ = original
    target = tmp_path_factory.mktemp("backups") / "b.tar"
    out = _ok("backup", str(target), "--data-dir", str(settings.data_dir))
    assert f"backup written to {target}" in out
    return target


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def test_a_restored_backup_answers_the_same(
    original: tuple[Settings, str], backup_file: Path, tmp_path: Path
) -> None:
    settings, key = original
    target = tmp_path / "restored"
    out = _ok("restore", str(backup_file), "--data-dir", str(target))
    assert f"{DOMAIN}\t" in out
    restored = load_settings({"data_dir": target}, environ={})
    assert answers(restored, key) == answers(settings, key)
    meta = open_meta(restored)
    try:
        assert [s.domain for s in list_sites(meta)] == [DOMAIN]
        assert [g.display_name for g in list_goals(meta, list_sites(meta)[0].id)] == ["Signup"]
        assert [k.name for k in list_keys(meta)] == ["reader"]
        assert list_entries(meta, action="backup.restore")
        with sa.create_engine(restored.metadata_url).connect() as conn:
            new_salts = conn.execute(sa.text("SELECT salt FROM salts")).scalars().all()
    finally:
        meta.dispose()
    with sa.create_engine(settings.metadata_url).connect() as conn:
        old_salts = conn.execute(sa.text("SELECT salt FROM salts")).scalars().all()
    # A restored footfall makes a salt of its own: none of the original's came along.
    assert new_salts and not set(new_salts) & set(old_salts)


def test_the_archive_has_a_manifest_first_and_no_salts(
    original: tuple[Settings, str], backup_file: Path, tmp_path: Path
) -> None:
    with tarfile.open(backup_file) as tar:
        names = tar.getnames()
    assert names[0] == "manifest.json"
    members = _members(backup_file)
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "footfall-backup" and manifest["format_version"] == 1
    assert manifest["event_store"]["backend"] == "duckdb"
    assert manifest["event_store"]["schema_version"] == SCHEMA_VERSION
    assert manifest["metadata"] == {
        "database": "sqlite",
        "revision": db.head_revision(),
        "file": "meta.sqlite3",
        "salts": "excluded",
    }
    assert manifest["sites"][0]["domain"] == DOMAIN and manifest["sites"][0]["events"] > 2000
    assert sorted(item["name"] for item in manifest["files"]) == sorted(names[1:])
    assert backup_file.stat().st_size == archive.archive_size(manifest)
    copy = tmp_path / "meta.sqlite3"
    copy.write_bytes(members["meta/meta.sqlite3"])
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM salts").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM sites").fetchone() == (1,)
    # The backup itself is in the audit log (after the copy, so not inside it).
    meta = open_meta(original[0])
    try:
        assert list_entries(meta, action="backup.create")[0].actor.startswith("cli")
    finally:
        meta.dispose()


def _rewrite(source: Path, target: Path, change: Any) -> Path:
    """Copies an archive member by member, letting `change(name, data)` alter each."""
    with tarfile.open(source) as tar, tarfile.open(target, "w", format=tarfile.USTAR_FORMAT) as out:
        for member in tar:
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return target


def _flip(name: str, data: bytes) -> bytes:
    if name == "events/events.parquet":
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    return data


def _newer(name: str, data: bytes) -> bytes:
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["format_version"] = 99
        return json.dumps(manifest).encode()
    return data


def _newer_schema(name: str, data: bytes) -> bytes:
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["metadata"]["revision"] = "9999"
        return json.dumps(manifest).encode()
    return data


def _drop_meta(name: str, data: bytes) -> bytes | None:
    return None if name.startswith("meta/") else data


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_flip, "events/events.parquet in the backup is damaged: its SHA-256 does not match"),
        (_newer, "format version 99, made by a newer footfall"),
        (_newer_schema, "schema revision 9999, which this footfall does not know"),
        (_drop_meta, "the backup is incomplete: meta/meta.sqlite3 missing"),
    ],
)
def test_a_damaged_or_foreign_archive_is_refused(
    backup_file: Path, tmp_path: Path, change: Any, says: str
) -> None:
    bad = _rewrite(backup_file, tmp_path / "bad.tar", change)
    target = tmp_path / "restored"
    done = _run("restore", str(bad), "--data-dir", str(target))
    assert done.returncode == 1
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()  # nothing restored, not even the directory


def test_a_cut_short_archive_or_another_file_is_refused(backup_file: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.tar"
    short.write_bytes(backup_file.read_bytes()[: backup_file.stat().st_size // 2])
    done = _run("restore", str(short), "--data-dir", str(tmp_path / "a"))
    assert done.returncode == 1 and "cut short" in done.stderr, done.stderr
    other = tmp_path / "other.tar"
    other.write_bytes(b"hello\n" * 100)
    done = _run("restore", str(other), "--data-dir", str(tmp_path / "b"))
    assert done.returncode == 1 and "not a footfall backup" in done.stderr, done.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_data_directory_in_use_or_not_empty_needs_force(
    original: tuple[Settings, str], backup_file: Path, tmp_path: Path
) -> None:
    settings, key = original
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    done = _run("restore", str(backup_file), "--data-dir", str(target))
    assert done.returncode == 1 and "is not empty" in done.stderr and "--force" in done.stderr
    # --force replaces footfall's files and leaves others alone.
    seeded_again = load_settings({"data_dir": target}, environ={})
    add_site(open_meta(seeded_again), domain="other.example")
    _ok("restore", str(backup_file), "--data-dir", str(target), "--force")
    assert (target / "notes.txt").read_text() == "mine"
    meta = open_meta(seeded_again)
    try:
        assert [s.domain for s in list_sites(meta)] == [DOMAIN]
    finally:
        meta.dispose()
    assert answers(seeded_again, key) == answers(settings, key)


# -- an older backup -------------------------------------------------------------------------


def _old_backup(tmp_path: Path) -> Path:
    """An archive as the first release with backups would have written it for an older store:
    metadata at revision 0003 (no users yet), the event store at schema version 1."""
    staging = tmp_path / "staging"
    (staging / "events").mkdir(parents=True)
    (staging / "meta").mkdir()
    meta_file = staging / "meta" / "meta.sqlite3"
    engine = db.create_engine(f"sqlite:///{meta_file}")
    db.migrate(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sites (id, domain, timezone, created_at) "
                "VALUES (1, :d, 'UTC', '2026-10-01')"
            ),
            {"d": DOMAIN},
        )
    engine.dispose()
    store = tmp_path / "old.duckdb"
    con = duckdb.connect(str(store))
    write_v1_store(con)
    snapshot = snapshots.write_snapshot(con.cursor(), staging / "events")
    con.close()
    names = [f"events/{name}" for name in snapshot.files] + ["meta/meta.sqlite3"]
    manifest = {
        "format": archive.FORMAT,
        "format_version": 1,
        "footfall_version": "0.0.9",
        "created_at": "2026-11-03T00:00:00Z",
        "event_store": {
            "backend": "duckdb",
            "schema_version": "1",
            "journal_seq": 0,
            "events": 3,
            "sessions": 1,
            "files": list(snapshot.files),
        },
        "metadata": {
            "database": "sqlite",
            "revision": "0003",
            "file": "meta.sqlite3",
            "salts": "excluded",
        },
        "sites": [{"id": 1, "domain": DOMAIN, "events": 3}],
        "files": [e.as_json() for e in archive.entries_of(staging, names)],
    }
    target = tmp_path / "old.tar"
    with target.open("wb") as out:
        archive.write_archive(manifest, staging, out)
    return target


def test_an_older_backup_is_migrated_forward(tmp_path: Path) -> None:
    target = tmp_path / "restored"
    out = _ok("restore", str(_old_backup(tmp_path)), "--data-dir", str(target))
    assert f"{DOMAIN}\t3 events" in out
    settings = load_settings({"data_dir": target}, environ={})
    engine = db.create_engine(settings.metadata_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()
    services = Services.open(settings)
    try:
        rows = services.store.query(
            "SELECT value FROM store_info WHERE key = 'schema_version'", [], timeout=10, tag="t"
        )
        assert rows == [(SCHEMA_VERSION,)]
        numbered = services.store.query(
            "SELECT count(*) FROM events WHERE visitor > 0", [], timeout=10, tag="t"
        )
        assert numbered == [(3,)]
    finally:
        services.close()


# -- a full disk ------------------------------------------------------------------------------


def test_a_backup_onto_a_full_disk_leaves_no_partial_archive(
    original: tuple[Settings, str],
    small_disk: Path,  # noqa: F811
) -> None:
    settings, _ = original
    _fill(small_disk / "filler")
    target = small_disk / "backup.tar"
    done = _run("backup", str(target), "--data-dir", str(settings.data_dir))
    assert done.returncode == 1
    assert "No space left on device" in done.stderr and "nothing was kept" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    # The data directory is untouched: no staging files are left in it.
    assert list((settings.data_dir / "spool").iterdir()) == []


# -- PostgreSQL metadata ----------------------------------------------------------------------


@pytest.fixture
def second_database(postgres_server: str) -> Iterator[str]:
    with fresh_postgres_database(postgres_server, "restore") as url:
        yield url


def test_postgresql_metadata_goes_through_pg_dump(
    postgres_database: str, second_database: str, tmp_path: Path
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        unavailable("pg_dump and pg_restore are not installed")
    env_first = {"FOOTFALL_DATABASE_URL": postgres_database}
    settings = load_settings({"data_dir": tmp_path / "first"}, environ=env_first)
    services = Services.open(settings)  # migrates and makes a salt
    try:
        add_site(services.meta, domain=DOMAIN)
    finally:
        services.close()
    target = tmp_path / "pg.tar"
    done = footfall(
        "backup", str(target), "--data-dir", str(settings.data_dir), env=env_first, clean_env=True
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads(_members(target)["manifest.json"])
    assert manifest["metadata"]["database"] == "postgresql"
    assert manifest["metadata"]["file"] == "meta.pgdump"
    env_second = {"FOOTFALL_DATABASE_URL": second_database}
    done = footfall(
        "restore",
        str(target),
        "--data-dir",
        str(tmp_path / "second"),
        env=env_second,
        clean_env=True,
    )
    assert done.returncode == 0, done.stderr
    restored = db.create_engine(second_database)
    original = db.create_engine(postgres_database)
    try:
        assert [s.domain for s in list_sites(restored)] == [DOMAIN]
        with restored.connect() as a, original.connect() as b:
            new = set(a.execute(sa.text("SELECT salt FROM salts")).scalars())
            old = set(b.execute(sa.text("SELECT salt FROM salts")).scalars())
        assert new and old and not new & old
    finally:
        restored.dispose()
        original.dispose()
    # Restoring again over a database that holds footfall's tables needs --force.
    done = footfall(
        "restore",
        str(target),
        "--data-dir",
        str(tmp_path / "third"),
        env=env_second,
        clean_env=True,
    )
    assert done.returncode == 1 and "--force" in done.stderr
