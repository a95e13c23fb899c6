"""/account: one's own password and API keys, for every signed-in user."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.meta.audit import list_entries
from footfall.meta.keys import create_key, list_user_keys
from footfall.meta.users import get_user, verify_password
from footfall.settings import Settings
from tests.commands import footfall_process
from tests.web.pages.conftest import (
    ADMIN,
    PASSWORD,
    VIEWER,
    Browser,
    Response,
    app_client,
    flash,
    other_browser,
    section_error,
)

NEW_PASSWORD = "a brand new passphrase"


def _change(browser: Browser, current: str, new: str, again: str | None = None) -> Response:
    return browser.post(
        "/account/password",
        current_password=current,
        new_password=new,
        new_password_confirm=new if again is None else again,
    )


def test_signed_out_browsers_are_sent_to_sign_in(client: TestClient) -> None:
    page = client.get("/account")
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2Faccount")
    posted = client.post("/account/password", data={"current_password": "x"})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")


def test_the_page_lists_every_key_the_user_owns_whichever_tool_made_it(
    client: TestClient, web_settings: Settings, meta: sa.Engine
) -> None:
    viewer = Browser(client, VIEWER)
    assert "You have no API keys yet." in viewer.get("/account").text
    # Made on the command line with --user, while the server runs.
    made = footfall_process(
        "key", "create", "--name", "from-the-cli", "--user", VIEWER, data_dir=web_settings.data_dir
    )
    assert made.returncode == 0, made.stderr
    # Made on a site's settings page.
    created = viewer.post(
        "/sites/example.com/settings/keys", name="from-the-page", scope="stats:read"
    )
    assert created.status_code == 200 and "API key from-the-page created" in created.text
    create_key(meta, name="the-admins", user_email=ADMIN)

    for page in ("/account", "/sites/example.com/settings"):
        html = viewer.get(page).text
        assert "You have no API keys yet." not in html, page
        rows = html[html.index("<tbody>") : html.index("</tbody>")]
        assert "<td>from-the-cli</td>" in rows and "<td>from-the-page</td>" in rows, page
        assert rows.count("<td>stats:read</td>") == 2, page
        assert "the-admins" not in html, page


def test_revoking_ones_own_key(client: TestClient, meta: sa.Engine) -> None:
    viewer = Browser(client, VIEWER)
    key, _ = create_key(meta, name="nightly", user_email=VIEWER)
    others, _ = create_key(meta, name="the-admins", user_email=ADMIN)
    refused = viewer.post(f"/account/keys/{others.id}/revoke")
    assert refused.status_code == 400
    assert section_error(refused.text, "keys") == "You have no such API key."
    page = viewer.done(f"/account/keys/{key.id}/revoke", "/account")
    assert flash(page.text) == "API key revoked."
    assert '<span class="muted">revoked</span>' in page.text
    (revoked,) = list_user_keys(meta, get_user(meta, VIEWER).id)
    assert revoked.revoked_at is not None
    assert list_user_keys(meta, get_user(meta, ADMIN).id)[0].revoked_at is None
    (entry,) = [e for e in list_entries(meta) if e.action == "key.revoke"]
    assert (entry.actor, entry.target, entry.ip) == (f"user:{VIEWER}", "nightly", "testclient")


def test_changing_ones_password_signs_out_the_other_browsers(
    client: TestClient, meta: sa.Engine
) -> None:
    elsewhere = Browser(other_browser(client), VIEWER)
    viewer = Browser(client, VIEWER)
    page = viewer.done(
        "/account/password",
        "/account",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD,
    )
    assert flash(page.text).startswith("Password changed.")
    assert viewer.get("/account").status_code == 200  # this browser stays signed in
    assert elsewhere.get("/account").status_code == 303  # the other one is out
    assert verify_password(meta, VIEWER, NEW_PASSWORD) is not None
    assert verify_password(meta, VIEWER, PASSWORD) is None

    (entry,) = [e for e in list_entries(meta) if e.action == "user.passwd"]
    assert (entry.actor, entry.target, entry.ip) == (f"user:{VIEWER}", VIEWER, "testclient")
    assert entry.after == {"email": VIEWER, "sessions_ended": 1}
    assert NEW_PASSWORD not in json.dumps([e.as_json() for e in list_entries(meta)])


@pytest.mark.parametrize(
    ("current", "new", "again", "status", "message"),
    [
        ("wrong password!", NEW_PASSWORD, None, 400, "The current password is not correct."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", 400, "The two new passwords differ."),
        (PASSWORD, "short", None, 400, "The password is 5 characters long; it needs at least 12."),
        (
            PASSWORD,
            "x" * 1025,
            None,
            400,
            "The password is 1025 characters long; the limit is 1024.",
        ),
    ],
)
def test_refused_password_changes_say_why_and_change_nothing(
    client: TestClient,
    meta: sa.Engine,
    current: str,
    new: str,
    again: str | None,
    status: int,
    message: str,
) -> None:
    viewer = Browser(client, VIEWER)
    answer = _change(viewer, current, new, again)
    assert answer.status_code == status
    html = answer.text
    assert section_error(html, "password") == message
    assert new not in html and current not in html  # nothing typed is sent back
    assert verify_password(meta, VIEWER, PASSWORD) is not None
    assert [e for e in list_entries(meta) if e.action == "user.passwd"] == []
    assert viewer.get("/account").status_code == 200


def test_password_forms_need_their_csrf_token_and_this_origin(
    client: TestClient, meta: sa.Engine
) -> None:
    viewer = Browser(client, VIEWER)
    fields = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirm": NEW_PASSWORD,
    }
    for data, headers in (
        (fields, {}),
        ({**fields, "csrf_token": "forged"}, {}),
        ({**fields, "csrf_token": viewer.token}, {"origin": "https://evil.example"}),
    ):
        answer = client.post("/account/password", data=data, headers=headers)
        assert answer.status_code == 403
        assert "The form expired or did not come from this site." in answer.text
    assert verify_password(meta, VIEWER, PASSWORD) is not None


def test_guessing_the_current_password_meets_the_sign_in_limits(web_settings: Settings) -> None:
    limited = web_settings.replace(login_account_rate_limit="3/minute")
    with app_client(limited) as client:
        viewer = Browser(client, VIEWER)  # the sign-in itself counts once
        assert _change(viewer, "wrong guess one", NEW_PASSWORD).status_code == 400
        assert _change(viewer, "wrong guess two", NEW_PASSWORD).status_code == 400
        throttled = _change(viewer, PASSWORD, NEW_PASSWORD)
        assert throttled.status_code == 429
        assert "Retry-After" in throttled.headers
        message = section_error(throttled.text, "password")
        assert message.startswith("Too many sign-in attempts. Try again in ")
