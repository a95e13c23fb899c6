"""The audit log: the metadata functions, `footfall audit` and ``GET /api/v1/audit``."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.cli import common
from footfall.errors import ConflictError, InvalidInputError
from footfall.meta import audit, db
from footfall.meta.audit import Actor, AuditEntry, list_entries, parse_since, record
from footfall.meta.goals import add_goal, delete_goal
from footfall.meta.keys import create_key, revoke_key
from footfall.meta.sites import add_site, delete_site
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.web.api.auth import INVALID_KEY, MISSING_KEY
from tests.commands import footfall

ALICE = Actor("cli:alice")

# -- metadata functions ----------------------------------------------------------------------


def _dump(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_log")).mappings().all()
    return str([dict(row) for row in rows])


def test_migration_0003_adds_and_drops_the_audit_log(meta_url: str) -> None:
    engine = db.create_engine(meta_url)
    assert db.migrate(engine, "0003") == "0003"
    inspector = sa.inspect(engine)
    assert {c["name"] for c in inspector.get_columns("audit_log")} == {
        "id",
        "at",
        "actor",
        "action",
        "target",
        "ip",
        "before",
        "after",
    }
    assert sorted(i["column_names"] for i in inspector.get_indexes("audit_log")) == [
        ["action"],
        ["at"],
    ]
    assert db.migrate(engine, "0002") == "0002"
    assert "audit_log" not in sa.inspect(engine).get_table_names()
    assert "goals" in sa.inspect(engine).get_table_names()
    assert db.migrate(engine) == db.head_revision()
    engine.dispose()


def test_each_action_writes_exactly_its_entry(engine: sa.Engine) -> None:
    site = add_site(engine, domain="example.com", timezone="Europe/Berlin", actor=ALICE)
    key, _ = create_key(engine, name="ci", scopes=("stats:read", "admin"), actor=ALICE)
    revoke_key(engine, "ci", actor=ALICE)
    goal = add_goal(engine, site.id, event_name="Buy", custom_props={"plan": "pro"}, actor=ALICE)
    delete_goal(engine, site.id, goal.id, actor=ALICE)
    delete_site(engine, "example.com", actor=ALICE)

    entries = list_entries(engine)
    assert [(e.action, e.target) for e in reversed(entries)] == [
        ("site.add", "example.com"),
        ("key.create", "ci"),
        ("key.revoke", "ci"),
        ("goal.add", f"goal {goal.id} on example.com"),
        ("goal.delete", f"goal {goal.id} on example.com"),
        ("site.delete", "example.com"),
    ]
    assert {(e.actor, e.ip) for e in entries} == {("cli:alice", None)}
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    by_action = {e.action: e for e in entries}
    site_state = {"domain": "example.com", "timezone": "Europe/Berlin"}
    assert (by_action["site.add"].before, by_action["site.add"].after) == (None, site_state)
    assert (by_action["site.delete"].before, by_action["site.delete"].after) == (site_state, None)
    key_state = {"name": "ci", "prefix": key.prefix, "scopes": ["stats:read", "admin"]}
    assert by_action["key.create"].after == key_state
    assert by_action["key.create"].before is None
    goal_state = {
        "site": "example.com",
        "display_name": "Buy",
        "event_name": "Buy",
        "page_path": None,
        "custom_props": {"plan": "pro"},
    }
    assert (by_action["goal.add"].before, by_action["goal.add"].after) == (None, goal_state)
    assert (by_action["goal.delete"].before, by_action["goal.delete"].after) == (goal_state, None)
    now = dt.datetime.now(dt.UTC)
    assert all(now - dt.timedelta(minutes=1) < e.at <= now for e in entries)
    assert all(e.at.utcoffset() == dt.timedelta(0) for e in entries)


def test_key_revoke_records_before_and_after(engine: sa.Engine) -> None:
    create_key(engine, name="ci", actor=ALICE)
    revoked = revoke_key(engine, "ci", actor=Actor("key:root", ip="203.0.113.7"))
    entry = list_entries(engine, action="key.revoke")[0]
    assert (entry.actor, entry.ip) == ("key:root", "203.0.113.7")
    assert entry.before is not None and entry.after is not None
    assert entry.before["revoked_at"] is None
    assert revoked.revoked_at is not None
    assert parse_since(entry.after["revoked_at"]) == revoked.revoked_at
    assert {k: v for k, v in entry.after.items() if k != "revoked_at"} == {
        k: v for k, v in entry.before.items() if k != "revoked_at"
    }
    assert entry.change().startswith('revoked_at: null -> "')
    # Revoking again changes nothing, so it records nothing.
    revoke_key(engine, "ci", actor=ALICE)
    assert len(list_entries(engine, action="key.revoke")) == 1


def test_no_change_no_entry(engine: sa.Engine) -> None:
    # Without an actor (seeding, tests) nothing is recorded.
    site = add_site(engine, domain="example.com")
    create_key(engine, name="quiet")
    assert list_entries(engine) == []
    # A refused change, or a find-or-create that finds, records nothing either.
    with pytest.raises(ConflictError):
        add_site(engine, domain="example.com", actor=ALICE)
    add_goal(engine, site.id, event_name="Signup", actor=ALICE)
    add_goal(engine, site.id, event_name="Signup", actor=ALICE)
    with pytest.raises(ConflictError):
        add_goal(engine, site.id, event_name="Signup", display_name="other", actor=ALICE)
    assert [e.action for e in list_entries(engine)] == ["goal.add"]


def test_an_entry_rolls_back_with_its_transaction(engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        record(conn, actor="cli:alice", action="site.add", target="example.com")
        raise RuntimeError("the change failed")
    assert list_entries(engine) == []
    record(engine, actor="cli:alice", action="site.add", target="example.com")
    assert len(list_entries(engine)) == 1
    with pytest.raises(ValueError, match="unknown audit action"):
        record(engine, actor="cli:alice", action="site.rename", target="example.com")


def test_secrets_are_never_recorded(engine: sa.Engine) -> None:
    key, secret = create_key(engine, name="deploy", scopes=("admin",), actor=ALICE)
    revoke_key(engine, "deploy", actor=ALICE)
    dump = _dump(engine)
    assert key.prefix in dump
    assert secret not in dump
    assert secret[10:] not in dump
    with engine.connect() as conn:
        key_hash = conn.execute(sa.text("SELECT key_hash FROM api_keys")).scalar_one()
    assert key_hash not in dump


def test_long_values_are_cut_to_the_column_widths(engine: sa.Engine) -> None:
    # PostgreSQL refuses a value longer than its column rather than storing it.
    record(
        engine,
        actor="cli:" + "u" * 300,
        action="goal.add",
        target="t" * 300,
        ip="9" * 100,
    )
    entry = list_entries(engine)[0]
    assert (len(entry.actor), len(entry.target), len(entry.ip or "")) == (255, 255, 45)


def test_list_entries_filters_newest_first(engine: sa.Engine) -> None:
    day = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    for hour, actor, action in (
        (1, "cli:alice", "site.add"),
        (2, "key:ci", "goal.add"),
        (3, "cli:alice", "goal.add"),
        (4, "key:ci", "goal.delete"),
    ):
        record(
            engine,
            actor=actor,
            action=action,
            target=f"t{hour}",
            at=day + dt.timedelta(hours=hour),
        )

    def targets(**kwargs: object) -> list[str]:
        return [e.target for e in list_entries(engine, **kwargs)]  # type: ignore[arg-type]

    assert targets() == ["t4", "t3", "t2", "t1"]
    assert targets(since=day + dt.timedelta(hours=3)) == ["t4", "t3"]
    # An offset is honoured: 04:00+01:00 is 03:00 UTC.
    assert targets(since=parse_since("2026-11-02T04:00:00+01:00")) == ["t4", "t3"]
    assert targets(actor="cli:alice") == ["t3", "t1"]
    assert targets(action="goal.add") == ["t3", "t2"]
    assert targets(actor="key:ci", action="goal.add") == ["t2"]
    assert targets(limit=1) == ["t4"]
    assert targets(since=day + dt.timedelta(days=1)) == []
    assert list_entries(engine)[0].at == day + dt.timedelta(hours=4)
    with pytest.raises(InvalidInputError, match="from 1 to 10000"):
        list_entries(engine, limit=0)
    with pytest.raises(InvalidInputError, match=r"unknown action 'site\.rename'"):
        list_entries(engine, action="site.rename")


def test_parse_since() -> None:
    midnight = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    assert parse_since("2026-11-02") == midnight
    assert parse_since("2026-11-02T10:00:00") == midnight.replace(hour=10)
    assert parse_since("2026-11-02T10:00:00Z") == midnight.replace(hour=10)
    assert parse_since(" 2026-11-02T12:00+02:00 ") == midnight.replace(hour=10)
    for bad in ("", "yesterday", "2026-13-01", "02/11/2026"):
        with pytest.raises(InvalidInputError, match="is not an ISO date or date-time"):
            parse_since(bad)


def test_change_summaries() -> None:
    at = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    added = AuditEntry(1, at, "cli", "site.add", "a.com", None, None, {"domain": "a.com"})
    deleted = AuditEntry(2, at, "cli", "site.delete", "a.com", None, {"domain": "a.com"}, None)
    assert added.change() == '+ {"domain":"a.com"}'
    assert deleted.change() == '- {"domain":"a.com"}'
    assert added.as_json()["at"] == "2026-11-02T00:00:00Z"


def test_cli_actor_falls_back_to_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    assert common.actor() == Actor("cli:alice")

    def no_user() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert common.actor() == Actor("cli")


# -- footfall audit --------------------------------------------------------------------------


def ff(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # getpass.getuser() reads LOGNAME first: the actor is cli:alice whoever runs the tests.
    return footfall(*args, data_dir=data_dir, env={"LOGNAME": "alice"})


def _rows(result: subprocess.CompletedProcess[str]) -> list[list[str]]:
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header == "at\tactor\taction\ttarget\tip\tchange"
    return [row.split("\t") for row in rows]


@pytest.mark.slow
def test_audit_command_lists_every_cli_action(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert ff(data, "site", "add", "example.com").returncode == 0
    created = ff(data, "key", "create", "--name", "ci", "--scope", "admin")
    secret = created.stdout.splitlines()[-1]
    assert ff(data, "key", "revoke", "ci").returncode == 0
    assert ff(data, "goal", "add", "--site", "example.com", "--event", "Signup").returncode == 0
    assert ff(data, "goal", "delete", "--site", "example.com", "1").returncode == 0
    assert ff(data, "site", "delete", "example.com", "--yes").returncode == 0
    # Failures record nothing.
    assert ff(data, "key", "revoke", "nope").returncode == 1

    rows = _rows(ff(data, "audit"))
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("cli:alice", "site.delete", "example.com", "-"),
        ("cli:alice", "goal.delete", "goal 1 on example.com", "-"),
        ("cli:alice", "goal.add", "goal 1 on example.com", "-"),
        ("cli:alice", "key.revoke", "ci", "-"),
        ("cli:alice", "key.create", "ci", "-"),
        ("cli:alice", "site.add", "example.com", "-"),
    ]
    assert all(r[0].endswith("Z") and parse_since(r[0]) for r in rows)
    assert rows[0][5] == '- {"domain":"example.com","timezone":"UTC"}'
    assert rows[3][5].startswith('revoked_at: null -> "')

    as_json = ff(data, "audit", "--json", "--action", "key.create")
    assert as_json.returncode == 0
    (line,) = as_json.stdout.splitlines()
    entry = json.loads(line)
    assert (entry["actor"], entry["action"], entry["target"], entry["ip"]) == (
        "cli:alice",
        "key.create",
        "ci",
        None,
    )
    assert entry["after"] == {"name": "ci", "prefix": secret[:10], "scopes": ["admin"]}
    assert entry["before"] is None

    assert [r[2] for r in _rows(ff(data, "audit", "--limit", "2"))] == [
        "site.delete",
        "goal.delete",
    ]
    assert _rows(ff(data, "audit", "--actor", "key:ci")) == []
    assert len(_rows(ff(data, "audit", "--actor", "cli:alice"))) == 6
    assert _rows(ff(data, "audit", "--since", "2999-01-01")) == []
    assert len(_rows(ff(data, "audit", "--since", "2000-01-01T00:00:00Z"))) == 6

    bad_since = ff(data, "audit", "--since", "yesterday")
    assert bad_since.returncode == 2
    assert "'yesterday' is not an ISO date or date-time" in bad_since.stderr
    assert ff(data, "audit", "--action", "site.rename").returncode == 2
    assert ff(data, "audit", "--limit", "0").returncode == 2
    assert ff(data, "audit", "--help").returncode == 0

    everything = ff(data, "audit", "--json").stdout + ff(data, "audit").stdout
    assert secret not in everything
    engine = db.create_engine(f"sqlite:///{data / 'meta.sqlite3'}")
    assert secret not in _dump(engine)
    engine.dispose()


# -- Sites API and GET /api/v1/audit ---------------------------------------------------------

GOALS = "/api/v1/sites/goals"
AUDIT = "/api/v1/audit"


def _bearer(settings: Settings, name: str, *scopes: str) -> dict[str, str]:
    _, secret = create_key(open_meta(settings), name=name, scopes=scopes)
    return {"authorization": f"Bearer {secret}"}


def test_goal_endpoints_record_the_key_and_client_address(
    client: TestClient, settings: Settings
) -> None:
    writer = _bearer(settings, "writer", "sites:write")
    form = {"site_id": "example.com", "goal_type": "event", "event_name": "Signup"}
    # The client is no trusted proxy: the address it claims is not recorded.
    forged = {**writer, "x-forwarded-for": "203.0.113.7, 10.0.0.1"}
    assert client.put(GOALS, data=form, headers=forged).status_code == 200
    # Find-or-create finding the goal, and a refused request, change nothing.
    assert client.put(GOALS, data=form, headers=writer).status_code == 200
    assert client.put(GOALS, data={**form, "goal_type": "x"}, headers=writer).status_code == 400
    assert client.delete(f"{GOALS}/99?site_id=example.com", headers=writer).status_code == 404
    deleted = client.delete(f"{GOALS}/1?site_id=example.com", headers=writer)
    assert deleted.status_code == 200

    entries = list_entries(open_meta(settings))
    assert [(e.actor, e.action, e.target, e.ip) for e in entries] == [
        ("key:writer", "goal.delete", "goal 1 on example.com", "testclient"),
        ("key:writer", "goal.add", "goal 1 on example.com", "testclient"),
    ]
    assert entries[1].after == {
        "site": "example.com",
        "display_name": "Signup",
        "event_name": "Signup",
        "page_path": None,
        "custom_props": {},
    }
    assert entries[0].before == entries[1].after


def test_audit_endpoint_needs_an_admin_key(client: TestClient, settings: Settings) -> None:
    admin = _bearer(settings, "root", "admin")
    reader = _bearer(settings, "reader", "stats:read")
    writer = _bearer(settings, "writer", "sites:write")
    engine = open_meta(settings)
    add_site(engine, domain="other.org", actor=ALICE)
    client.put(
        GOALS,
        json={"site_id": "example.com", "goal_type": "page", "page_path": "/pricing"},
        headers=writer,
    )

    for headers in (reader, writer):
        refused = client.get(AUDIT, headers=headers)
        assert (refused.status_code, refused.json()) == (401, {"error": INVALID_KEY})
    no_key = client.get(AUDIT)
    assert (no_key.status_code, no_key.json()) == (401, {"error": MISSING_KEY})

    listed = client.get(AUDIT, headers=admin)
    assert listed.status_code == 200
    entries = listed.json()["entries"]
    assert [(e["actor"], e["action"], e["target"], e["ip"]) for e in entries] == [
        ("key:writer", "goal.add", "goal 1 on example.com", "testclient"),
        ("cli:alice", "site.add", "other.org", None),
    ]
    assert set(entries[0]) == {"id", "at", "actor", "action", "target", "ip", "before", "after"}
    assert entries[1]["after"] == {"domain": "other.org", "timezone": "UTC"}
    assert parse_since(entries[0]["at"]) >= parse_since(entries[1]["at"])

    def targets(**params: str) -> list[str]:
        response = client.get(AUDIT, params=params, headers=admin)
        assert response.status_code == 200, response.json()
        return [e["target"] for e in response.json()["entries"]]

    assert targets(actor="cli:alice") == ["other.org"]
    assert targets(action="goal.add") == ["goal 1 on example.com"]
    assert targets(limit="1") == ["goal 1 on example.com"]
    assert targets(since="2999-01-01") == []
    assert len(targets(since="2000-01-01T00:00:00+02:00")) == 2

    for params, message in (
        (
            {"since": "yesterday"},
            "Parameter `since`: 'yesterday' is not an ISO date or date-time, such as "
            "2026-11-02 or 2026-11-02T10:00:00Z",
        ),
        ({"limit": "0"}, "Parameter `limit` must be a whole number from 1 to 10000"),
        ({"limit": "x"}, "Parameter `limit` must be a whole number from 1 to 10000"),
        (
            {"action": "site.rename"},
            "unknown action 'site.rename': choose from " + ", ".join(audit.ACTIONS),
        ),
    ):
        response = client.get(AUDIT, params=params, headers=admin)
        assert (response.status_code, response.json()) == (400, {"error": message}), params
