"""Goals: the metadata functions, the `footfall goal` commands and the Sites API endpoints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta import db, goals
from footfall.meta.goals import Goal, add_goal, delete_goal, get_goal, list_goals
from footfall.meta.keys import create_key
from footfall.meta.sites import Site, add_site, delete_site
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.web.api.auth import MISSING_KEY
from footfall.web.api.sites_common import INVALID_SITES_KEY
from tests.commands import footfall

# -- metadata functions ----------------------------------------------------------------------


@pytest.fixture
def site(engine: sa.Engine) -> Site:
    return add_site(engine, domain="example.com")


def test_migration_0002_adds_and_drops_the_goals_table(meta_url: str) -> None:
    engine = db.create_engine(meta_url)
    assert db.migrate(engine, "0001") == "0001"
    assert "goals" not in sa.inspect(engine).get_table_names()
    assert db.migrate(engine, "0002") == "0002"
    inspector = sa.inspect(engine)
    assert "goals" in inspector.get_table_names()
    assert {c["name"] for c in inspector.get_columns("goals")} == {
        "id",
        "site_id",
        "event_name",
        "page_path",
        "display_name",
        "custom_props",
        "created_at",
    }
    # PostgreSQL also lists the index behind the unique constraint on (site_id, display_name).
    indexes = [i for i in inspector.get_indexes("goals") if "duplicates_constraint" not in i]
    assert [i["column_names"] for i in indexes] == [["site_id"]]
    assert [fk["referred_table"] for fk in inspector.get_foreign_keys("goals")] == ["sites"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            ddl = conn.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = 'goals'")
            ).scalar()
        assert "AUTOINCREMENT" in str(ddl)
    assert db.migrate(engine, "0001") == "0001"
    assert "goals" not in sa.inspect(engine).get_table_names()
    assert "sites" in sa.inspect(engine).get_table_names()
    assert db.migrate(engine) == db.head_revision()
    engine.dispose()


def test_the_table_holds_exactly_one_target(engine: sa.Engine, site: Site) -> None:
    insert = sa.text(
        "INSERT INTO goals (site_id, event_name, page_path, display_name, created_at) "
        "VALUES (:site, :event, :page, :name, '2026-01-01')"
    )
    for event, page in (("Signup", "/signup"), (None, None)):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"site": site.id, "event": event, "page": page, "name": "x"})
    with engine.begin() as conn:
        conn.execute(insert, {"site": site.id, "event": "Signup", "page": None, "name": "x"})
        stored = conn.execute(sa.text("SELECT custom_props FROM goals")).scalar_one()
    assert stored == "{}"


def test_display_names_default_as_in_plausible(engine: sa.Engine, site: Site) -> None:
    event = add_goal(engine, site.id, event_name="Signup")
    page = add_goal(engine, site.id, page_path="/pricing")
    assert event == Goal(id=event.id, display_name="Signup", event_name="Signup")
    assert (event.kind, event.page_path, event.custom_props) == ("event", None, ())
    assert page == Goal(id=page.id, display_name="Visit /pricing", page_path="/pricing")
    assert page.kind == "page" and page.event_name is None
    assert list_goals(engine, site.id) == [event, page]
    assert get_goal(engine, site.id, page.id) == page


def test_values_are_trimmed_and_custom_display_names_kept(engine: sa.Engine, site: Site) -> None:
    goal = add_goal(engine, site.id, page_path=" /blog/** ", display_name="  Read the blog ")
    assert (goal.page_path, goal.display_name) == ("/blog/**", "Read the blog")
    assert add_goal(engine, site.id, event_name=" 404 ").display_name == "404"
    assert [g.display_name for g in list_goals(engine, site.id)] == ["Read the blog", "404"]


def test_custom_props_are_stored_in_one_order(engine: sa.Engine, site: Site) -> None:
    goal = add_goal(engine, site.id, event_name="Purchase", custom_props={"plan": "pro", "a": "1"})
    assert goal.custom_props == (("a", "1"), ("plan", "pro"))
    assert list_goals(engine, site.id)[0].custom_props == (("a", "1"), ("plan", "pro"))
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT custom_props FROM goals")).scalar_one()
    assert stored == '{"a": "1", "plan": "pro"}'
    # The same props in another order are the same goal.
    again = add_goal(engine, site.id, event_name="Purchase", custom_props={"a": "1", "plan": "pro"})
    assert again == goal


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs an event name or a page path"),
        ({"event_name": "Signup", "page_path": "/x"}, "an event name or a page path, not both"),
        ({"event_name": "  "}, "event name cannot be blank"),
        ({"event_name": "x" * 121}, "event name is 121 characters long; the limit is 120"),
        ({"event_name": "engagement"}, "'engagement' is reserved"),
        ({"page_path": "pricing"}, "page path 'pricing' must start with /, as in /pricing"),
        ({"page_path": ""}, "page path cannot be blank"),
        ({"page_path": "/" + "x" * 2000}, "page path is 2001 characters long; the limit is 2000"),
        ({"event_name": "Signup", "display_name": " "}, "display name cannot be blank"),
        ({"event_name": "Signup", "display_name": "d" * 256}, "the limit is 255"),
        ({"page_path": "/" + "x" * 300}, "default display name would be 307 characters long"),
        ({"event_name": "Buy", "custom_props": {"": "x"}}, "names must have 1 to 300 characters"),
        ({"event_name": "Buy", "custom_props": {"k": ""}}, "'k' needs a value of 1 to 2000"),
        ({"event_name": "Buy", "custom_props": {"k": "v" * 2001}}, "'k' needs a value of 1 to"),
        ({"event_name": "Buy", "custom_props": {"k": 1}}, "must map strings to strings"),
        (
            {"event_name": "Buy", "custom_props": {"a": "1", "b": "2", "c": "3", "d": "4"}},
            "at most 3 custom properties",
        ),
    ],
)
def test_bad_goals_are_refused(
    engine: sa.Engine, site: Site, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        add_goal(engine, site.id, **kwargs)  # type: ignore[arg-type]
    assert list_goals(engine, site.id) == []


def test_adding_the_same_goal_again_returns_it(engine: sa.Engine, site: Site) -> None:
    first = add_goal(engine, site.id, event_name="Signup", display_name="Sign up")
    assert add_goal(engine, site.id, event_name="Signup", display_name="Sign up") == first
    # Without a display name, the goal for the event is found whatever it is called.
    assert add_goal(engine, site.id, event_name="Signup") == first
    page = add_goal(engine, site.id, page_path="/pricing")
    assert add_goal(engine, site.id, page_path="/pricing") == page
    assert list_goals(engine, site.id) == [first, page]


def test_conflicting_goals_are_refused(engine: sa.Engine, site: Site) -> None:
    first = add_goal(engine, site.id, event_name="Signup")
    with pytest.raises(
        ConflictError,
        match=f"goal {first.id} already counts event 'Signup', with the display name 'Signup': "
        "delete it first to rename it",
    ):
        add_goal(engine, site.id, event_name="Signup", display_name="Other")
    with pytest.raises(ConflictError, match=f"goal {first.id} already has the display name"):
        add_goal(engine, site.id, page_path="/signup", display_name="Signup")
    pro = add_goal(engine, site.id, event_name="Buy", custom_props={"plan": "pro"})
    with pytest.raises(ConflictError, match="already counts event 'Buy' with plan=pro, with"):
        add_goal(engine, site.id, event_name="Buy", custom_props={"plan": "pro"}, display_name="B")
    assert list_goals(engine, site.id) == [first, pro]


def test_custom_props_make_another_goal_of_the_same_event(engine: sa.Engine, site: Site) -> None:
    plain = add_goal(engine, site.id, event_name="Purchase")
    pro = add_goal(
        engine, site.id, event_name="Purchase", custom_props={"plan": "pro"}, display_name="Pro"
    )
    assert pro.id != plain.id and pro.custom_props == (("plan", "pro"),)
    assert add_goal(engine, site.id, event_name="Purchase") == plain
    assert add_goal(engine, site.id, event_name="Purchase", custom_props={"plan": "pro"}) == pro
    # A third variant needs its own display name: the default is the first goal's.
    with pytest.raises(ConflictError, match=f"goal {plain.id} already has the display name"):
        add_goal(engine, site.id, event_name="Purchase", custom_props={"plan": "free"})
    assert list_goals(engine, site.id) == [plain, pro]


def test_goals_belong_to_one_site(engine: sa.Engine, site: Site) -> None:
    other = add_site(engine, domain="other.org")
    mine = add_goal(engine, site.id, event_name="Signup")
    theirs = add_goal(engine, other.id, event_name="Signup")
    assert mine.id != theirs.id and theirs.display_name == "Signup"
    assert list_goals(engine, other.id) == [theirs]
    with pytest.raises(NotFoundError, match=f"no goal with id {theirs.id} on this site"):
        get_goal(engine, site.id, theirs.id)
    with pytest.raises(NotFoundError):
        delete_goal(engine, site.id, theirs.id)
    assert list_goals(engine, other.id) == [theirs]
    with pytest.raises(NotFoundError, match="no site with id 999"):
        add_goal(engine, 999, event_name="Signup")


def test_delete_goal(engine: sa.Engine, site: Site) -> None:
    keep = add_goal(engine, site.id, event_name="Signup")
    gone = add_goal(engine, site.id, page_path="/pricing")
    assert delete_goal(engine, site.id, gone.id) == gone
    assert list_goals(engine, site.id) == [keep]
    with pytest.raises(NotFoundError, match=f"no goal with id {gone.id}"):
        delete_goal(engine, site.id, gone.id)
    # The display name is free again, and the id of the deleted goal is not handed out twice.
    assert add_goal(engine, site.id, page_path="/pricing").id == gone.id + 1


def test_deleting_a_site_deletes_its_goals(meta_url: str, engine: sa.Engine, site: Site) -> None:
    other = add_site(engine, domain="other.org")
    add_goal(engine, site.id, event_name="Signup")
    add_goal(engine, site.id, page_path="/pricing")
    kept = add_goal(engine, other.id, event_name="Signup")
    # A plain engine: SQLite leaves foreign keys (and so ON DELETE CASCADE) switched off.
    plain = sa.create_engine(meta_url)
    if plain.dialect.name == "sqlite":
        with plain.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 0
    delete_site(plain, "example.com")
    with plain.connect() as conn:
        site_ids = conn.execute(sa.text("SELECT site_id FROM goals")).scalars().all()
    plain.dispose()
    assert site_ids == [other.id]
    assert list_goals(engine, other.id) == [kept]


def test_a_site_has_a_bounded_number_of_goals(
    engine: sa.Engine, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(goals, "MAX_GOALS_PER_SITE", 2)
    add_goal(engine, site.id, event_name="a")
    add_goal(engine, site.id, event_name="b")
    with pytest.raises(InvalidInputError, match="at most 2 goals: delete one first"):
        add_goal(engine, site.id, event_name="c")
    # Finding an existing goal is not adding one.
    assert add_goal(engine, site.id, event_name="a").display_name == "a"


# -- command line ----------------------------------------------------------------------------


def ff(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return footfall(*args, data_dir=data_dir)


@pytest.mark.slow
def test_goal_commands_and_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert ff(data, "site", "add", "example.com").returncode == 0
    event = ff(data, "goal", "add", "--site", "example.com", "--event", "Signup")
    assert (event.returncode, event.stderr) == (0, "")
    assert event.stdout == "goal 1 on example.com: event Signup (display name: Signup)\n"
    page = ff(
        data, "goal", "add", "--site", "www.example.com", "--page", "/pricing",
        "--display-name", "Pricing page",
    )  # fmt: skip
    assert page.stdout == "goal 2 on example.com: page /pricing (display name: Pricing page)\n"
    again = ff(data, "goal", "add", "--site", "example.com", "--event", "Signup")
    assert (again.returncode, again.stdout) == (0, event.stdout)
    listed = ff(data, "goal", "list", "--site", "example.com")
    assert listed.stdout == "1\tevent\tSignup\tSignup\n2\tpage\t/pricing\tPricing page\n"

    neither = ff(data, "goal", "add", "--site", "example.com")
    assert (
        neither.returncode == 2 and "exactly one of --event NAME or --page PATH" in neither.stderr
    )
    both = ff(data, "goal", "add", "--site", "example.com", "--event", "a", "--page", "/a")
    assert both.returncode == 2
    assert ff(data, "goal", "add", "--event", "Signup").returncode == 2  # --site is required
    bad = ff(data, "goal", "add", "--site", "example.com", "--page", "pricing")
    assert bad.returncode == 1
    assert bad.stderr == "error: page path 'pricing' must start with /, as in /pricing\n"
    clash = ff(
        data, "goal", "add", "--site", "example.com", "--event", "Signup", "--display-name", "x"
    )
    assert clash.returncode == 1 and clash.stderr.startswith("error: goal 1 already counts")
    unknown = ff(data, "goal", "list", "--site", "nope.org")
    assert unknown.returncode == 1
    assert unknown.stderr == "error: no site nope.org: add it with 'footfall site add nope.org'\n"

    deleted = ff(data, "goal", "delete", "--site", "example.com", "1")
    assert (deleted.returncode, deleted.stdout) == (0, "deleted goal 1 (Signup) from example.com\n")
    missing = ff(data, "goal", "delete", "--site", "example.com", "1")
    assert missing.returncode == 1
    assert missing.stderr == (
        "error: no goal 1 on example.com: 'footfall goal list --site example.com' shows the ids\n"
    )
    assert ff(data, "goal", "delete", "--site", "example.com", "one").returncode == 2
    assert (
        ff(data, "goal", "list", "--site", "example.com").stdout
        == "2\tpage\t/pricing\tPricing page\n"
    )

    assert ff(data, "site", "delete", "example.com", "--yes").returncode == 0
    assert ff(data, "site", "add", "example.com").returncode == 0
    assert ff(data, "goal", "list", "--site", "example.com").stdout == ""
    for command in (["goal"], ["goal", "add"], ["goal", "list"], ["goal", "delete"]):
        result = ff(data, *command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, command


# -- Sites API -------------------------------------------------------------------------------

GOALS = "/api/v1/sites/goals"


def _bearer(settings: Settings, name: str, *scopes: str) -> dict[str, str]:
    _, secret = create_key(open_meta(settings), name=name, scopes=scopes)
    return {"authorization": f"Bearer {secret}"}


@pytest.fixture
def writer(settings: Settings) -> dict[str, str]:
    return _bearer(settings, "writer", "sites:write")


@pytest.fixture
def reader(settings: Settings) -> dict[str, str]:
    return _bearer(settings, "reader", "stats:read")


def test_put_creates_a_goal_from_a_form_or_json(
    client: TestClient, writer: dict[str, str], settings: Settings
) -> None:
    form = {"site_id": "example.com", "goal_type": "event", "event_name": "Signup"}
    created = client.put(GOALS, data=form, headers=writer)
    assert created.status_code == 200
    assert created.json() == {
        "domain": "example.com",
        "id": 1,
        "display_name": "Signup",
        "goal_type": "event",
        "event_name": "Signup",
        "page_path": None,
        "custom_props": {},
    }
    # Idempotent, like Plausible's find-or-create.
    assert client.put(GOALS, data=form, headers=writer).json() == created.json()
    page = client.put(
        GOALS,
        json={"site_id": "www.example.com", "goal_type": "page", "page_path": "/pricing"},
        headers=writer,
    )
    assert page.status_code == 200
    assert page.json() == {
        "domain": "example.com",
        "id": 2,
        "display_name": "Visit /pricing",
        "goal_type": "page",
        "event_name": None,
        "page_path": "/pricing",
        "custom_props": {},
    }
    named = client.put(
        f"{GOALS}?site_id=example.com",
        json={"goal_type": "event", "event_name": "Buy", "display_name": "Purchase"},
        headers=writer,
    )
    assert named.json()["display_name"] == "Purchase"
    with_props = client.put(
        GOALS,
        json={
            "site_id": "example.com",
            "goal_type": "event",
            "event_name": "Buy",
            "display_name": "Pro purchase",
            "custom_props": {"plan": "pro"},
        },
        headers=writer,
    )
    assert with_props.json()["custom_props"] == {"plan": "pro"}
    assert with_props.json()["id"] == 4
    # An empty field of the other type, as an HTML form sends it, is no second target.
    empty_other = client.put(
        GOALS,
        data={"site_id": "example.com", "goal_type": "page", "page_path": "/a", "event_name": ""},
        headers=writer,
    )
    assert empty_other.json()["page_path"] == "/a"
    stored = list_goals(open_meta(settings), 1)
    assert [(g.id, g.display_name, g.custom_props) for g in stored] == [
        (1, "Signup", ()),
        (2, "Visit /pricing", ()),
        (3, "Purchase", ()),
        (4, "Pro purchase", (("plan", "pro"),)),
        (5, "Visit /a", ()),
    ]


_EVENT = {"site_id": "example.com", "goal_type": "event"}
_PAGE = {"site_id": "example.com", "goal_type": "page"}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"goal_type": "event", "event_name": "x"},
            400,
            "Parameter `site_id` is required to create a goal",
        ),
        (
            {"site_id": "example.com", "event_name": "x"},
            400,
            "Parameter `goal_type` is required to create a goal",
        ),
        (
            {**_EVENT, "goal_type": "custom"},
            400,
            "Parameter `goal_type` must be `event` or `page`",
        ),
        ({**_EVENT, "page_path": "/x"}, 400, "Parameter `event_name` is required to create a goal"),
        (_PAGE, 400, "Parameter `page_path` is required to create a goal"),
        (
            {**_PAGE, "page_path": "pricing"},
            400,
            "page path 'pricing' must start with /, as in /pricing",
        ),
        ({**_EVENT, "event_name": ""}, 400, "a goal's event name cannot be blank"),
        (
            {**_EVENT, "event_name": "engagement"},
            400,
            "the event name 'engagement' is reserved and cannot be a goal",
        ),
        (
            {**_EVENT, "event_name": "a", "page_path": "/a"},
            400,
            "a goal takes an event name or a page path, not both",
        ),
        ({**_EVENT, "event_name": 7}, 400, "Parameter `event_name` must be a string"),
        (
            {**_EVENT, "event_name": "x", "custom_props": "plan=pro"},
            400,
            "Parameter `custom_props` must be a JSON object",
        ),
        (
            {**_EVENT, "event_name": "x", "custom_props": {"plan": 1}},
            400,
            "a goal's custom properties must map strings to strings",
        ),
        ({**_EVENT, "site_id": "nope.org", "event_name": "x"}, 404, "Site could not be found"),
    ],
)
def test_put_refuses_bad_input_with_one_clear_message(
    client: TestClient, writer: dict[str, str], body: dict[str, object], status: int, message: str
) -> None:
    response = client.put(GOALS, json=body, headers=writer)
    assert (response.status_code, response.json()) == (status, {"error": message})


def test_put_refuses_conflicts_and_malformed_bodies(
    client: TestClient, writer: dict[str, str]
) -> None:
    base = {"site_id": "example.com", "goal_type": "event", "event_name": "Signup"}
    assert client.put(GOALS, json=base, headers=writer).status_code == 200
    renamed = client.put(GOALS, json={**base, "display_name": "Sign up"}, headers=writer)
    assert renamed.status_code == 400
    assert renamed.json()["error"].startswith("goal 1 already counts event 'Signup'")
    headers = {**writer, "content-type": "application/json"}
    not_json = client.put(GOALS, content=b"{", headers=headers)
    assert not_json.json() == {"error": "the request body is not valid JSON"}
    a_list = client.put(GOALS, content=b"[]", headers=headers)
    assert a_list.json() == {"error": "the request body must be a JSON object"}
    xml = client.put(GOALS, content=b"<goal/>", headers={**writer, "content-type": "text/xml"})
    assert xml.status_code == 415 and "unsupported content type text/xml" in xml.json()["error"]
    huge = client.put(GOALS, data={"site_id": "x" * 70_000}, headers=writer)
    assert huge.status_code == 413


def test_put_needs_a_valid_key_with_sites_write(
    client: TestClient, settings: Settings, reader: dict[str, str]
) -> None:
    body = {"site_id": "example.com", "goal_type": "event", "event_name": "Signup"}
    missing = client.put(GOALS, json=body)
    assert (missing.status_code, missing.json()) == (401, {"error": MISSING_KEY})
    invalid = client.put(GOALS, json=body, headers={"authorization": "Bearer ff_nope"})
    assert (invalid.status_code, invalid.json()) == (401, {"error": INVALID_SITES_KEY})
    read_only = client.put(GOALS, json=body, headers=reader)
    assert read_only.status_code == 403
    assert read_only.json() == {"error": "This API key lacks the sites:write scope."}
    assert list_goals(open_meta(settings), 1) == []
    admin = _bearer(settings, "root", "admin")
    assert client.put(GOALS, json=body, headers=admin).status_code == 200


def test_get_lists_goals_newest_first_for_readers_and_writers(
    client: TestClient, settings: Settings, reader: dict[str, str], writer: dict[str, str]
) -> None:
    engine = open_meta(settings)
    add_goal(engine, 1, event_name="Signup")
    add_goal(engine, 1, page_path="/pricing", display_name="Pricing")
    expected = {
        "goals": [
            {
                "id": 2,
                "display_name": "Pricing",
                "goal_type": "page",
                "event_name": None,
                "page_path": "/pricing",
            },
            {
                "id": 1,
                "display_name": "Signup",
                "goal_type": "event",
                "event_name": "Signup",
                "page_path": None,
            },
        ],
        "meta": {"after": None, "before": None, "limit": 100},
    }
    for headers in (reader, writer):
        response = client.get(GOALS, params={"site_id": "example.com"}, headers=headers)
        assert (response.status_code, response.json()) == (200, expected)
    importer = _bearer(settings, "importer", "events:import")
    refused = client.get(GOALS, params={"site_id": "example.com"}, headers=importer)
    assert refused.status_code == 403
    assert refused.json() == {"error": "This API key lacks the stats:read or sites:write scope."}
    missing = client.get(GOALS, params={"site_id": "example.com"})
    assert (missing.status_code, missing.json()) == (401, {"error": MISSING_KEY})
    no_site = client.get(GOALS, headers=reader)
    assert no_site.json() == {"error": "Parameter `site_id` is required to list goals"}
    unknown = client.get(GOALS, params={"site_id": "nope.org"}, headers=reader)
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Site could not be found"})
    add_site(engine, domain="other.org")
    empty = client.get(GOALS, params={"site_id": "other.org"}, headers=reader).json()
    assert empty == {"goals": [], "meta": {"after": None, "before": None, "limit": 100}}


def test_get_pages_with_cursors(
    client: TestClient, settings: Settings, reader: dict[str, str]
) -> None:
    engine = open_meta(settings)
    for name in ("a", "b", "c"):
        add_goal(engine, 1, event_name=name)

    def page(**params: str) -> tuple[list[int], dict[str, object]]:
        body = client.get(GOALS, params={"site_id": "example.com", **params}, headers=reader)
        assert body.status_code == 200, body.text
        return [g["id"] for g in body.json()["goals"]], body.json()["meta"]

    assert page(limit="2") == ([3, 2], {"after": "2", "before": None, "limit": 2})
    assert page(limit="2", after="2") == ([1], {"after": None, "before": "1", "limit": 2})
    assert page(limit="2", before="1") == ([3, 2], {"after": "2", "before": None, "limit": 2})
    assert page(limit="1", before="1") == ([2], {"after": "2", "before": "2", "limit": 1})
    for params, message in (
        ({"limit": "0"}, "Parameter `limit` must be a whole number from 1 to 1000"),
        ({"limit": "1001"}, "Parameter `limit` must be a whole number from 1 to 1000"),
        ({"after": "x"}, "Parameter `after` is not a cursor this API returned"),
        ({"after": "2", "before": "1"}, "give only one of the parameters `after` and `before`"),
    ):
        response = client.get(GOALS, params={"site_id": "example.com", **params}, headers=reader)
        assert (response.status_code, response.json()) == (400, {"error": message}), params


def test_delete_removes_one_goal_of_the_site(
    client: TestClient, settings: Settings, writer: dict[str, str], reader: dict[str, str]
) -> None:
    engine = open_meta(settings)
    keep = add_goal(engine, 1, event_name="Signup")
    gone = add_goal(engine, 1, page_path="/pricing")
    other = add_site(engine, domain="other.org")
    theirs = add_goal(engine, other.id, event_name="Signup")

    refused = client.delete(f"{GOALS}/{gone.id}?site_id=example.com", headers=reader)
    assert refused.status_code == 403
    assert refused.json() == {"error": "This API key lacks the sites:write scope."}
    no_key = client.delete(f"{GOALS}/{gone.id}?site_id=example.com")
    assert (no_key.status_code, no_key.json()) == (401, {"error": MISSING_KEY})

    deleted = client.delete(f"{GOALS}/{gone.id}?site_id=example.com", headers=writer)
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": True})
    assert list_goals(engine, 1) == [keep]
    again = client.delete(f"{GOALS}/{gone.id}?site_id=example.com", headers=writer)
    assert (again.status_code, again.json()) == (404, {"error": "Goal could not be found"})
    for goal_id in (str(theirs.id), "abc", "9" * 30):
        response = client.delete(f"{GOALS}/{goal_id}?site_id=example.com", headers=writer)
        assert (response.status_code, response.json()) == (
            404,
            {"error": "Goal could not be found"},
        ), goal_id
    assert list_goals(engine, other.id) == [theirs]

    no_site = client.delete(f"{GOALS}/{keep.id}", headers=writer)
    assert (no_site.status_code, no_site.json()) == (
        400,
        {"error": "Parameter `site_id` is required to delete a goal"},
    )
    # site_id may come in the body, JSON or form-encoded.
    in_json = client.request(
        "DELETE", f"{GOALS}/{keep.id}", json={"site_id": "example.com"}, headers=writer
    )
    assert in_json.json() == {"deleted": True}
    in_form = client.request(
        "DELETE", f"{GOALS}/{theirs.id}", data={"site_id": "other.org"}, headers=writer
    )
    assert in_form.json() == {"deleted": True}
    assert list_goals(engine, 1) == [] and list_goals(engine, other.id) == []
