"""Changing passwords, inviting viewers and listing a user's keys, on SQLite and PostgreSQL.

`footfall user passwd` is tested with the other user commands in tests/meta/test_users.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from footfall.errors import InvalidInputError, NotFoundError
from footfall.meta.access import invite_viewer, sites_for_user
from footfall.meta.audit import Actor, list_entries
from footfall.meta.keys import create_key, hash_key, list_user_keys
from footfall.meta.logins import create_session, session_user
from footfall.meta.sites import add_site
from footfall.meta.users import (
    add_user,
    check_current_password,
    generate_password,
    get_user,
    set_password,
    set_user_disabled,
    verify_password,
)

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a new and longer passphrase"
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
ALICE = Actor("cli:alice", ip="192.0.2.1")


def test_set_password_replaces_the_hash_and_ends_other_sessions(engine: sa.Engine) -> None:
    user = add_user(engine, email="bob@example.com", role="viewer", password=PASSWORD)
    kept = create_session(engine, user.id, now=NOW, lifetime=HOUR)
    other = create_session(engine, user.id, now=NOW, lifetime=HOUR)
    third = create_session(engine, user.id, now=NOW, lifetime=HOUR)
    ended = set_password(
        engine, "Bob@Example.com", NEW_PASSWORD, actor=ALICE, keep_session_hash=hash_key(kept)
    )
    assert ended == 2
    assert session_user(engine, kept, now=NOW) == user
    assert session_user(engine, other, now=NOW) is None
    assert session_user(engine, third, now=NOW) is None
    assert verify_password(engine, "bob@example.com", NEW_PASSWORD) == user
    assert verify_password(engine, "bob@example.com", PASSWORD) is None
    assert check_current_password(engine, user.id, NEW_PASSWORD)
    assert not check_current_password(engine, user.id, PASSWORD)
    # Without a session to keep (the command line, an admin's reset) every one ends.
    assert set_password(engine, "bob@example.com", PASSWORD) == 1
    assert session_user(engine, kept, now=NOW) is None

    (entry,) = list_entries(engine)  # the second change had no actor
    assert (entry.actor, entry.action, entry.target, entry.ip) == (
        "cli:alice",
        "user.passwd",
        "bob@example.com",
        "192.0.2.1",
    )
    assert entry.after == {"email": "bob@example.com", "sessions_ended": 2}
    dump = json.dumps(entry.as_json())
    assert NEW_PASSWORD not in dump and "argon2" not in dump


def test_set_password_clears_a_lockout(engine: sa.Engine) -> None:
    add_user(engine, email="bob@example.com", role="viewer", password=PASSWORD)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET failed_logins = 10, locked_until = :at"),
            {"at": NOW + HOUR},
        )
    set_password(engine, "bob@example.com", NEW_PASSWORD)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT failed_logins, locked_until FROM users")).one()
    assert tuple(row) == (0, None)


@pytest.mark.parametrize(
    ("email", "password", "error", "message"),
    [
        ("bob@example.com", "short", InvalidInputError, "it needs at least 12"),
        ("bob@example.com", "x" * 1025, InvalidInputError, "the limit is 1024"),
        ("nobody@example.com", NEW_PASSWORD, NotFoundError, "no user nobody@example.com"),
        ("not an email", NEW_PASSWORD, InvalidInputError, "invalid email address"),
    ],
)
def test_set_password_refusals_change_nothing(
    engine: sa.Engine, email: str, password: str, error: type[Exception], message: str
) -> None:
    user = add_user(engine, email="bob@example.com", role="viewer", password=PASSWORD)
    token = create_session(engine, user.id, now=NOW, lifetime=HOUR)
    with pytest.raises(error, match=message) as caught:
        set_password(engine, email, password, actor=ALICE)
    assert password not in str(caught.value)
    assert verify_password(engine, "bob@example.com", PASSWORD) == user
    assert session_user(engine, token, now=NOW) == user
    assert list_entries(engine) == []


def test_a_disabled_or_unknown_user_has_no_current_password(engine: sa.Engine) -> None:
    user = add_user(engine, email="bob@example.com", role="viewer", password=PASSWORD)
    set_user_disabled(engine, "bob@example.com", True)
    assert not check_current_password(engine, user.id, PASSWORD)
    assert not check_current_password(engine, 999, PASSWORD)


def test_generated_passwords_are_long_and_different() -> None:
    first, second = generate_password(), generate_password()
    assert first != second and len(first) >= 22 and first.isascii()


def test_inviting_creates_the_viewer_once_and_grants_the_site(engine: sa.Engine) -> None:
    shop = add_site(engine, domain="shop.example")
    blog = add_site(engine, domain="blog.example")
    first = invite_viewer(engine, " New@Example.com ", "shop.example", actor=ALICE)
    assert (first.user.email, first.user.role, first.granted) == ("new@example.com", "viewer", True)
    assert first.password is not None and len(first.password) >= 12
    assert verify_password(engine, "new@example.com", first.password) == first.user
    # An existing viewer keeps their password and gains the site.
    again = invite_viewer(engine, "new@example.com", "blog.example", actor=ALICE)
    assert (again.password, again.granted) == (None, True)
    assert sites_for_user(engine, first.user.id) == {shop.id, blog.id}
    same = invite_viewer(engine, "new@example.com", "blog.example", actor=ALICE)
    assert (same.password, same.granted) == (None, False)

    entries = list(reversed(list_entries(engine)))
    assert [(e.action, e.target, e.after) for e in entries] == [
        ("user.add", "new@example.com", {"email": "new@example.com", "role": "viewer"}),
        ("user.grant", "new@example.com", {"site": "shop.example"}),
        ("user.grant", "new@example.com", {"site": "blog.example"}),
    ]
    assert first.password not in json.dumps([e.as_json() for e in entries])


def test_inviting_refuses_admins_disabled_users_and_unknown_sites(engine: sa.Engine) -> None:
    add_site(engine, domain="shop.example")
    add_user(engine, email="admin@example.com", role="admin", password=PASSWORD)
    add_user(engine, email="gone@example.com", role="viewer", password=PASSWORD)
    set_user_disabled(engine, "gone@example.com", True)
    with pytest.raises(InvalidInputError, match="is an admin and reads every site"):
        invite_viewer(engine, "admin@example.com", "shop.example", actor=ALICE)
    with pytest.raises(InvalidInputError, match="is disabled"):
        invite_viewer(engine, "gone@example.com", "shop.example", actor=ALICE)
    with pytest.raises(NotFoundError, match=r"no site nope\.example"):
        invite_viewer(engine, "new@example.com", "nope.example", actor=ALICE)
    with pytest.raises(NotFoundError):
        get_user(engine, "new@example.com")  # no account is left behind
    assert list_entries(engine) == []


def test_a_users_keys_are_listed_whichever_tool_made_them(engine: sa.Engine) -> None:
    owner = add_user(engine, email="bob@example.com", role="admin", password=PASSWORD)
    add_user(engine, email="eve@example.com", role="viewer", password=PASSWORD)
    create_key(engine, name="operator", scopes=("admin",))
    create_key(engine, name="bobs-first", scopes=("stats:read",), user_email="bob@example.com")
    create_key(engine, name="eves", user_email="eve@example.com")
    create_key(
        engine,
        name="bobs-second",
        scopes=("stats:read", "sites:write"),
        user_email="Bob@Example.com",
    )
    keys = list_user_keys(engine, owner.id)
    assert [(k.name, k.scopes) for k in keys] == [
        ("bobs-second", ("stats:read", "sites:write")),
        ("bobs-first", ("stats:read",)),
    ]
    assert list_user_keys(engine, 999) == []
