"""/admin/users: adding users, inviting viewers, disabling, enabling, resetting passwords."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.meta.access import sites_for_user
from footfall.meta.audit import list_entries
from footfall.meta.keys import create_key
from footfall.meta.users import get_user, verify_password
from tests.web.pages.conftest import (
    ADMIN,
    PASSWORD,
    VIEWER,
    Browser,
    flash,
    other_browser,
    section_error,
)

CHOSEN = "a password the admin chose"


def _shown_password(html: str) -> str:
    """The password a sign-in details page shows once."""
    found = re.search(r'<code id="new-password">([^<]+)</code>', html)
    assert found, html
    return found.group(1)


def _actions(meta: sa.Engine, *names: str) -> list[tuple[str, str, str]]:
    """(action, target, actor) of the audit entries with these actions, oldest first."""
    return [
        (e.action, e.target, e.actor) for e in reversed(list_entries(meta)) if e.action in names
    ]


def test_only_admins_reach_the_page_and_its_forms(client: TestClient, meta: sa.Engine) -> None:
    page = client.get("/admin/users")
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2Fadmin%2Fusers")
    viewer = Browser(client, VIEWER)
    admin_id = get_user(meta, ADMIN).id
    for answer in (
        viewer.get("/admin/users"),
        viewer.post("/admin/users", email="new@example.com", role="admin", password=CHOSEN),
        viewer.post("/admin/users/invite", email="new@example.com", site="example.com"),
        viewer.post(f"/admin/users/{admin_id}/disable"),
        viewer.post(f"/admin/users/{admin_id}/enable"),
        viewer.post(f"/admin/users/{admin_id}/password"),
    ):
        assert answer.status_code == 404
        assert "There is no such page." in answer.text and ADMIN not in answer.text
    assert get_user(meta, ADMIN).disabled_at is None
    assert verify_password(meta, ADMIN, PASSWORD) is not None
    assert _actions(meta, "user.add", "user.disable", "user.passwd", "user.grant") == []


def test_the_page_lists_users_with_their_sites_and_every_key(
    admin: Browser, meta: sa.Engine
) -> None:
    create_key(meta, name="viewer-report", scopes=("stats:read",), user_email=VIEWER)
    create_key(meta, name="deploy", scopes=("events:import", "sites:write"))
    page = admin.get("/admin/users")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert '<h2 id="users-heading">2 users</h2>' in html
    viewer_row = html[html.index(f"<strong>{VIEWER}</strong>") :]
    assert "Sites: example.com" in viewer_row
    assert '<code>viewer-report</code> <span class="muted">stats:read</span>' in viewer_row
    operator = html[html.index('id="operator-keys"') :]
    assert '<code>deploy</code> <span class="muted">events:import, sites:write</span>' in operator
    # The admin's own row offers the account page, not a reset or a disable.
    own = html[html.index(f"<strong>{ADMIN}</strong>") : html.index(f"<strong>{VIEWER}</strong>")]
    assert 'href="/account#password"' in own and "/disable" not in own
    ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
    assert ids and all(f'for="{i}"' in html for i in ids)
    assert "style=" not in html and "<script" not in html


def test_adding_users_with_a_chosen_or_a_generated_password(
    admin: Browser, client: TestClient, meta: sa.Engine
) -> None:
    page = admin.done(
        "/admin/users", "/admin/users", email="Chosen@Example.com", role="viewer", password=CHOSEN
    )
    assert flash(page.text) == "User added with the password you chose."
    assert CHOSEN not in page.text
    assert verify_password(meta, "chosen@example.com", CHOSEN) is not None

    shown = admin.post("/admin/users", email="second@example.com", role="admin", password="")
    assert shown.status_code == 200
    assert "<h1>User added</h1>" in shown.text and "footfall keeps only a hash" in shown.text
    password = _shown_password(shown.text)
    assert "http://testserver/login" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert get_user(meta, "second@example.com").role == "admin"
    Browser(other_browser(client), "second@example.com", password)  # signs in with it

    assert _actions(meta, "user.add")[-2:] == [
        ("user.add", "chosen@example.com", f"user:{ADMIN}"),
        ("user.add", "second@example.com", f"user:{ADMIN}"),
    ]
    logged = json.dumps([e.as_json() for e in list_entries(meta)])
    assert CHOSEN not in logged and password not in logged


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": VIEWER, "role": "viewer", "password": CHOSEN}, "A user with the email"),
        ({"email": "not-an-email", "role": "viewer", "password": CHOSEN}, "Invalid email address"),
        ({"email": "n@example.com", "role": "owner", "password": CHOSEN}, "Unknown role"),
        ({"email": "n@example.com", "role": "viewer", "password": "short"}, "The password is 5"),
    ],
)
def test_refused_users_say_why(
    admin: Browser, meta: sa.Engine, data: dict[str, str], message: str
) -> None:
    answer = admin.post("/admin/users", **data)
    assert answer.status_code == 400
    assert section_error(answer.text, "add").startswith(message)
    assert data["password"] not in answer.text
    assert _actions(meta, "user.add") == []


def test_inviting_a_viewer_shows_the_sign_in_details_once(
    admin: Browser, client: TestClient, meta: sa.Engine
) -> None:
    shown = admin.post("/admin/users/invite", email="Guest@Example.com", site="other.org")
    assert shown.status_code == 200
    assert "<h1>Viewer invited</h1>" in shown.text
    assert "guest@example.com can now see other.org." in shown.text
    assert "footfall sends no email" in shown.text
    password = _shown_password(shown.text)
    guest = get_user(meta, "guest@example.com")
    assert guest.role == "viewer"
    assert sites_for_user(meta, guest.id) == {2}
    signed_in = Browser(other_browser(client), "guest@example.com", password)
    assert "other.org" in signed_in.get("/").text

    # An existing viewer keeps their password; a second invitation changes nothing.
    page = admin.done("/admin/users/invite", "/admin/users", email=VIEWER, site="other.org")
    assert flash(page.text) == "That viewer already had an account and can now see the site."
    page = admin.done("/admin/users/invite", "/admin/users", email=VIEWER, site="other.org")
    assert flash(page.text) == "That viewer could already see the site."
    assert verify_password(meta, VIEWER, PASSWORD) is not None

    assert _actions(meta, "user.add", "user.grant") == [
        ("user.add", "guest@example.com", f"user:{ADMIN}"),
        ("user.grant", "guest@example.com", f"user:{ADMIN}"),
        ("user.grant", VIEWER, f"user:{ADMIN}"),
    ]
    assert password not in json.dumps([e.as_json() for e in list_entries(meta)])

    for email, site, message in (
        (ADMIN, "other.org", "admin@example.com is an admin and reads every site already"),
        ("new@example.com", "nope.example", "No site nope.example."),
        ("not an email", "other.org", "Invalid email address"),
    ):
        refused = admin.post("/admin/users/invite", email=email, site=site)
        assert refused.status_code == 400
        assert section_error(refused.text, "invite").startswith(message)
    assert [u for u in ("new@example.com",) if _exists(meta, u)] == []


def _exists(meta: sa.Engine, email: str) -> bool:
    with meta.connect() as conn:
        query = sa.text("SELECT 1 FROM users WHERE email = :email")
        return conn.execute(query, {"email": email}).first() is not None


def test_disabling_signs_out_and_enabling_lets_back_in(
    admin: Browser, client: TestClient, meta: sa.Engine
) -> None:
    viewer_browser = Browser(other_browser(client), VIEWER)
    viewer_id = get_user(meta, VIEWER).id
    page = admin.done(f"/admin/users/{viewer_id}/disable", "/admin/users")
    assert flash(page.text).startswith("User disabled")
    assert '<span class="badge badge-off">disabled</span>' in page.text
    assert viewer_browser.get("/account").status_code == 303
    again = admin.done(f"/admin/users/{viewer_id}/disable", "/admin/users")
    assert flash(again.text) == "Nothing changed: the user was already like that."
    page = admin.done(f"/admin/users/{viewer_id}/enable", "/admin/users")
    assert flash(page.text) == "User enabled again, with their API keys."
    Browser(other_browser(client), VIEWER)

    own = admin.post(f"/admin/users/{get_user(meta, ADMIN).id}/disable")
    assert own.status_code == 400
    assert (
        section_error(own.text, "users")
        == "You cannot disable your own account; another admin can."
    )
    missing = admin.post("/admin/users/999/disable")
    assert missing.status_code == 400 and "There is no such user." in missing.text
    assert get_user(meta, ADMIN).disabled_at is None
    assert _actions(meta, "user.disable", "user.enable") == [
        ("user.disable", VIEWER, f"user:{ADMIN}"),
        ("user.enable", VIEWER, f"user:{ADMIN}"),
    ]


def test_an_admin_resets_another_users_password(
    admin: Browser, client: TestClient, meta: sa.Engine
) -> None:
    viewer_browser = Browser(other_browser(client), VIEWER)
    viewer_id = get_user(meta, VIEWER).id
    shown = admin.post(f"/admin/users/{viewer_id}/password")
    assert shown.status_code == 200 and "<h1>Password reset</h1>" in shown.text
    password = _shown_password(shown.text)
    assert viewer_browser.get("/account").status_code == 303  # signed out everywhere
    assert verify_password(meta, VIEWER, PASSWORD) is None
    Browser(other_browser(client), VIEWER, password)
    assert admin.get("/admin/users").status_code == 200  # the admin stays signed in

    own = admin.post(f"/admin/users/{get_user(meta, ADMIN).id}/password")
    assert own.status_code == 400
    assert section_error(own.text, "users") == "Change your own password on your account page."
    assert verify_password(meta, ADMIN, PASSWORD) is not None

    (entry,) = [e for e in list_entries(meta) if e.action == "user.passwd"]
    assert (entry.actor, entry.target, entry.ip) == (f"user:{ADMIN}", VIEWER, "testclient")
    assert entry.after == {"email": VIEWER, "sessions_ended": 1}
    assert password not in json.dumps(entry.as_json())


def test_user_forms_need_their_csrf_token(admin: Browser, meta: sa.Engine) -> None:
    viewer_id = get_user(meta, VIEWER).id
    for path, data in (
        ("/admin/users", {"email": "n@example.com", "role": "viewer", "password": CHOSEN}),
        ("/admin/users/invite", {"email": "n@example.com", "site": "example.com"}),
        (f"/admin/users/{viewer_id}/disable", {"confirm": "1"}),
        (f"/admin/users/{viewer_id}/password", {"confirm": "1"}),
    ):
        forged = admin.client.post(path, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, path
        missing = admin.client.post(path, data=data)
        assert missing.status_code == 403, path
    assert not _exists(meta, "n@example.com")
    assert get_user(meta, VIEWER).disabled_at is None
    assert verify_password(meta, VIEWER, PASSWORD) is not None
