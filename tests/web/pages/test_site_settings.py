"""Site settings: time zone, snippet, goals, API keys, members and shared links.

The metadata functions run on SQLite and PostgreSQL (`engine`); the pages run in the real app
over a real data directory, signed in through the real sign-in page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta import users as users_module
from footfall.meta.access import grant_site, sites_for_user
from footfall.meta.audit import Actor, list_entries
from footfall.meta.goals import add_goal, list_goals
from footfall.meta.keys import create_key, list_keys
from footfall.meta.shared_links import (
    check_link_password,
    create_link,
    delete_link,
    find_link,
    list_links,
)
from footfall.meta.sites import add_site, delete_site, get_site, set_site_timezone
from footfall.meta.users import add_user, get_user, hash_password, password_matches
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.web.app import create_app
from tests.commands import footfall_process

ALICE = Actor("cli:alice", ip="192.0.2.1")
PASSWORD = "correct horse battery"
LINK_PASSWORD = "open sesame, please"
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
SETTINGS = "/sites/example.com/settings"
AGGREGATE = "/api/v1/stats/aggregate"
# What TestClient answers: an httpx (or httpx2, as installed) response.
Response = Any


# -- shared links and the time zone in the metadata store (SQLite and PostgreSQL) ------------


def test_shared_links_lifecycle(engine: sa.Engine) -> None:
    shop = add_site(engine, domain="shop.example")
    blog = add_site(engine, domain="blog.example")
    open_link = create_link(engine, "WWW.shop.example", name=" Everyone ", actor=ALICE)
    locked = create_link(engine, "shop.example", name="Board", password=LINK_PASSWORD, actor=ALICE)
    assert (open_link.site_id, open_link.name, open_link.has_password) == (
        shop.id,
        "Everyone",
        False,
    )
    assert locked.has_password and len(locked.slug) == 22 and locked.slug != open_link.slug
    assert locked.created_at.utcoffset() == dt.timedelta(0)
    assert not hasattr(locked, "password_hash")
    # Names are unique within a site, not across sites.
    with pytest.raises(
        ConflictError, match=r"shop\.example already has a shared link named .Board."
    ):
        create_link(engine, "shop.example", name="Board", actor=ALICE)
    elsewhere = create_link(engine, "blog.example", name="Board")
    assert list_links(engine, shop.id) == [open_link, locked]
    assert list_links(engine, blog.id) == [elsewhere]
    assert list_links(engine, 999) == []

    assert find_link(engine, locked.slug) == (locked, shop)
    assert find_link(engine, "no-such-slug") is None
    assert find_link(engine, "nul\x00slug") is None
    assert find_link(engine, "x" * 1000) is None

    assert check_link_password(engine, locked.slug, LINK_PASSWORD)
    assert not check_link_password(engine, locked.slug, "open sesame, please!")
    assert not check_link_password(engine, locked.slug, "")
    assert not check_link_password(engine, open_link.slug, "")  # no password: nothing to match
    assert not check_link_password(engine, "no-such-slug", LINK_PASSWORD)
    assert not check_link_password(engine, "nul\x00slug", LINK_PASSWORD)

    # The password is kept only as an argon2id hash.
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM shared_links")).mappings().all()
    assert LINK_PASSWORD not in str(rows)
    stored = {row["name"]: row["password_hash"] for row in rows if row["site_id"] == shop.id}
    assert stored["Everyone"] is None and stored["Board"].startswith("$argon2id$")

    # A link of another site is not found through this one.
    with pytest.raises(NotFoundError, match="no such shared link on this site"):
        delete_link(engine, "shop.example", elsewhere.slug, actor=ALICE)
    with pytest.raises(NotFoundError, match="no such shared link"):
        delete_link(engine, "shop.example", "nul\x00slug", actor=ALICE)
    with pytest.raises(NotFoundError, match=r"no site nope\.example"):
        delete_link(engine, "nope.example", locked.slug, actor=ALICE)
    assert delete_link(engine, "shop.example", locked.slug, actor=ALICE) == locked
    assert find_link(engine, locked.slug) is None
    assert not check_link_password(engine, locked.slug, LINK_PASSWORD)

    entries = list(reversed(list_entries(engine)))
    assert [(e.actor, e.action, e.target, e.ip) for e in entries] == [
        ("cli:alice", "link.create", f"link {open_link.id} on shop.example", "192.0.2.1"),
        ("cli:alice", "link.create", f"link {locked.id} on shop.example", "192.0.2.1"),
        ("cli:alice", "link.delete", f"link {locked.id} on shop.example", "192.0.2.1"),
    ]
    snapshot = {"site": "shop.example", "name": "Board", "has_password": True}
    assert (entries[1].before, entries[1].after) == (None, snapshot)
    assert (entries[2].before, entries[2].after) == (snapshot, None)
    logged = json.dumps([e.as_json() for e in entries])
    assert LINK_PASSWORD not in logged and locked.slug not in logged and "argon2" not in logged


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("", None, "a shared link needs a name"),
        ("   ", None, "a shared link needs a name"),
        ("x" * 101, None, "the link name is 101 characters long; the limit is 100"),
        ("a\x00b", None, "cannot contain a NUL character"),
        ("Board", "short", "the password is 5 characters long; it needs at least 12"),
        ("Board", "", "the password is 0 characters long"),
        ("Board", "x" * 1025, "the password is 1025 characters long; the limit is 1024"),
    ],
)
def test_shared_link_refusals(
    engine: sa.Engine, name: str, password: str | None, message: str
) -> None:
    add_site(engine, domain="shop.example")
    with pytest.raises(InvalidInputError, match=re.escape(message)) as caught:
        create_link(engine, "shop.example", name=name, password=password, actor=ALICE)
    if password:
        assert password not in str(caught.value)
    assert list_entries(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM shared_links")).scalar_one() == 0


def test_a_link_to_an_unknown_site_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(NotFoundError, match=r"no site nope\.example"):
        create_link(engine, "nope.example", name="Board", actor=ALICE)


def test_deleting_a_site_deletes_its_links(engine: sa.Engine) -> None:
    add_site(engine, domain="shop.example")
    kept = add_site(engine, domain="blog.example")
    gone = create_link(engine, "shop.example", name="Board", password=LINK_PASSWORD)
    stays = create_link(engine, "blog.example", name="Board")
    delete_site(engine, "shop.example")
    assert find_link(engine, gone.slug) is None
    assert find_link(engine, stays.slug) == (stays, kept)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM shared_links")).scalar_one() == 1
    # The database cascades too, for rows removed by other means than delete_site.
    create_link(engine, "blog.example", name="Second")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sites WHERE domain = 'blog.example'"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM shared_links")).scalar_one() == 0


def test_link_passwords_cost_one_verification_whatever_the_case(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_site(engine, domain="shop.example")
    locked = create_link(engine, "shop.example", name="Locked", password=LINK_PASSWORD)
    open_link = create_link(engine, "shop.example", name="Open")
    calls: list[str] = []
    real = users_module._matches

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(users_module, "_matches", counting)
    for slug, password in (
        (locked.slug, LINK_PASSWORD),
        (locked.slug, "wrong password"),
        (locked.slug, "x" * 5000),
        (open_link.slug, LINK_PASSWORD),
        ("no-such-slug", LINK_PASSWORD),
    ):
        calls.clear()
        check_link_password(engine, slug, password)
        assert len(calls) == 1, slug


def test_password_helpers_match_user_passwords() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert password_matches(hashed, PASSWORD)
    assert not password_matches(hashed, PASSWORD + "!")
    assert not password_matches(None, PASSWORD)
    assert not password_matches("not a hash", PASSWORD)
    with pytest.raises(InvalidInputError, match="it needs at least 12"):
        hash_password("short")


def test_set_site_timezone(engine: sa.Engine) -> None:
    add_site(engine, domain="shop.example")
    updated = set_site_timezone(engine, "WWW.shop.example", "Europe/Berlin", actor=ALICE)
    assert updated.timezone == "Europe/Berlin"
    assert get_site(engine, "shop.example") == updated
    # Unchanged: nothing to record.
    assert set_site_timezone(engine, "shop.example", "Europe/Berlin", actor=ALICE) == updated
    with pytest.raises(InvalidInputError, match="unknown time zone 'Mars/Olympus'"):
        set_site_timezone(engine, "shop.example", "Mars/Olympus", actor=ALICE)
    with pytest.raises(NotFoundError, match=r"no site nope\.example"):
        set_site_timezone(engine, "nope.example", "UTC", actor=ALICE)
    (entry,) = list_entries(engine)
    assert (entry.actor, entry.action, entry.target) == ("cli:alice", "site.update", "shop.example")
    assert entry.before == {"domain": "shop.example", "timezone": "UTC"}
    assert entry.after == {"domain": "shop.example", "timezone": "Europe/Berlin"}
    assert entry.change() == 'timezone: "UTC" -> "Europe/Berlin"'


# -- the pages -----------------------------------------------------------------------------


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    """example.com and other.org; an admin, a viewer of example.com, a viewer of other.org."""
    meta = open_meta(settings)
    add_site(meta, domain="other.org")
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    add_user(meta, email="viewer@example.com", role="viewer", password=PASSWORD)
    add_user(meta, email="stranger@example.com", role="viewer", password=PASSWORD)
    grant_site(meta, "viewer@example.com", "example.com")
    grant_site(meta, "stranger@example.com", "other.org")
    meta.dispose()
    return settings.replace(login_rate_limit="", login_account_rate_limit="")


@pytest.fixture
def meta(web_settings: Settings) -> Iterator[sa.Engine]:
    engine = open_meta(web_settings)
    yield engine
    engine.dispose()


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, clock=FixedClock(NOW)), follow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


class Browser:
    """A signed-in browser: GETs pages and posts forms with the page's CSRF token."""

    def __init__(self, client: TestClient, email: str, page: str = SETTINGS) -> None:
        self.client = client
        login = client.get("/login")
        signed_in = client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": _csrf(login.text)},
        )
        assert signed_in.status_code == 303, signed_in.text
        self.token = _csrf(client.get(page).text)

    def get(self, path: str = SETTINGS) -> Response:
        return self.client.get(path)

    def post(self, path: str, **data: Any) -> Response:
        return self.client.post(path, data={"csrf_token": self.token, **data})

    def done(self, path: str, **data: Any) -> Response:
        """Posts a form that must succeed, and follows the redirect back to the page."""
        answer = self.post(path, **data)
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith(SETTINGS + "?done=")
        page = self.client.get(location.split("#")[0])
        assert page.status_code == 200
        return page


@pytest.fixture
def client(web_settings: Settings) -> Iterator[TestClient]:
    with _client(web_settings) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient) -> Browser:
    return Browser(client, "admin@example.com")


def _flash(html: str) -> str:
    found = re.search(
        r'<div class="flash" role="status" aria-live="polite">(.*?)</div>', html, re.S
    )
    assert found, "the page has no flash region"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def _headings(html: str) -> list[str]:
    return re.findall(r"<h2 id=\"[a-z]+-heading\">([^<]+)</h2>", html)


def test_the_admin_page_has_every_section(admin: Browser) -> None:
    page = admin.get()
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert _headings(page.text) == [
        "General",
        "Tracking snippet",
        "Goals",
        "API keys",
        "Members",
        "Shared links",
        "Data",
        "Delete this site",
    ]
    assert '<option value="UTC" selected>UTC</option>' in page.text
    assert '<option value="Europe/Berlin">' in page.text
    # The snippet, as text, with a copy button served by an external script only.
    assert "&lt;script defer data-domain=&#34;example.com&#34; " in page.text
    assert "src=&#34;http://testserver/js/script.js&#34;&gt;&lt;/script&gt;" in page.text
    assert 'data-copy-target="snippet-code"' in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/settings.js" defer>']
    assert "style=" not in page.text
    script = admin.client.get("/static/settings.js")
    assert script.status_code == 200 and "navigator.clipboard" in script.text
    # Every input has a label.
    ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', page.text)
    assert ids and all(f'for="{i}"' in page.text for i in ids)
    assert _flash(page.text) == ""


def test_admin_changes_are_made_and_audited(admin: Browser, meta: sa.Engine) -> None:
    page = admin.done(f"{SETTINGS}/timezone", timezone="Europe/Berlin")
    assert _flash(page.text) == "Time zone saved."
    assert '<option value="Europe/Berlin" selected>' in page.text
    assert get_site(meta, "example.com").timezone == "Europe/Berlin"
    page = admin.done(f"{SETTINGS}/timezone", timezone="Europe/Berlin")
    assert _flash(page.text) == "The time zone was already set to that."

    page = admin.done(f"{SETTINGS}/goals", kind="event", target="Signup", display_name="")
    assert _flash(page.text) == "Goal added."
    admin.done(f"{SETTINGS}/goals", kind="page", target="/thanks", display_name="Thanked")
    goals = list_goals(meta, 1)
    assert [(g.display_name, g.event_name, g.page_path) for g in goals] == [
        ("Signup", "Signup", None),
        ("Thanked", None, "/thanks"),
    ]
    page = admin.get()
    assert "Signup" in page.text and "<code>/thanks</code>" in page.text
    page = admin.done(f"{SETTINGS}/goals/{goals[0].id}/delete")
    assert _flash(page.text) == "Goal deleted."
    assert [g.display_name for g in list_goals(meta, 1)] == ["Thanked"]

    page = admin.done(f"{SETTINGS}/members", email=" Stranger@Example.com ")
    assert _flash(page.text) == "Viewer added: they can now see this site."
    assert "stranger@example.com" in page.text
    stranger = get_user(meta, "stranger@example.com")
    assert sites_for_user(meta, stranger.id) == {1, 2}
    page = admin.done(f"{SETTINGS}/members", email="stranger@example.com")
    assert _flash(page.text) == "That viewer could already see this site."
    page = admin.done(f"{SETTINGS}/members/remove", email="stranger@example.com")
    assert _flash(page.text) == "Viewer removed: they can no longer see this site."
    assert sites_for_user(meta, stranger.id) == {2}

    page = admin.done(f"{SETTINGS}/links", name="Newsletter", password="")
    assert _flash(page.text) == "Shared link created."
    admin.done(f"{SETTINGS}/links", name="Board", password=LINK_PASSWORD)
    public, locked = list_links(meta, 1)
    assert (public.has_password, locked.has_password) == (False, True)
    page = admin.get()
    assert f"http://testserver/share/{public.slug}" in page.text
    assert page.text.count("password protected") == 1
    assert check_link_password(meta, locked.slug, LINK_PASSWORD)
    page = admin.done(f"{SETTINGS}/links/{locked.slug}/delete")
    assert _flash(page.text) == "Shared link deleted."
    assert list_links(meta, 1) == [public]

    entries = list(reversed(list_entries(meta)))
    assert {e.actor for e in entries} == {"user:admin@example.com"}
    assert [(e.action, e.target) for e in entries if e.action != "login.success"] == [
        ("site.update", "example.com"),
        ("goal.add", f"goal {goals[0].id} on example.com"),
        ("goal.add", f"goal {goals[1].id} on example.com"),
        ("goal.delete", f"goal {goals[0].id} on example.com"),
        ("user.grant", "stranger@example.com"),
        ("user.ungrant", "stranger@example.com"),
        ("link.create", f"link {public.id} on example.com"),
        ("link.create", f"link {locked.id} on example.com"),
        ("link.delete", f"link {locked.id} on example.com"),
    ]
    assert all(e.ip == "testclient" for e in entries)
    assert LINK_PASSWORD not in json.dumps([e.as_json() for e in entries])


def test_refused_changes_show_the_reason_and_keep_the_values(
    admin: Browser, meta: sa.Engine
) -> None:
    def refused(path: str, section: str, **data: str) -> tuple[str, str]:
        answer = admin.post(f"{SETTINGS}/{path}", **data)
        assert answer.status_code == 400, answer.text
        found = re.search(
            rf'<p class="error" role="alert" id="{section}-error">([^<]+)</p>', answer.text
        )
        assert found, answer.text
        return answer.text, found.group(1)

    text, error = refused("timezone", "general", timezone="Mars/Olympus")
    assert error.startswith("Unknown time zone &#39;Mars/Olympus&#39;")
    text, error = refused("goals", "goals", kind="page", target="thanks", display_name="Thx")
    assert error == "Page path &#39;thanks&#39; must start with /, as in /thanks."
    assert 'value="thanks"' in text and 'value="Thx"' in text
    assert 'id="goal-kind-page" name="kind" value="page" checked' in text
    text, error = refused("goals", "goals", kind="", target="Signup", display_name="")
    assert error == "Choose whether the goal counts an event or a page visit."
    text, error = refused("members", "members", email="nobody@example.com")
    assert error.startswith("No user has that email address")
    assert 'value="nobody@example.com"' in text
    _, error = refused("members", "members", email="admin@example.com")
    assert error == (
        "admin@example.com is an admin and reads every site already; grants are for viewers."
    )
    text, error = refused("links", "links", name="Board", password="too short")
    assert error == "The password is 9 characters long; it needs at least 12."
    assert 'value="Board"' in text and "too short" not in text
    admin.done(f"{SETTINGS}/links", name="Board", password="")
    _, error = refused("links", "links", name="Board", password="")
    assert error == "example.com already has a shared link named &#39;Board&#39;."
    _, error = refused("links/not-a-slug/delete", "links")
    assert error == "No such shared link on this site."
    _, error = refused("goals/999/delete", "goals")
    assert error == "No goal with id 999 on this site."
    text, error = refused("keys", "keys", name="report", expires_days="0", scope="stats:read")
    assert error.startswith("The expiry must be a whole number of days from 1 to 36500")
    assert 'value="report"' in text and 'value="0"' in text
    _, error = refused("keys", "keys", name="report")
    assert error == "Choose at least one scope for the key."
    _, error = refused("keys", "keys", name=" ", scope="stats:read")
    assert error == "A key needs a non-empty name."
    _, error = refused("keys", "keys", name="report", scope="root")
    assert error.startswith("Unknown scope &#39;root&#39;")

    assert get_site(meta, "example.com").timezone == "UTC"
    assert list_goals(meta, 1) == []
    assert list_keys(meta) == []
    assert [e.action for e in list_entries(meta)] == ["link.create", "login.success"]


def test_a_viewer_sees_the_snippet_and_own_keys_only(client: TestClient, meta: sa.Engine) -> None:
    admin_key, _ = create_key(meta, name="admins", user_email="admin@example.com")
    viewer = Browser(client, "viewer@example.com")
    page = viewer.get()
    assert page.status_code == 200
    assert _headings(page.text) == ["Tracking snippet", "API keys"]
    assert "<select" not in page.text and "admins" not in page.text
    assert re.findall(r'name="scope" value="([^"]+)"', page.text) == ["stats:read"]
    assert "they read only the sites shared with you" in page.text

    forms: list[tuple[str, dict[str, str]]] = [
        ("timezone", {"timezone": "Europe/Berlin"}),
        ("goals", {"kind": "event", "target": "Signup"}),
        ("goals/1/delete", {}),
        ("members", {"email": "stranger@example.com"}),
        ("members/remove", {"email": "viewer@example.com"}),
        ("links", {"name": "Mine"}),
        ("links/abc/delete", {}),
    ]
    add_goal(meta, 1, event_name="Kept")
    for path, data in forms:
        answer = viewer.post(f"{SETTINGS}/{path}", **data)
        assert answer.status_code == 403, path
        assert "Only an admin can change this setting." in answer.text
    assert get_site(meta, "example.com").timezone == "UTC"
    assert [g.display_name for g in list_goals(meta, 1)] == ["Kept"]
    assert list_links(meta, 1) == []
    assert sites_for_user(meta, get_user(meta, "viewer@example.com").id) == {1}

    # A viewer's key may read, nothing more; revoking someone else's key is refused.
    refused = viewer.post(f"{SETTINGS}/keys", name="more", scope="events:import")
    assert refused.status_code == 400
    assert "whose keys may hold only stats:read, not events:import" in refused.text
    refused = viewer.post(f"{SETTINGS}/keys/{admin_key.id}/revoke")
    assert refused.status_code == 400 and "You have no such API key." in refused.text
    assert [k.revoked_at for k in list_keys(meta)] == [None]
    assert [e.action for e in list_entries(meta)] == ["login.success"]


def test_unreadable_and_unknown_sites_are_the_same_404(client: TestClient) -> None:
    stranger = Browser(client, "stranger@example.com", page="/sites/other.org/settings")
    hidden = stranger.get()
    unknown = stranger.get("/sites/unknown.example/settings")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text == unknown.text
    assert "example.com" not in hidden.text
    for path in (SETTINGS, "/sites/unknown.example/settings"):
        for form in ("timezone", "keys", "links"):
            answer = stranger.post(f"{path}/{form}", name="x", scope="stats:read")
            assert (answer.status_code, answer.text) == (404, hidden.text)
    client.cookies.clear()
    admin = Browser(client, "admin@example.com")
    assert admin.get("/sites/unknown.example/settings").text == hidden.text


def test_signed_out_browsers_are_sent_to_sign_in(client: TestClient, meta: sa.Engine) -> None:
    page = client.get(SETTINGS + "?done=goal-added")
    assert page.status_code == 303
    assert (
        page.headers["location"]
        == "/login?next=%2Fsites%2Fexample.com%2Fsettings%3Fdone%3Dgoal-added"
    )
    token = _csrf(client.get("/login").text)
    posted = client.post(f"{SETTINGS}/links", data={"name": "x", "csrf_token": token})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/login?next=%2Fsites%2Fexample.com%2Fsettings"
    assert list_links(meta, 1) == []


def test_forms_without_a_valid_csrf_token_change_nothing(admin: Browser, meta: sa.Engine) -> None:
    form = {"kind": "event", "target": "Signup", "name": "Board", "timezone": "Europe/Berlin"}
    for path in ("goals", "links", "timezone", "keys"):
        for data, headers in (
            (form, {}),
            ({**form, "csrf_token": "forged"}, {}),
            ({**form, "csrf_token": admin.token}, {"origin": "https://evil.example"}),
        ):
            answer = admin.client.post(f"{SETTINGS}/{path}", data=data, headers=headers)
            assert answer.status_code == 403, (path, data, headers)
            assert "The form expired" in answer.text
    assert list_goals(meta, 1) == [] and list_links(meta, 1) == [] and list_keys(meta) == []
    assert get_site(meta, "example.com").timezone == "UTC"
    assert [e.action for e in list_entries(meta)] == ["login.success"]


def test_a_key_made_on_the_page_works_against_the_stats_api(
    client: TestClient, meta: sa.Engine
) -> None:
    admin = Browser(client, "admin@example.com")
    made = admin.post(
        f"{SETTINGS}/keys",
        name="dashboards",
        scope=["stats:read", "events:import"],
        expires_days="30",
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = re.search(r'<code id="key-secret">(ff_[^<]+)</code>', made.text)
    assert secret, made.text
    key = secret.group(1)
    assert made.text.count(key) == 1
    assert "stats:read, events:import" in made.text
    assert re.search(r"<dt>Expires</dt><dd>20\d\d-\d\d-\d\d \d\d:\d\d UTC</dd>", made.text)
    bearer = {"authorization": f"Bearer {key}"}
    for site in ("example.com", "other.org"):
        answer = client.get(AGGREGATE, params={"site_id": site}, headers=bearer)
        assert answer.status_code == 200, answer.text
    listed = admin.get()
    assert key not in listed.text and "dashboards" in listed.text
    (stored,) = list_keys(meta)
    assert (stored.owner_email, stored.scopes) == (
        "admin@example.com",
        ("stats:read", "events:import"),
    )
    assert key not in json.dumps([e.as_json() for e in list_entries(meta)])

    client.cookies.clear()
    viewer = Browser(client, "viewer@example.com")
    made = viewer.post(f"{SETTINGS}/keys", name="mine", scope="stats:read")
    assert made.status_code == 200
    found = re.search(r'<code id="key-secret">(ff_[^<]+)</code>', made.text)
    assert found
    viewer_bearer = {"authorization": f"Bearer {found.group(1)}"}
    granted = client.get(AGGREGATE, params={"site_id": "example.com"}, headers=viewer_bearer)
    assert granted.status_code == 200
    other = client.get(AGGREGATE, params={"site_id": "other.org"}, headers=viewer_bearer)
    assert other.status_code == 401
    # Each sees only their own keys, and can revoke them.
    assert "dashboards" not in viewer.get().text
    mine = next(k for k in list_keys(meta) if k.name == "mine")
    page = viewer.done(f"{SETTINGS}/keys/{mine.id}/revoke")
    assert _flash(page.text) == "API key revoked."
    assert "revoked" in page.text
    revoked = client.get(AGGREGATE, params={"site_id": "example.com"}, headers=viewer_bearer)
    assert revoked.status_code == 401
    actions = [(e.actor, e.action, e.target) for e in list_entries(meta, action=None)]
    assert ("user:viewer@example.com", "key.revoke", "mine") in actions
    assert ("user:viewer@example.com", "key.create", "mine") in actions
    assert ("user:admin@example.com", "key.create", "dashboards") in actions


def test_user_input_is_escaped(admin: Browser, meta: sa.Engine) -> None:
    admin.done(f"{SETTINGS}/goals", kind="event", target=XSS, display_name=XSS + " goal")
    admin.done(f"{SETTINGS}/links", name=XSS, password="")
    made = admin.post(f"{SETTINGS}/keys", name=XSS, scope="stats:read")
    assert made.status_code == 200 and XSS not in made.text and XSS_ESCAPED in made.text
    page = admin.get()
    assert XSS not in page.text
    assert page.text.count(XSS_ESCAPED) >= 5  # goal name, event, aria-labels, link, key
    refused = admin.post(f"{SETTINGS}/members", email=XSS)
    assert refused.status_code == 400
    assert XSS not in refused.text and XSS_ESCAPED in refused.text
    # The flash message is one of the fixed texts, never what the URL says.
    for done in (XSS, "goal-added<script>", "__class__"):
        shown = admin.client.get(SETTINGS, params={"done": done})
        assert shown.status_code == 200 and _flash(shown.text) == ""
        assert "<script>" not in shown.text.replace('<script src="/static/settings.js"', "")


def test_operator_keys_from_the_command_line_are_listed_for_admins(
    client: TestClient, web_settings: Settings, meta: sa.Engine
) -> None:
    # Made as the README's tour makes them, while the app runs.
    made = footfall_process(
        "key",
        "create",
        "--name",
        "reports",
        "--scope",
        "stats:read",
        data_dir=web_settings.data_dir,
    )
    assert made.returncode == 0, made.stderr
    create_key(meta, name="importer", scopes=("events:import",))
    admin = Browser(client, "admin@example.com")
    page = admin.get().text
    operator = page[page.index('id="operator-keys"') : page.index("<h3>Create a key</h3>")]
    assert 'aria-label="Operator keys"' in operator
    rows = re.findall(
        r"<tr>\s*<td>([^<]+)</td>\s*<td><code>[^<]+</code></td>\s*<td>([^<]+)</td>", operator
    )
    assert rows == [("importer", "events:import"), ("reports", "stats:read")]
    # The admin's own keys stay apart: they have none.
    assert "You have no API keys yet." in page

    reports = next(k for k in list_keys(meta) if k.name == "reports")
    shown = admin.done(f"{SETTINGS}/keys/{reports.id}/revoke")
    assert _flash(shown.text) == "API key revoked."
    assert [k.name for k in list_keys(meta) if k.revoked_at is not None] == ["reports"]
    entry = next(e for e in list_entries(meta) if e.action == "key.revoke")
    assert (entry.actor, entry.target) == ("user:admin@example.com", "reports")

    # A viewer neither sees nor revokes them.
    client.cookies.clear()
    viewer = Browser(client, "viewer@example.com")
    assert "importer" not in viewer.get().text
    importer = next(k for k in list_keys(meta) if k.name == "importer")
    refused = viewer.post(f"{SETTINGS}/keys/{importer.id}/revoke")
    assert refused.status_code == 400 and "You have no such API key." in refused.text
    assert next(k for k in list_keys(meta) if k.name == "importer").revoked_at is None
