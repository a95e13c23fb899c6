"""User accounts: the table, `footfall.meta.users` and `footfall user`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Literal

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type, extract_parameters

from footfall.errors import ConflictError, InvalidInputError
from footfall.meta import db, users
from footfall.meta.audit import Actor, list_entries
from footfall.meta.logins import create_session, session_user
from footfall.meta.users import User, add_user, get_user, list_users, verify_password
from tests.commands import footfall
from tests.conftest import FOOTFALL

ALICE = Actor("cli:alice")
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a new and longer passphrase"


def _stored_hash(engine: sa.Engine, email: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                sa.text("SELECT password_hash FROM users WHERE email = :email"), {"email": email}
            ).scalar_one()
        )


def _disable(engine: sa.Engine, email: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET disabled_at = :at WHERE email = :email"),
            {"at": dt.datetime.now(dt.UTC), "email": email},
        )


def test_migration_0004_adds_and_drops_the_users_table(meta_url: str) -> None:
    engine = db.create_engine(meta_url)
    assert db.migrate(engine, "0004") == "0004"
    inspector = sa.inspect(engine)
    assert {c["name"] for c in inspector.get_columns("users")} == {
        "id",
        "email",
        "role",
        "password_hash",
        "created_at",
        "disabled_at",
    }
    assert [u["column_names"] for u in inspector.get_unique_constraints("users")] == [["email"]]
    assert db.migrate(engine, "0003") == "0003"
    assert "users" not in sa.inspect(engine).get_table_names()
    assert "audit_log" in sa.inspect(engine).get_table_names()
    assert db.migrate(engine) == db.head_revision()
    engine.dispose()


def test_add_and_list(engine: sa.Engine) -> None:
    before = dt.datetime.now(dt.UTC)
    admin = add_user(engine, email="  Alice@Example.COM ", role="admin", password=PASSWORD)
    viewer = add_user(engine, email="bob@example.org", role="viewer", password=PASSWORD)
    assert (admin.email, admin.role, admin.disabled_at) == ("alice@example.com", "admin", None)
    assert before - dt.timedelta(seconds=1) <= admin.created_at <= dt.datetime.now(dt.UTC)
    assert admin.created_at.utcoffset() == dt.timedelta(0)
    assert list_users(engine) == [admin, viewer]
    # The dataclass has no room for the hash.
    assert set(User.__dataclass_fields__) == {"id", "email", "role", "created_at", "disabled_at"}


@pytest.mark.usefixtures("production_password_hashing")
def test_the_stored_hash_is_argon2id_and_hides_the_password(engine: sa.Engine) -> None:
    add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    stored = _stored_hash(engine, "alice@example.com")
    assert stored.startswith("$argon2id$")
    params = extract_parameters(stored)
    default = PasswordHasher()
    assert (params.type, params.time_cost, params.memory_cost) == (
        Type.ID,
        default.time_cost,
        default.memory_cost,
    )
    assert stored != PASSWORD
    assert PASSWORD not in stored
    assert all(word not in stored for word in PASSWORD.split())
    # A fresh salt each time: the same password never hashes the same.
    add_user(engine, email="bob@example.com", role="viewer", password=PASSWORD)
    assert _stored_hash(engine, "bob@example.com") != stored


def test_verify_password(engine: sa.Engine) -> None:
    added = add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    add_user(engine, email="bob@example.com", role="viewer", password=PASSWORD)
    assert verify_password(engine, "alice@example.com", PASSWORD) == added
    assert verify_password(engine, " ALICE@example.com", PASSWORD) == added
    assert verify_password(engine, "alice@example.com", PASSWORD + " ") is None
    assert verify_password(engine, "alice@example.com", PASSWORD.upper()) is None
    assert verify_password(engine, "alice@example.com", "") is None
    assert verify_password(engine, "carol@example.com", PASSWORD) is None
    assert verify_password(engine, "not an email", PASSWORD) is None
    assert verify_password(engine, "alice@example.com", "x" * 5000) is None
    _disable(engine, "bob@example.com")
    assert verify_password(engine, "bob@example.com", PASSWORD) is None
    (bob,) = [u for u in list_users(engine) if u.email == "bob@example.com"]
    assert bob.disabled_at is not None and bob.disabled_at.utcoffset() == dt.timedelta(0)


def test_unknown_emails_still_spend_a_verification(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(users, "_HASHER", Counting())
    for email in ("alice@example.com", "carol@example.com", "not an email"):
        verify_password(engine, email, "wrong password!")
    _disable(engine, "alice@example.com")
    verify_password(engine, "alice@example.com", PASSWORD)
    assert len(calls) == 4
    assert all(h.startswith("$argon2id$") for h in calls)


@pytest.mark.usefixtures("production_password_hashing")
def test_a_weak_hash_is_replaced_on_success(engine: sa.Engine) -> None:
    add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET password_hash = :h"), {"h": weak})
    assert verify_password(engine, "alice@example.com", "wrong password!") is None
    assert _stored_hash(engine, "alice@example.com") == weak
    assert verify_password(engine, "alice@example.com", PASSWORD) is not None
    renewed = _stored_hash(engine, "alice@example.com")
    assert renewed != weak and not PasswordHasher().check_needs_rehash(renewed)
    assert verify_password(engine, "alice@example.com", PASSWORD) is not None


def test_duplicate_email_is_a_conflict(engine: sa.Engine) -> None:
    add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    with pytest.raises(ConflictError, match=r"alice@example\.com already exists"):
        add_user(engine, email="ALICE@example.com", role="viewer", password=PASSWORD + "!")
    assert [u.role for u in list_users(engine)] == ["admin"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"password": "short pass1"}, "11 characters long; it needs at least 12"),
        ({"password": ""}, "0 characters long; it needs at least 12"),
        ({"password": "p" * 1025}, "the limit is 1024"),
        ({"role": "owner"}, "unknown role 'owner': choose from admin, viewer"),
        ({"role": "Admin"}, "unknown role 'Admin'"),
        ({"email": ""}, "invalid email address ''"),
        ({"email": "alice"}, "invalid email address 'alice'"),
        ({"email": "alice@"}, "invalid email address"),
        ({"email": "@example.com"}, "invalid email address"),
        ({"email": "a b@example.com"}, "invalid email address"),
        ({"email": "alice@exa mple.com"}, "invalid email address"),
        ({"email": "alice@@example.com"}, "invalid email address"),
        ({"email": "alice@-example.com"}, "invalid email address"),
        ({"email": "a" * 250 + "@x.io"}, "invalid email address"),
    ],
)
def test_bad_input_is_refused(engine: sa.Engine, kwargs: dict[str, str], message: str) -> None:
    values = {"email": "alice@example.com", "role": "viewer", "password": PASSWORD, **kwargs}
    with pytest.raises(InvalidInputError, match=message) as caught:
        add_user(engine, actor=ALICE, **values)
    # A refused password is never echoed back.
    if len(values["password"]) > 0:
        assert values["password"] not in str(caught.value)
    assert list_users(engine) == []
    assert list_entries(engine) == []


def test_add_records_email_and_role_only(engine: sa.Engine) -> None:
    add_user(engine, email="quiet@example.com", role="viewer", password=PASSWORD)
    assert list_entries(engine) == []
    add_user(engine, email="Alice@Example.com", role="admin", password=PASSWORD, actor=ALICE)
    (entry,) = list_entries(engine)
    assert (entry.actor, entry.action, entry.target, entry.ip) == (
        "cli:alice",
        "user.add",
        "alice@example.com",
        None,
    )
    assert (entry.before, entry.after) == (None, {"email": "alice@example.com", "role": "admin"})
    stored = _stored_hash(engine, "alice@example.com")
    with engine.connect() as conn:
        dump = str(conn.execute(sa.text("SELECT * FROM audit_log")).all())
    assert PASSWORD not in dump and stored not in dump and "argon2" not in dump


# -- footfall user ---------------------------------------------------------------------------


def ff(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # getpass.getuser() reads LOGNAME first: the actor is cli:alice whoever runs the tests.
    return footfall(*args, data_dir=data_dir, env={"LOGNAME": "alice"}, stdin=stdin)


@pytest.mark.slow
def test_user_commands_and_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stdin = f"{PASSWORD}\nignored second line\n"
    added = ff(
        data, "user", "add", "Admin@Example.com", "--role", "admin", "--password-stdin", stdin=stdin
    )
    assert (added.returncode, added.stdout, added.stderr) == (
        0,
        "added user admin@example.com (admin)\n",
        "",
    )
    # A password may hold spaces at either end; only the line ending is dropped.
    spaced = f"  {PASSWORD}  "
    viewer = ff(
        data,
        "user",
        "add",
        "viewer@example.com",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=spaced + "\r\n",
    )
    assert viewer.returncode == 0, viewer.stderr

    listed = ff(data, "user", "list")
    assert listed.returncode == 0
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("admin@example.com", "admin", "active"),
        ("viewer@example.com", "viewer", "active"),
    ]
    assert all(r[2].startswith("created 20") for r in rows)

    def fails(code: int, *args: str, stdin: str = f"{PASSWORD}\n") -> str:
        result = ff(data, "user", *args, stdin=stdin)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result.stderr

    role = ("--role", "viewer", "--password-stdin")
    duplicate = fails(1, "add", "ADMIN@example.com", *role)
    assert duplicate == "error: a user with the email admin@example.com already exists\n"
    short = fails(1, "add", "c@example.com", *role, stdin="short\n")
    assert short == "error: the password is 5 characters long; it needs at least 12\n"
    assert fails(1, "add", "c@example.com", *role, stdin="").startswith("error: the password")
    assert fails(1, "add", "not-an-email", *role).startswith("error: invalid email address")
    assert "'owner' is not one of" in fails(
        2, "add", "c@example.com", "--role", "owner", "--password-stdin"
    )
    assert fails(2, "add", "c@example.com", "--password-stdin")
    assert fails(2, "add", "--role", "viewer", "--password-stdin")
    assert fails(2, "nosuchcommand")
    for command in (["user"], ["user", "add"], ["user", "list"]):
        assert ff(data, *command, "--help").returncode == 0, command

    engine = db.create_engine(f"sqlite:///{data / 'meta.sqlite3'}")
    try:
        assert verify_password(engine, "viewer@example.com", spaced) is not None
        assert verify_password(engine, "viewer@example.com", PASSWORD) is None
        assert verify_password(engine, "admin@example.com", PASSWORD) is not None
        entries = list_entries(engine)
        assert [(e.actor, e.action, e.target) for e in entries] == [
            ("cli:alice", "user.add", "viewer@example.com"),
            ("cli:alice", "user.add", "admin@example.com"),
        ]
        with engine.connect() as conn:
            dump = str(conn.execute(sa.text("SELECT * FROM audit_log")).all())
        assert PASSWORD not in dump and "argon2" not in dump
    finally:
        engine.dispose()
    shown = ff(data, "audit").stdout + listed.stdout
    assert PASSWORD not in shown and "argon2" not in shown


@pytest.mark.slow
def test_user_add_prompts_twice_without_echo(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # Without a terminal click reads the prompts from stdin; a mismatch asks again.
    stdin = f"{PASSWORD}\n{PASSWORD}x\n{PASSWORD}\n{PASSWORD}\n"
    # A real process: where the prompts go (stderr) is the terminal handling's, not click's.
    result = subprocess.run(
        [*FOOTFALL, "user", "add", "alice@example.com", "--role", "admin"],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
        env={**os.environ, "FOOTFALL_DATA_DIR": str(data)},
        # No controlling terminal: the hidden prompt must read stdin, not the tester's /dev/tty.
        start_new_session=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Repeat for confirmation" in result.stderr
    assert "The two entered values do not match" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    engine = db.create_engine(f"sqlite:///{data / 'meta.sqlite3'}")
    try:
        assert verify_password(engine, "alice@example.com", PASSWORD) is not None
    finally:
        engine.dispose()


@pytest.mark.slow
def test_user_passwd_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = ff(
        data,
        "user",
        "add",
        "bob@example.com",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert added.returncode == 0, added.stderr
    engine = db.create_engine(f"sqlite:///{data / 'meta.sqlite3'}")
    try:
        user = get_user(engine, "bob@example.com")
        token = create_session(
            engine, user.id, now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(hours=1)
        )

        changed = ff(
            data,
            "user",
            "passwd",
            "BOB@example.com",
            "--password-stdin",
            stdin=f"{NEW_PASSWORD}\nignored\n",
        )
        assert (changed.returncode, changed.stderr) == (0, "")
        assert changed.stdout == (
            "changed the password of bob@example.com; signed out of 1 session\n"
        )
        assert verify_password(engine, "bob@example.com", NEW_PASSWORD) == user
        assert session_user(engine, token, now=dt.datetime.now(dt.UTC)) is None

        # Prompted twice without a terminal: a mismatch asks again.
        prompted = ff(
            data,
            "user",
            "passwd",
            "bob@example.com",
            stdin=f"{PASSWORD}\n{PASSWORD}x\n{PASSWORD}\n{PASSWORD}\n",
        )
        assert prompted.returncode == 0, prompted.stderr
        assert "signed out of 0 sessions" in prompted.stdout
        assert verify_password(engine, "bob@example.com", PASSWORD) == user

        def fails(code: int, *args: str, stdin: str = f"{NEW_PASSWORD}\n") -> str:
            result = ff(data, "user", "passwd", *args, stdin=stdin)
            assert result.returncode == code, (args, result.stdout, result.stderr)
            return result.stderr

        short = fails(1, "bob@example.com", "--password-stdin", stdin="short\n")
        assert short == "error: the password is 5 characters long; it needs at least 12\n"
        unknown = fails(1, "nobody@example.com", "--password-stdin")
        assert (
            unknown == "error: no user nobody@example.com: 'footfall user list' shows the users\n"
        )
        assert fails(1, "not-an-email", "--password-stdin").startswith("error: invalid email")
        assert "Missing argument 'EMAIL'" in fails(2, "--password-stdin")
        assert ff(data, "user", "passwd", "--help").returncode == 0
        assert verify_password(engine, "bob@example.com", PASSWORD) == user

        entries = [e for e in list_entries(engine) if e.action == "user.passwd"]
        assert [(e.actor, e.target, e.after) for e in entries] == [
            ("cli:alice", "bob@example.com", {"email": "bob@example.com", "sessions_ended": 0}),
            ("cli:alice", "bob@example.com", {"email": "bob@example.com", "sessions_ended": 1}),
        ]
        dump = json.dumps([e.as_json() for e in list_entries(engine)])
        assert NEW_PASSWORD not in dump and PASSWORD not in dump
    finally:
        engine.dispose()
