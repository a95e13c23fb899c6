"""Access control: site grants for viewers, keys owned by users, and what each key may do."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.errors import InvalidInputError, NotFoundError
from footfall.meta.access import (
    NO_RIGHTS,
    Rights,
    can_read_site,
    effective_rights,
    grant_site,
    granted_domains,
    key_rights,
    revoke_site,
    sites_for_user,
)
from footfall.meta.audit import Actor, list_entries
from footfall.meta.goals import add_goal
from footfall.meta.keys import ApiKey, authenticate, create_key, list_keys, revoke_key
from footfall.meta.sites import add_site, delete_site
from footfall.meta.users import add_user, get_user, get_user_by_id, set_user_disabled
from footfall.meta.vocabulary import VIEWER_SCOPES, scopes_beyond_role
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.web.api.auth import INVALID_KEY
from tests.commands import footfall

ALICE = Actor("cli:alice")
PASSWORD = "correct horse battery"
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def _set_role(engine: sa.Engine, email: str, role: str) -> None:
    # footfall has no command to change a role yet; a demotion is what the rights must survive.
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET role = :role WHERE email = :email"),
            {"role": role, "email": email},
        )


def _key(**fields: Any) -> ApiKey:
    values: dict[str, Any] = {
        "id": 1,
        "name": "k",
        "prefix": "ff_x",
        "scopes": ("stats:read",),
        "created_at": NOW,
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
    }
    return ApiKey(**{**values, **fields})


# -- the policy ------------------------------------------------------------------------------


def test_effective_rights_policy() -> None:
    all_scopes = ("stats:read", "events:import", "sites:write", "admin")
    operator = effective_rights(_key(scopes=all_scopes))
    assert operator == Rights(scopes=frozenset(all_scopes), sites=None)
    assert operator.reaches(12345) and operator.allows("events:import")

    admin = effective_rights(_key(scopes=("events:import",), user_id=1, owner_role="admin"))
    assert admin == Rights(scopes=frozenset({"events:import"}), sites=None)
    assert not admin.allows("stats:read")

    viewer = effective_rights(
        _key(scopes=("stats:read", "events:import"), user_id=2, owner_role="viewer"), [7, 9]
    )
    assert viewer == Rights(scopes=frozenset({"stats:read"}), sites=frozenset({7, 9}))
    assert viewer.reaches(7) and not viewer.reaches(8)
    assert not viewer.allows("events:import") and not viewer.allows("admin")
    # A demoted admin's admin key reads, and no more.
    demoted = effective_rights(_key(scopes=("admin",), user_id=2, owner_role="viewer"), [7])
    assert demoted.scopes == VIEWER_SCOPES
    writer = effective_rights(_key(scopes=("sites:write",), user_id=2, owner_role="viewer"), [7])
    assert writer.scopes == frozenset() and not writer.allows("stats:read")
    # No grants: no site; an unknown role gets a viewer's rights.
    assert effective_rights(_key(user_id=2, owner_role="viewer")).sites == frozenset()
    assert effective_rights(_key(user_id=2, owner_role="owner"), [1]).scopes == VIEWER_SCOPES

    disabled = _key(scopes=("admin",), user_id=1, owner_role="admin", owner_disabled=True)
    assert effective_rights(disabled, [1]) == NO_RIGHTS
    assert not NO_RIGHTS.allows("stats:read") and not NO_RIGHTS.reaches(1)


def test_scopes_beyond_role() -> None:
    assert scopes_beyond_role("admin", ["admin", "events:import"]) == []
    assert scopes_beyond_role("viewer", ["stats:read"]) == []
    assert scopes_beyond_role("viewer", ["events:import", "stats:read", "admin", "admin"]) == [
        "events:import",
        "admin",
    ]


# -- grants ----------------------------------------------------------------------------------


def test_grants_decide_the_sites_a_viewer_reads(engine: sa.Engine) -> None:
    shop = add_site(engine, domain="shop.example")
    blog = add_site(engine, domain="blog.example")
    admin = add_user(engine, email="admin@example.com", role="admin", password=PASSWORD)
    viewer = add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)

    assert sites_for_user(engine, admin.id) is None
    assert can_read_site(engine, admin.id, blog.id)
    assert sites_for_user(engine, viewer.id) == set()
    assert not can_read_site(engine, viewer.id, shop.id)

    assert grant_site(engine, " Viewer@Example.com", "WWW.shop.example") is True
    assert grant_site(engine, "viewer@example.com", "shop.example") is False  # idempotent
    assert sites_for_user(engine, viewer.id) == {shop.id}
    assert can_read_site(engine, viewer.id, shop.id)
    assert not can_read_site(engine, viewer.id, blog.id)
    grant_site(engine, "viewer@example.com", "blog.example")
    assert granted_domains(engine) == {viewer.id: ["blog.example", "shop.example"]}

    assert revoke_site(engine, "viewer@example.com", "shop.example") is True
    assert revoke_site(engine, "viewer@example.com", "shop.example") is False  # idempotent
    assert sites_for_user(engine, viewer.id) == {blog.id}

    # A disabled viewer reads nothing, and reads again once enabled.
    set_user_disabled(engine, "viewer@example.com", True)
    assert sites_for_user(engine, viewer.id) == set()
    assert not can_read_site(engine, viewer.id, blog.id)
    set_user_disabled(engine, "viewer@example.com", False)
    assert sites_for_user(engine, viewer.id) == {blog.id}

    # Deleting a site takes its grants with it.
    delete_site(engine, "blog.example")
    assert sites_for_user(engine, viewer.id) == set()
    assert granted_domains(engine) == {}


def test_grant_refusals(engine: sa.Engine) -> None:
    add_site(engine, domain="shop.example")
    add_user(engine, email="admin@example.com", role="admin", password=PASSWORD)
    add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    with pytest.raises(InvalidInputError, match=r"admin@example\.com is an admin and reads every"):
        grant_site(engine, "admin@example.com", "shop.example", actor=ALICE)
    with pytest.raises(NotFoundError, match=r"no user carol@example\.com"):
        grant_site(engine, "carol@example.com", "shop.example", actor=ALICE)
    with pytest.raises(NotFoundError, match=r"no site nope\.example"):
        grant_site(engine, "viewer@example.com", "nope.example", actor=ALICE)
    with pytest.raises(NotFoundError, match=r"no site nope\.example"):
        revoke_site(engine, "viewer@example.com", "nope.example", actor=ALICE)
    with pytest.raises(InvalidInputError, match="invalid email address"):
        revoke_site(engine, "not an email", "shop.example", actor=ALICE)
    with pytest.raises(NotFoundError, match="no user with id 999"):
        sites_for_user(engine, 999)
    assert list_entries(engine) == []


def test_get_user_and_set_user_disabled(engine: sa.Engine) -> None:
    added = add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    assert get_user(engine, " VIEWER@example.com ") == added
    assert get_user_by_id(engine, added.id) == added
    with pytest.raises(NotFoundError, match=r"no user carol@example\.com"):
        get_user(engine, "carol@example.com")
    with pytest.raises(NotFoundError, match="no user with id 999"):
        get_user_by_id(engine, 999)
    with pytest.raises(NotFoundError, match=r"no user carol@example\.com"):
        set_user_disabled(engine, "carol@example.com", True)

    # A disabled user is signed out everywhere.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO login_sessions (token_hash, user_id, created_at, last_seen_at, "
                "expires_at) VALUES ('h', :id, :now, :now, :now)"
            ),
            {"id": added.id, "now": NOW},
        )
    disabled = set_user_disabled(engine, "viewer@example.com", True)
    assert disabled.disabled_at is not None and disabled.disabled_at.utcoffset() == dt.timedelta(0)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM login_sessions")).scalar_one() == 0
    assert set_user_disabled(engine, "viewer@example.com", True) == disabled  # idempotent
    assert get_user(engine, "viewer@example.com") == disabled
    assert set_user_disabled(engine, "viewer@example.com", False) == added


# -- keys owned by users ---------------------------------------------------------------------


def test_keys_belong_to_users(engine: sa.Engine) -> None:
    admin = add_user(engine, email="admin@example.com", role="admin", password=PASSWORD)
    viewer = add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    owned, _ = create_key(engine, name="report", user_email="Viewer@example.com", actor=ALICE)
    assert (owned.user_id, owned.owner_email, owned.owner_role) == (
        viewer.id,
        "viewer@example.com",
        "viewer",
    )
    everything = ("stats:read", "events:import", "sites:write", "admin")
    root, _ = create_key(engine, name="root", scopes=everything, user_email="admin@example.com")
    assert (root.user_id, root.scopes) == (admin.id, everything)
    operator, _ = create_key(engine, name="ops", scopes=everything)
    assert (operator.user_id, operator.owner_email, operator.owner_role) == (None, None, None)
    assert [(k.name, k.owner_email) for k in list_keys(engine)] == [
        ("ops", None),
        ("root", "admin@example.com"),
        ("report", "viewer@example.com"),
    ]
    (entry,) = list_entries(engine)
    assert entry.after == {
        "name": "report",
        "prefix": owned.prefix,
        "scopes": ["stats:read"],
        "user": "viewer@example.com",
    }
    revoke_key(engine, "report", actor=ALICE)
    assert list_entries(engine, action="key.revoke")[0].before == {
        "name": "report",
        "prefix": owned.prefix,
        "scopes": ["stats:read"],
        "user": "viewer@example.com",
        "revoked_at": None,
    }


@pytest.mark.parametrize(
    "scopes",
    [("events:import",), ("admin",), ("sites:write",), ("stats:read", "events:import")],
)
def test_a_viewer_key_holds_only_stats_read(engine: sa.Engine, scopes: tuple[str, ...]) -> None:
    add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    beyond = ", ".join(s for s in scopes if s != "stats:read")
    message = f"viewer@example.com is a viewer, whose keys may hold only stats:read, not {beyond}$"
    with pytest.raises(InvalidInputError, match=message):
        create_key(engine, name="k", scopes=scopes, user_email="viewer@example.com", actor=ALICE)
    assert list_keys(engine) == []
    assert list_entries(engine) == []


def test_key_owner_refusals(engine: sa.Engine) -> None:
    add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    with pytest.raises(NotFoundError, match=r"no user carol@example\.com"):
        create_key(engine, name="k", user_email="carol@example.com", actor=ALICE)
    with pytest.raises(InvalidInputError, match="invalid email address"):
        create_key(engine, name="k", user_email="carol", actor=ALICE)
    set_user_disabled(engine, "viewer@example.com", True)
    with pytest.raises(
        InvalidInputError,
        match=r"user viewer@example\.com is disabled: enable it with 'footfall user enable",
    ):
        create_key(engine, name="k", user_email="viewer@example.com", actor=ALICE)
    assert list_keys(engine) == []
    assert list_entries(engine) == []


def test_a_disabled_owner_key_does_not_authenticate(engine: sa.Engine) -> None:
    add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    _, secret = create_key(engine, name="k", user_email="viewer@example.com")
    _, operator = create_key(engine, name="ops")
    found = authenticate(engine, secret, now=NOW)
    assert found is not None and found.owner_email == "viewer@example.com"
    set_user_disabled(engine, "viewer@example.com", True)
    assert authenticate(engine, secret, now=NOW + dt.timedelta(hours=1)) is None
    (owned,) = [k for k in list_keys(engine) if k.name == "k"]
    assert owned.owner_disabled
    assert authenticate(engine, operator, now=NOW) is not None
    set_user_disabled(engine, "viewer@example.com", False)
    assert authenticate(engine, secret, now=NOW) is not None


def test_key_rights_read_the_grants_of_a_viewer(engine: sa.Engine) -> None:
    shop = add_site(engine, domain="shop.example")
    add_site(engine, domain="blog.example")
    add_user(engine, email="admin@example.com", role="admin", password=PASSWORD)
    add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    grant_site(engine, "viewer@example.com", "shop.example")
    _, viewer_secret = create_key(engine, name="v", user_email="viewer@example.com")
    _, admin_secret = create_key(
        engine, name="a", scopes=("stats:read", "events:import"), user_email="admin@example.com"
    )

    def rights(secret: str) -> Rights:
        key = authenticate(engine, secret, now=NOW)
        assert key is not None
        return key_rights(engine, key)

    assert rights(viewer_secret) == Rights(frozenset({"stats:read"}), frozenset({shop.id}))
    assert rights(admin_secret) == Rights(frozenset({"stats:read", "events:import"}), None)
    # The admin is demoted: the key keeps its stored scopes but reads only granted sites.
    _set_role(engine, "admin@example.com", "viewer")
    assert rights(admin_secret) == Rights(frozenset({"stats:read"}), frozenset())
    grant_site(engine, "admin@example.com", "shop.example")
    assert rights(admin_secret) == Rights(frozenset({"stats:read"}), frozenset({shop.id}))


def test_each_access_action_writes_exactly_its_entry(engine: sa.Engine) -> None:
    add_site(engine, domain="shop.example")
    add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    # Without an actor nothing is recorded.
    grant_site(engine, "viewer@example.com", "shop.example")
    revoke_site(engine, "viewer@example.com", "shop.example")
    set_user_disabled(engine, "viewer@example.com", True)
    set_user_disabled(engine, "viewer@example.com", False)
    assert list_entries(engine) == []

    # Repeats change nothing, so they record nothing.
    for _ in range(2):
        grant_site(engine, "Viewer@example.com", "www.shop.example", actor=ALICE)
    for _ in range(2):
        revoke_site(engine, "viewer@example.com", "shop.example", actor=ALICE)
    for _ in range(2):
        disabled = set_user_disabled(engine, "viewer@example.com", True, actor=ALICE)
    for _ in range(2):
        set_user_disabled(engine, "viewer@example.com", False, actor=ALICE)

    entries = list(reversed(list_entries(engine)))
    assert [(e.actor, e.action, e.target, e.ip) for e in entries] == [
        ("cli:alice", "user.grant", "viewer@example.com", None),
        ("cli:alice", "user.ungrant", "viewer@example.com", None),
        ("cli:alice", "user.disable", "viewer@example.com", None),
        ("cli:alice", "user.enable", "viewer@example.com", None),
    ]
    grant, ungrant, disable, enable = entries
    assert (grant.before, grant.after) == (None, {"site": "shop.example"})
    assert (ungrant.before, ungrant.after) == ({"site": "shop.example"}, None)
    assert disabled.disabled_at is not None
    at = disabled.disabled_at.isoformat().replace("+00:00", "Z")
    active = {"email": "viewer@example.com", "role": "viewer", "disabled_at": None}
    inactive = {**active, "disabled_at": at}
    assert (disable.before, disable.after) == (active, inactive)
    assert (enable.before, enable.after) == (inactive, active)
    assert disable.change() == f'disabled_at: null -> "{at}"'


# -- the web APIs ----------------------------------------------------------------------------

AGGREGATE = "/api/v1/stats/aggregate"
REALTIME = "/api/v1/stats/realtime/visitors"
V2 = "/api/v2/query"
GOALS = "/api/v1/sites/goals"
AUDIT = "/api/v1/audit"
IMPORT = "/api/import"
REFUSED = (401, {"error": INVALID_KEY})
EVENT = json.dumps(
    {
        "timestamp": "2026-11-01T10:00:00Z",
        "name": "pageview",
        "url": "https://example.com/",
        "visitor_id": "v",
    }
)


@pytest.fixture
def meta(settings: Settings) -> Iterator[sa.Engine]:
    """The client's metadata store, with other.org, an admin and a viewer granted example.com."""
    engine = open_meta(settings)
    add_site(engine, domain="other.org")
    add_user(engine, email="admin@example.com", role="admin", password=PASSWORD)
    add_user(engine, email="viewer@example.com", role="viewer", password=PASSWORD)
    grant_site(engine, "viewer@example.com", "example.com")
    yield engine
    engine.dispose()


def _bearer(engine: sa.Engine, name: str, *scopes: str, user: str | None = None) -> dict[str, str]:
    _, secret = create_key(engine, name=name, scopes=scopes or ("stats:read",), user_email=user)
    return {"authorization": f"Bearer {secret}"}


def _stats(client: TestClient, headers: dict[str, str], site: str) -> list[tuple[int, Any]]:
    """The answers of v1 aggregate, v1 realtime and v2 query for `site`."""
    answers = [
        client.get(AGGREGATE, params={"site_id": site}, headers=headers),
        client.get(REALTIME, params={"site_id": site}, headers=headers),
        client.post(
            V2, json={"site_id": site, "metrics": ["visitors"], "date_range": "7d"}, headers=headers
        ),
    ]
    return [(r.status_code, r.json()) for r in answers]


def _reads(client: TestClient, headers: dict[str, str], site: str) -> bool:
    answers = _stats(client, headers, site)
    if all(status == 200 for status, _ in answers):
        return True
    assert answers == [REFUSED] * 3, answers
    return False


def test_a_viewer_key_reads_only_granted_sites(
    client: TestClient, meta: sa.Engine, settings: Settings
) -> None:
    viewer = _bearer(meta, "viewer", user="viewer@example.com")
    assert _stats(client, viewer, "example.com")[0] == (
        200,
        {"results": {"visitors": {"value": 0}}},
    )
    assert _reads(client, viewer, "example.com")
    # Another site is answered exactly as a site that does not exist.
    assert _stats(client, viewer, "other.org") == [REFUSED] * 3
    assert _stats(client, viewer, "unknown.example") == [REFUSED] * 3

    grant_site(meta, "viewer@example.com", "other.org")
    assert _reads(client, viewer, "other.org")
    revoke_site(meta, "viewer@example.com", "other.org")
    assert not _reads(client, viewer, "other.org")
    revoke_site(meta, "viewer@example.com", "example.com")
    assert not _reads(client, viewer, "example.com")


def test_admin_and_operator_keys_read_every_site(client: TestClient, meta: sa.Engine) -> None:
    admin = _bearer(meta, "admin", user="admin@example.com")
    operator = _bearer(meta, "operator")
    for headers in (admin, operator):
        assert _reads(client, headers, "example.com")
        assert _reads(client, headers, "other.org")
        assert _stats(client, headers, "unknown.example") == [REFUSED] * 3


def test_a_disabled_or_demoted_owner_key_stops_working(client: TestClient, meta: sa.Engine) -> None:
    viewer = _bearer(meta, "viewer", user="viewer@example.com")
    set_user_disabled(meta, "viewer@example.com", True)
    assert not _reads(client, viewer, "example.com")
    set_user_disabled(meta, "viewer@example.com", False)
    assert _reads(client, viewer, "example.com")

    admin = _bearer(
        meta, "admin", "stats:read", "events:import", "sites:write", user="admin@example.com"
    )
    root = _bearer(meta, "root", "admin", user="admin@example.com")
    url = f"{IMPORT}?site_id=other.org"
    assert client.post(url, content=EVENT, headers=admin).json()["stored"] == 1
    assert client.get(AUDIT, headers=root).status_code == 200
    body = {"site_id": "other.org", "goal_type": "event", "event_name": "Signup"}
    assert client.put(GOALS, json=body, headers=admin).status_code == 200

    _set_role(meta, "admin@example.com", "viewer")
    refused = client.post(url, content=EVENT, headers=admin)
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "This API key lacks the events:import scope."},
    )
    assert client.get(AUDIT, headers=root).json() == REFUSED[1]
    written = client.put(GOALS, json=body, headers=admin)
    assert (written.status_code, written.json()) == (
        403,
        {"error": "This API key lacks the sites:write scope."},
    )
    assert not _reads(client, admin, "other.org")
    assert not _reads(client, root, "other.org")
    grant_site(meta, "admin@example.com", "other.org")
    assert _reads(client, admin, "other.org")
    assert _reads(client, root, "other.org")
    assert not _reads(client, root, "example.com")

    set_user_disabled(meta, "admin@example.com", True)
    assert not _reads(client, admin, "other.org")
    assert client.get(AUDIT, headers=root).json() == REFUSED[1]


def test_operator_keys_keep_their_scopes(client: TestClient, meta: sa.Engine) -> None:
    importer = _bearer(meta, "importer", "events:import")
    for site in ("example.com", "other.org"):
        answer = client.post(f"{IMPORT}?site_id={site}", content=EVENT, headers=importer)
        assert answer.status_code == 200 and answer.json()["stored"] == 1
    root = _bearer(meta, "root", "admin")
    assert client.get(AUDIT, headers=root).status_code == 200
    assert _reads(client, root, "other.org")
    assert not _reads(client, importer, "example.com")


def test_goals_of_a_site_out_of_reach_are_not_found(client: TestClient, meta: sa.Engine) -> None:
    add_goal(meta, 1, event_name="Signup")
    add_goal(meta, 2, event_name="Buy")
    viewer = _bearer(meta, "viewer", user="viewer@example.com")
    granted = client.get(GOALS, params={"site_id": "example.com"}, headers=viewer)
    assert [g["display_name"] for g in granted.json()["goals"]] == ["Signup"]
    for site in ("other.org", "unknown.example"):
        hidden = client.get(GOALS, params={"site_id": site}, headers=viewer)
        assert (hidden.status_code, hidden.json()) == (404, {"error": "Site could not be found"})
    body = {"site_id": "example.com", "goal_type": "event", "event_name": "Signup"}
    assert client.put(GOALS, json=body, headers=viewer).status_code == 403
    deleted = client.delete(f"{GOALS}/1?site_id=example.com", headers=viewer)
    assert deleted.status_code == 403
    assert client.get(AUDIT, headers=viewer).json() == REFUSED[1]


def test_a_viewer_key_costs_one_metadata_query_more(client: TestClient, meta: sa.Engine) -> None:
    """Rights are read with the key; only a viewer's grants take one more (indexed) query."""
    operator = _bearer(meta, "operator")
    viewer = _bearer(meta, "viewer", user="viewer@example.com")
    statements: list[str] = []
    app_meta = client.app.state.footfall.meta  # type: ignore[attr-defined]

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(app_meta, "before_cursor_execute", count)
    try:
        counts = []
        for headers in (operator, viewer):
            statements.clear()
            assert _reads(client, headers, "example.com")
            counts.append(len(statements))
    finally:
        sa.event.remove(app_meta, "before_cursor_execute", count)
    assert counts[1] == counts[0] + 3  # one per request, three requests
    assert sum("user_sites" in s for s in statements) == 3


# -- footfall user grant/ungrant/disable/enable, key create --user ----------------------------


def ff(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # getpass.getuser() reads LOGNAME first: the actor is cli:alice whoever runs the tests.
    return footfall(*args, data_dir=data_dir, env={"LOGNAME": "alice"}, stdin=stdin)


@pytest.mark.slow
def test_access_commands_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "data"

    def ok(*args: str, stdin: str | None = None) -> str:
        result = ff(data, *args, stdin=stdin)
        assert (result.returncode, result.stderr) == (0, ""), args
        return result.stdout

    def fails(code: int, *args: str) -> str:
        result = ff(data, *args)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert result.stdout == ""
        if code == 1:
            assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
        return result.stderr

    ok("site", "add", "example.com")
    ok("site", "add", "other.org")
    for email, role in (("admin@example.com", "admin"), ("viewer@example.com", "viewer")):
        ok("user", "add", email, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")

    assert ok("user", "grant", "Viewer@example.com", "--site", "www.example.com") == (
        "viewer@example.com may now read example.com\n"
    )
    assert ok("user", "grant", "viewer@example.com", "--site", "example.com") == (
        "viewer@example.com could already read example.com\n"
    )
    ok("user", "grant", "viewer@example.com", "--site", "other.org")
    assert ok("user", "ungrant", "viewer@example.com", "--site", "other.org") == (
        "viewer@example.com may no longer read other.org\n"
    )
    assert ok("user", "ungrant", "viewer@example.com", "--site", "other.org") == (
        "viewer@example.com could not read other.org\n"
    )
    created = ok("key", "create", "--name", "report", "--user", "viewer@example.com")
    first, secret = created.splitlines()
    assert first.startswith("created key report (stats:read, owned by viewer@example.com); ")
    ok("key", "create", "--name", "ops")
    assert ok("user", "disable", "viewer@example.com") == "disabled viewer@example.com\n"

    keys = [line.split("\t") for line in ok("key", "list").splitlines()]
    assert [(k[0], k[-1]) for k in keys] == [
        ("ops", "owner -"),
        ("report", "owner viewer@example.com (disabled)"),
    ]
    users = [line.split("\t") for line in ok("user", "list").splitlines()]
    assert [(u[0], u[1], u[3].split()[0], u[4]) for u in users] == [
        ("admin@example.com", "admin", "active", "sites all"),
        ("viewer@example.com", "viewer", "disabled", "sites example.com"),
    ]
    assert ok("user", "enable", "viewer@example.com") == "enabled viewer@example.com\n"

    assert fails(1, "user", "grant", "admin@example.com", "--site", "example.com") == (
        "error: admin@example.com is an admin and reads every site already; grants are for "
        "viewers\n"
    )
    assert fails(1, "user", "grant", "carol@example.com", "--site", "example.com") == (
        "error: no user carol@example.com: 'footfall user list' shows the users\n"
    )
    assert fails(1, "user", "ungrant", "viewer@example.com", "--site", "nope.example").startswith(
        "error: no site nope.example"
    )
    assert fails(1, "user", "disable", "carol@example.com").startswith("error: no user carol")
    assert fails(1, "user", "enable", "not-an-email").startswith("error: invalid email address")
    assert fails(
        1,
        "key",
        "create",
        "--name",
        "x",
        "--scope",
        "events:import",
        "--user",
        "viewer@example.com",
    ) == (
        "error: viewer@example.com is a viewer, whose keys may hold only stats:read, not "
        "events:import\n"
    )
    assert fails(1, "key", "create", "--name", "x", "--user", "carol@example.com").startswith(
        "error: no user carol@example.com"
    )
    assert "Missing option '--site'" in fails(2, "user", "grant", "viewer@example.com")
    assert "Missing argument 'EMAIL'" in fails(2, "user", "ungrant", "--site", "example.com")
    assert fails(2, "user", "disable")
    assert fails(2, "key", "create", "--name", "x", "--user")
    for command in ("grant", "ungrant", "disable", "enable"):
        assert "Usage:" in ok("user", command, "--help")

    audit = [line.split("\t") for line in ok("audit").splitlines()[1:]]
    assert [(a[1], a[2], a[3]) for a in audit[:8]] == [
        ("cli:alice", "user.enable", "viewer@example.com"),
        ("cli:alice", "user.disable", "viewer@example.com"),
        ("cli:alice", "key.create", "ops"),
        ("cli:alice", "key.create", "report"),
        ("cli:alice", "user.ungrant", "viewer@example.com"),
        ("cli:alice", "user.grant", "viewer@example.com"),
        ("cli:alice", "user.grant", "viewer@example.com"),
        ("cli:alice", "user.add", "viewer@example.com"),
    ]
    assert secret not in ok("audit", "--json")
    assert len(ok("audit", "--action", "user.grant").splitlines()) == 3
