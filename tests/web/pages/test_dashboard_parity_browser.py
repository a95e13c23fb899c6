"""The dashboard's new pages and controls in a real Chromium against `footfall serve --demo`:
graph metric and interval, details with search and paging, the export download, the realtime
view refreshing itself; no console or CSP errors, and every page fits a 375 px screen."""

from __future__ import annotations

import re
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import DESKTOP, PHONE, screenshot
from tests.conftest import CHROME_UA, FOOTFALL, free_port

pytestmark = pytest.mark.slow
DOMAIN = "demo.footfall.test"


@dataclass
class Demo:
    """A running `footfall serve --demo` and the login it printed."""

    url: str
    email: str
    password: str


def _wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError("condition not met in time")


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`footfall serve --demo` on a free loopback port, as `make run` starts it."""
    folder = tmp_path_factory.mktemp("demo")
    log = folder / "demo.log"
    port = free_port()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [*FOOTFALL, "serve", "--demo", "--port", str(port), "--data-dir", str(folder / "data")],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: "dashboard: " in log.read_text(), timeout=180)
        _wait_for(lambda: _answers(url))
        login = re.search(r"sign in as (\S+) with the password (\S+)\)", log.read_text())
        assert login is not None, log.read_text()
        yield Demo(url, login.group(1), login.group(2))
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Tab:
    """A signed-in tab, with the errors its console and pages reported."""

    page: Page
    errors: list[str]


def _open(context: BrowserContext, demo: Demo) -> Tab:
    # The browser's own favicon request is not the dashboard's to answer.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{demo.url}/login")
    page.get_by_label("Email").fill(demo.email)
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sites")).to_be_visible()
    return Tab(page, errors)


@pytest.fixture
def tab(browser: Browser, demo: Demo) -> Iterator[Tab]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)  # type: ignore[arg-type]
    try:
        yield _open(context, demo)
    finally:
        context.close()


def _points(page: Page) -> int:
    return page.locator(".chart-panel .ff-point").count()


def test_graph_metric_and_interval_switch(
    tab: Tab, demo: Demo, request: pytest.FixtureRequest
) -> None:
    page = tab.page
    page.goto(f"{demo.url}/sites/{DOMAIN}")
    expect(page.locator(".chart-title")).to_have_text("Unique visitors")
    changes = page.locator(".top-stat .change").all_inner_texts()
    assert changes and set(changes) != {"+100%"}, changes  # the previous period has traffic
    page.get_by_role("link", name=re.compile("Total pageviews")).click()
    expect(page).to_have_url(re.compile(r"metric=pageviews"))
    expect(page.locator(".chart-title")).to_have_text("Total pageviews")
    assert _points(page) == 30
    page.locator(".intervals").get_by_role("link", name="Weeks").click()
    expect(page).to_have_url(re.compile(r"metric=pageviews.*interval=week"))
    assert 4 <= _points(page) <= 6
    expect(page.locator(".intervals a[aria-current=true]")).to_have_text("Weeks")
    page.get_by_role("link", name=re.compile("Bounce rate")).click()
    expect(page.locator(".chart-title")).to_have_text("Bounce rate")
    assert "%" in page.locator(".chart-panel svg .ff-tick-y").last.inner_html()
    page.get_by_role("link", name="Last 7 days").click()
    expect(page.locator(".intervals")).to_contain_text("Hours")
    # Goals and properties from the demo's own vocabulary; no "(none)" row leads.
    expect(page.locator("#panel-goals")).to_contain_text("Signup")
    first_prop = page.locator("#panel-props tbody tr").first.inner_text()
    assert "(none)" not in first_prop
    screenshot(page, request, "metric-interval")
    assert tab.errors == []


def test_details_search_and_paging(tab: Tab, demo: Demo, request: pytest.FixtureRequest) -> None:
    page = tab.page
    page.goto(f"{demo.url}/sites/{DOMAIN}")
    page.get_by_role("link", name="Details of top pages").click()
    expect(page).to_have_url(re.compile(r"/details/pages"))
    rows = page.locator(".breakdown tbody tr")
    expect(rows).to_have_count(100)
    first = rows.first.inner_text()
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    assert rows.first.inner_text() != first
    page.get_by_role("link", name="← Previous").click()
    expect(page).not_to_have_url(re.compile(r"page=2"))
    page.get_by_label("Search top pages").fill("DOCS")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=DOCS"))
    labels = page.locator(".breakdown tbody td.row-label a").all_inner_texts()
    assert labels and all("docs" in label.lower() for label in labels), labels
    screenshot(page, request, "details-search")
    page.get_by_role("link", name=labels[0], exact=True).click()
    expect(page).to_have_url(re.compile(rf"/sites/{re.escape(DOMAIN)}\?.*f=event%3Apage"))
    page.goto(f"{demo.url}/sites/{DOMAIN}/details/locations?q=germ")
    expect(page.locator(".breakdown tbody")).to_contain_text("Germany")
    assert tab.errors == []


def test_export_downloads_a_zip(tab: Tab, demo: Demo, tmp_path: Path) -> None:
    page = tab.page
    page.goto(f"{demo.url}/sites/{DOMAIN}?period=7d")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename.startswith(f"footfall-export-{DOMAIN}-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        names = set(archive.namelist())
        assert {"visitors.csv", "sources.csv", "pages.csv", "conversions.csv"} <= names
        assert {"custom_props.csv", "countries.csv", "regions.csv", "cities.csv"} <= names
        assert archive.read("visitors.csv").startswith(b"date,visitors,pageviews,visits")
    assert tab.errors == []


def test_realtime_view_refreshes_itself(
    tab: Tab, demo: Demo, request: pytest.FixtureRequest
) -> None:
    page = tab.page
    page.goto(f"{demo.url}/sites/{DOMAIN}")
    page.get_by_role("link", name=re.compile("current visitors?")).click()
    expect(page).to_have_url(re.compile(r"/realtime"))
    expect(page.locator("#realtime-body .chart-panel svg")).to_be_visible()
    assert _points(page) == 30
    # The demo's own live traffic fills the panels: watch one new page through a filter.
    path = f"/live-{int(time.time())}"
    page.goto(f"{demo.url}/sites/{DOMAIN}/realtime?f=event:page=={path}")
    expect(page.locator("#realtime-pages")).to_contain_text("No visitors in the last 30 minutes")
    answer = httpx.post(
        f"{demo.url}/api/event",
        json={"name": "pageview", "url": f"https://{DOMAIN}{path}", "domain": DOMAIN},
        headers={"user-agent": CHROME_UA, "x-forwarded-for": "81.2.69.142"},
    )
    assert answer.status_code == 202
    pages = page.locator("#realtime-pages")

    def shown() -> bool:
        # The script refreshes every 30 seconds and whenever the tab becomes visible again.
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.wait_for_timeout(500)
        return path in pages.inner_text()

    _wait_for(shown)
    assert int(page.locator("#realtime-current").inner_text()) >= 1
    screenshot(page, request, "realtime")
    assert tab.errors == []


def test_every_new_page_fits_a_phone(
    browser: Browser, demo: Demo, request: pytest.FixtureRequest
) -> None:
    context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    try:
        phone = _open(context, demo)
        page = phone.page
        for name, path in (
            ("dashboard", f"/sites/{DOMAIN}?metric=visit_duration&interval=week"),
            ("details", f"/sites/{DOMAIN}/details/sources?sources=sources"),
            ("realtime", f"/sites/{DOMAIN}/realtime"),
        ):
            page.goto(demo.url + path)
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (name, width)
            screenshot(page, request, f"phone-{name}")
        assert phone.errors == []
    finally:
        context.close()
