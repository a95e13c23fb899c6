"""The first hour in a real browser against a real server: an admin adds a site, finds and
revokes a command-line key on its settings, adds, disables and enables a user, invites a
viewer, resets a password, changes their own, and deletes a site by typing its domain; then
every administration page on a phone.

No console error, no Content-Security-Policy violation and no failed request may happen on
the way; screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import load_settings
from tests.browser import DESKTOP, PHONE, screenshot
from tests.conftest import ServerProcess, free_port

pytestmark = pytest.mark.slow

ADMIN = "admin@example.com"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "the admin's new passphrase"


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server with one admin and one site, old.example, to delete."""
    data = tmp_path_factory.mktemp("admin-browser") / "data"
    meta = open_meta(load_settings({"data_dir": data}, environ={}))
    add_user(meta, email=ADMIN, role="admin", password=PASSWORD)
    add_site(meta, domain="old.example")
    # An operator key, as `footfall key create` makes it: no owner.
    create_key(meta, name="reports", scopes=("stats:read",))
    meta.dispose()
    server = ServerProcess(data_dir=data, port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Watched:
    """A browser context whose pages report every console error, page error and failed load."""

    def __init__(self, browser: Browser, server: ServerProcess, viewport: dict[str, int]) -> None:
        self.problems: list[str] = []
        self.context: BrowserContext = browser.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            base_url=server.url,
        )
        self.context.on("page", self._watch)
        self.page = self.context.new_page()

    def _watch(self, page: Page) -> None:
        page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "response",
            lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    def sign_in(self, email: str, password: str, heading: str = "Sites") -> Page:
        page = self.page
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        return page

    def close(self) -> None:
        self.context.close()


def _menu(page: Page, item: str) -> None:
    """Opens the account menu and follows `item`."""
    page.locator(".account-menu summary").click()
    page.locator(".account-menu").get_by_role("link", name=item).click()


def _password_shown(page: Page) -> str:
    secret = page.locator("#new-password").text_content() or ""
    assert len(secret) >= 12, secret
    return secret


def test_the_first_hour_of_an_admin(
    browser: Browser, admin_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    admin = Watched(browser, admin_server, DESKTOP)
    viewer = Watched(browser, admin_server, DESKTOP)
    try:
        page = admin.sign_in(ADMIN, PASSWORD)

        # Add a site from the sites list; it opens on its tracking snippet.
        page.get_by_role("link", name="Add a site").click()
        page.get_by_label("Domain").fill("shop.example")
        page.get_by_label("Time zone").select_option("Europe/Berlin")
        page.get_by_role("button", name="Add site").click()
        expect(page.get_by_role("heading", name="Settings for shop.example")).to_be_visible()
        expect(page.get_by_role("status").first).to_contain_text("Site added")
        expect(page.locator("#snippet-code")).to_contain_text('data-domain="shop.example"')
        screenshot(page, request, "site-added")

        # The key made on the command line is on the settings page, and can be revoked there.
        operator = page.get_by_role("region", name="Operator keys")
        expect(operator).to_contain_text("reports")
        expect(operator).to_contain_text("stats:read")
        operator.scroll_into_view_if_needed()
        screenshot(page, request, "operator-keys")
        operator.get_by_role("button", name="Revoke key reports").click()
        expect(page.get_by_role("status").first).to_have_text("API key revoked.")
        expect(page.get_by_role("region", name="Operator keys")).to_contain_text("revoked")

        # Add a user with a chosen password.
        _menu(page, "Users")
        expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        add = page.locator("#add")
        add.get_by_label("Email").fill("colleague@example.com")
        add.get_by_label("admin (everything)").check()
        add.get_by_label("Initial password (optional)").fill("a colleague's password")
        add.get_by_role("button", name="Add user").click()
        expect(page.get_by_role("status").first).to_have_text(
            "User added with the password you chose."
        )
        expect(page.get_by_text("colleague@example.com")).to_be_visible()

        # Disable the new user, then enable them again.
        page.get_by_role("button", name="Disable colleague@example.com").click()
        expect(page.get_by_role("status").first).to_contain_text("User disabled")
        colleague = page.locator(".user-list li").filter(has_text="colleague@example.com")
        expect(colleague.locator(".badge-off")).to_have_text("disabled")
        screenshot(page, request, "user-disabled")
        page.get_by_role("button", name="Enable colleague@example.com").click()
        expect(page.get_by_role("status").first).to_contain_text("User enabled again")
        expect(colleague.locator(".badge-off")).to_have_count(0)

        # Invite a viewer: the sign-in details are shown once.
        invite = page.locator("#invite")
        invite.get_by_label("Email").fill("reader@example.com")
        invite.get_by_label("Site").select_option("shop.example")
        invite.get_by_role("button", name="Invite viewer").click()
        expect(page.get_by_role("heading", name="Viewer invited")).to_be_visible()
        expect(page.get_by_text("reader@example.com can now see shop.example.")).to_be_visible()
        first_password = _password_shown(page)
        screenshot(page, request, "viewer-invited")

        reader = viewer.sign_in("reader@example.com", first_password)
        expect(reader.get_by_role("link", name=re.compile("shop.example"))).to_be_visible()
        expect(reader.get_by_text("old.example")).to_have_count(0)

        # Reset the viewer's password: signed out there, in with the new one.
        page.get_by_role("link", name="Back to the users").click()
        page.get_by_role("button", name="Reset the password of reader@example.com").click()
        expect(page.get_by_role("heading", name="Password reset")).to_be_visible()
        second_password = _password_shown(page)
        assert second_password != first_password
        reader.reload()
        expect(reader.get_by_role("button", name="Sign in")).to_be_visible()
        viewer.sign_in("reader@example.com", second_password)

        # The viewer's own account page: no administration in the menu.
        reader.locator(".account-menu summary").click()
        menu = reader.locator(".account-menu")
        expect(menu.get_by_role("link", name="Your account")).to_be_visible()
        expect(menu.get_by_role("link", name="Users")).to_have_count(0)
        expect(menu.get_by_role("link", name="Ops")).to_have_count(0)

        # Change one's own password; this browser stays signed in.
        _menu(page, "Your account")
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status").first).to_contain_text("Password changed.")
        screenshot(page, request, "password-changed")
        page.locator(".account-menu summary").click()
        page.get_by_role("button", name="Sign out").click()
        admin.sign_in(ADMIN, NEW_PASSWORD)

        # Ops is in the menu.
        _menu(page, "Ops")
        expect(page.get_by_role("heading", name="Ops: performance")).to_be_visible()

        # Delete a site by typing its domain: a mistyped one cannot be sent.
        _menu(page, "Manage sites")
        page.get_by_role("link", name="Delete old.example").click()
        expect(page.get_by_role("heading", name="Delete old.example")).to_be_visible()
        field = page.get_by_label("Type old.example to confirm")
        field.fill("old.exampl")
        button = page.get_by_role("button", name="Delete old.example and its events")
        button.click()
        assert not field.evaluate("input => input.validity.valid")
        expect(page.get_by_role("heading", name="Delete old.example")).to_be_visible()
        screenshot(page, request, "delete-confirmation")
        field.fill("old.example")
        button.click()
        expect(page.get_by_role("status").first).to_have_text("Site deleted, with all its events.")
        sites = page.locator("#sites")
        expect(sites.get_by_text("shop.example")).to_be_visible()
        expect(sites.get_by_text("old.example")).to_have_count(0)
        screenshot(page, request, "site-deleted")

        assert admin.problems == [] and viewer.problems == []
    finally:
        admin.close()
        viewer.close()


@pytest.mark.parametrize("path", ["/account", "/admin/sites", "/admin/users", "/"])
def test_the_administration_pages_fit_a_phone(
    browser: Browser, admin_server: ServerProcess, request: pytest.FixtureRequest, path: str
) -> None:
    phone = Watched(browser, admin_server, PHONE)
    try:
        page = phone.sign_in(ADMIN, _current_admin_password(admin_server))
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide"
        for button in page.locator("main button:visible").all():
            box = button.bounding_box()
            assert box is not None and box["x"] >= 0, path
            assert box["x"] + box["width"] <= PHONE["width"], path
        # The account menu opens inside the screen.
        page.locator(".account-menu summary").click()
        menu = page.locator(".account-menu ul").bounding_box()
        assert menu is not None and menu["x"] >= 0 and menu["x"] + menu["width"] <= PHONE["width"]
        name = path.strip("/").replace("/", "-") or "sites"
        screenshot(page, request, f"phone-{name}")
        assert phone.problems == []
    finally:
        phone.close()


def _current_admin_password(server: ServerProcess) -> str:
    """The admin's password whichever test ran first (the first hour changes it)."""
    from footfall.meta.users import verify_password

    meta = open_meta(load_settings({"data_dir": server.data_dir}, environ={}))
    try:
        return PASSWORD if verify_password(meta, ADMIN, PASSWORD) else NEW_PASSWORD
    finally:
        meta.dispose()
