"""/admin/sites: adding a site, and deleting one (events included) by typing its domain."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.meta.access import sites_for_user
from footfall.meta.audit import list_entries
from footfall.meta.goals import add_goal, list_goals
from footfall.meta.shared_links import create_link, find_link
from footfall.meta.sites import get_site, list_sites
from footfall.meta.users import get_user
from tests.conftest import CHROME_UA
from tests.web.pages.conftest import (
    VIEWER,
    Browser,
    Response,
    csrf_of,
    flash,
    other_browser,
    section_error,
    services_of,
)


def _send(client: TestClient, domain: str, ip: str = "8.8.8.8") -> Response:
    """A page view for `domain` through the Events API."""
    return client.post(
        "/api/event",
        json={"name": "pageview", "url": f"https://{domain}/", "domain": domain},
        headers={"user-agent": CHROME_UA, "x-forwarded-for": ip},
    )


def _stored_events(client: TestClient, site_id: int) -> int:
    """Events of the site in the store, once everything accepted so far is written."""
    services = services_of(client)
    assert services.writer.flush_sessions(timeout=30)
    with services.store.cursor() as cur:  # type: ignore[attr-defined]
        row = cur.execute("SELECT count(*) FROM events WHERE site_id = ?", [site_id]).fetchone()
    return int(row[0])


def test_only_admins_reach_the_pages(client: TestClient, meta: sa.Engine) -> None:
    # Signed out: sent to sign in.
    page = client.get("/admin/sites")
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2Fadmin%2Fsites")
    assert client.post("/admin/sites", data={"domain": "x.example"}).status_code == 303
    # A viewer: the not-found page, before the form is even read (no token needed to learn
    # nothing), and nothing changes.
    viewer = Browser(client, VIEWER)
    for answer in (
        viewer.get("/admin/sites"),
        viewer.get("/admin/sites/example.com/delete"),
        viewer.post("/admin/sites", domain="new.example", timezone="UTC"),
        viewer.post("/admin/sites/example.com/delete", confirm_domain="example.com"),
        client.post("/admin/sites", data={"domain": "new.example"}),
    ):
        assert answer.status_code == 404
        assert "There is no such page." in answer.text
        assert "example.com" not in answer.text.split("<main>")[1]
    assert [s.domain for s in list_sites(meta)] == ["example.com", "other.org"]
    # Nor does the account menu offer them.
    menu = viewer.get("/account").text
    assert 'href="/admin/sites"' not in menu and 'href="/ops"' not in menu


def test_an_admin_adds_a_site_that_counts_at_once(
    admin: Browser, client: TestClient, meta: sa.Engine
) -> None:
    page = admin.get("/admin/sites")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert '<option value="UTC" selected>UTC</option>' in page.text
    assert '<h2 id="sites-heading">2 sites</h2>' in page.text
    menu = page.text
    assert 'href="/admin/users"' in menu and 'href="/ops"' in menu and 'href="/account"' in menu
    assert "style=" not in page.text and "<script" not in page.text

    before = _send(client, "shop.example")
    assert before.headers["x-plausible-dropped"] == "1"  # not registered yet
    added = admin.post("/admin/sites", domain=" WWW.Shop.Example ", timezone="Europe/Berlin")
    assert added.status_code == 303
    assert added.headers["location"] == "/sites/shop.example/settings?done=site-added#tracking"
    settings = admin.get("/sites/shop.example/settings?done=site-added")
    assert flash(settings.text).startswith("Site added. Paste the tracking snippet")
    assert "data-domain=&#34;shop.example&#34;" in settings.text
    site = get_site(meta, "shop.example")
    assert site.timezone == "Europe/Berlin"
    # Counted from the next event, without waiting for the site list's reload.
    after = _send(client, "shop.example")
    assert after.status_code == 202 and "x-plausible-dropped" not in after.headers

    (entry,) = [e for e in list_entries(meta) if e.action == "site.add"]
    assert (entry.actor, entry.target, entry.ip) == (
        "user:admin@example.com",
        "shop.example",
        "testclient",
    )
    assert entry.after == {"domain": "shop.example", "timezone": "Europe/Berlin"}


def test_refused_sites_say_why_and_keep_the_values(admin: Browser, meta: sa.Engine) -> None:
    for data, message in (
        ({"domain": "not a domain", "timezone": "UTC"}, "Invalid domain &#39;not a domain&#39;"),
        ({"domain": "example.com", "timezone": "UTC"}, "Site example.com already exists."),
        ({"domain": "new.example", "timezone": "Mars/Olympus"}, "Unknown time zone"),
    ):
        answer = admin.post("/admin/sites", **data)
        assert answer.status_code == 400
        assert section_error(answer.text, "add").startswith(message)
        assert f'value="{data["domain"]}"' in answer.text
    assert [s.domain for s in list_sites(meta)] == ["example.com", "other.org"]
    assert [e for e in list_entries(meta) if e.action == "site.add"] == []
    forged = admin.client.post("/admin/sites", data={"domain": "new.example", "csrf_token": "x"})
    assert forged.status_code == 403
    assert [s.domain for s in list_sites(meta)] == ["example.com", "other.org"]


def test_deleting_a_site_needs_its_domain_and_takes_everything_with_it(
    admin: Browser, client: TestClient, meta: sa.Engine
) -> None:
    site = get_site(meta, "example.com")
    add_goal(meta, site.id, event_name="Signup")
    link = create_link(meta, "example.com", name="Board")
    for i in range(3):
        assert _send(client, "example.com", ip=f"8.8.4.{i}").status_code == 202
    assert _send(client, "other.org").status_code == 202
    other = get_site(meta, "other.org")
    assert _stored_events(client, site.id) == 3

    page = admin.get("/admin/sites/example.com/delete")
    assert page.status_code == 200
    assert 'pattern="example\\.com"' in page.text and "cannot be undone" in page.text
    assert csrf_of(page.text) == admin.token

    mistyped = admin.post("/admin/sites/example.com/delete", confirm_domain="example.co")
    assert mistyped.status_code == 400
    assert "The domain you typed is not example.com: nothing was deleted." in mistyped.text
    empty = admin.post("/admin/sites/example.com/delete", confirm_domain="")
    assert empty.status_code == 400
    assert get_site(meta, "example.com") == site

    page = admin.done(
        "/admin/sites/example.com/delete", "/admin/sites", confirm_domain=" Example.com "
    )
    assert flash(page.text) == "Site deleted, with all its events."
    assert [s.domain for s in list_sites(meta)] == ["other.org"]
    assert _stored_events(client, site.id) == 0
    assert _stored_events(client, other.id) == 1
    assert list_goals(meta, site.id) == [] and find_link(meta, link.slug) is None
    assert sites_for_user(meta, get_user(meta, VIEWER).id) == set()
    # Its pages' events are dropped from now on, and its pages are gone.
    assert _send(client, "example.com").headers["x-plausible-dropped"] == "1"
    assert admin.get("/sites/example.com").status_code == 404
    assert admin.get("/admin/sites/example.com/delete").status_code == 404
    gone = admin.post("/admin/sites/example.com/delete", confirm_domain="example.com")
    assert gone.status_code == 404

    (entry,) = [e for e in list_entries(meta) if e.action == "site.delete"]
    assert (entry.actor, entry.target, entry.ip) == (
        "user:admin@example.com",
        "example.com",
        "testclient",
    )
    assert entry.before == {"domain": "example.com", "timezone": "UTC"}


def test_the_site_pages_lead_to_the_administration(admin: Browser, client: TestClient) -> None:
    sites = admin.get("/").text
    assert 'href="/admin/sites#add"' in sites
    settings = admin.get("/sites/example.com/settings").text
    assert 'href="/admin/sites/example.com/delete"' in settings
    assert 'href="/admin/users#invite"' in settings
    viewer = Browser(other_browser(client), VIEWER)
    viewer_settings = viewer.get("/sites/example.com/settings").text
    assert "/admin/" not in viewer_settings
