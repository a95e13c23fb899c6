"""The site settings page in a real browser against a real server: copy buttons, small screens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from footfall.meta.goals import add_goal
from footfall.meta.keys import create_key
from footfall.meta.shared_links import create_link
from footfall.meta.sites import add_site
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import load_settings
from tests.browser import DESKTOP, PHONE, screenshot
from tests.conftest import ServerProcess, free_port

PASSWORD = "correct horse battery"
LONG_NAME = "A shared link with a rather long name for the quarterly board meeting"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server with example.com, a goal, a shared link, an admin and the admin's key."""
    data = tmp_path_factory.mktemp("settings-browser") / "data"
    meta = open_meta(load_settings({"data_dir": data}, environ={}))
    site = add_site(meta, domain="example.com")
    add_goal(meta, site.id, page_path="/checkout/thank-you/a-rather-long-path/**")
    create_link(meta, "example.com", name=LONG_NAME, password="open sesame, please")
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    create_key(meta, name="nightly-report-for-the-board", user_email="admin@example.com")
    meta.dispose()
    server = ServerProcess(data_dir=data, port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _signed_in(browser: Browser, server: ServerProcess, viewport: dict[str, int]) -> Page:
    context: BrowserContext = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        base_url=server.url,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.goto("/login?next=/sites/example.com/settings")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Settings for example.com")).to_be_visible()
    return page


def test_copy_buttons_copy_the_snippet_and_a_new_key(
    browser: Browser, settings_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    page = _signed_in(browser, settings_server, DESKTOP)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.get_by_role("button", name="Copy snippet").click()
    expect(page.locator("#snippet-status")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#snippet-code").text_content()
    assert 'data-domain="example.com"' in copied

    page.get_by_label("Name", exact=True).first.fill("browser-key")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="API key browser-key created")).to_be_visible()
    page.get_by_role("button", name="Copy key").click()
    expect(page.locator("#key-secret-status")).to_have_text("Copied to the clipboard.")
    secret = page.evaluate("navigator.clipboard.readText()")
    assert secret.startswith("ff_") and secret == page.locator("#key-secret").text_content()
    screenshot(page, request, "key-created")
    assert errors == []  # no CSP violation, no script error
    page.context.close()


def test_the_page_fits_a_phone(
    browser: Browser, settings_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    page = _signed_in(browser, settings_server, PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide"
    for name in ("Save time zone", "Add goal", "Create key", "Add viewer", "Create link"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(page.get_by_text("password protected")).to_be_visible()
    path = screenshot(page, request, "phone")
    assert isinstance(path, Path) and path.exists()
    page.context.close()
