"""The dashboard in a real browser against a real server: tracker to panels, filters in the
URL and the back button, shared links, escaping, small screens, screenshots."""

from __future__ import annotations

import http.server
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from footfall.meta.goals import add_goal
from footfall.meta.keys import create_key
from footfall.meta.shared_links import create_link
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import Settings
from tests.browser import DESKTOP, PHONE, screenshot, sign_in_page
from tests.conftest import CHROME_UA, FOOTFALL, ServerProcess, free_port

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"
pytestmark = pytest.mark.slow


def _wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _send(server: ServerProcess, path: str, ip: str, **body: object) -> None:
    event = {"name": "pageview", "url": f"https://example.com{path}", "domain": "example.com"}
    event.update(body)
    response = httpx.post(
        f"{server.url}/api/event",
        json=event,
        headers={"user-agent": CHROME_UA, "x-forwarded-for": ip},
    )
    assert response.status_code == 202


@pytest.fixture(scope="module")
def site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server with example.com, an admin, a goal, and traffic from known sources."""
    from footfall.settings import load_settings

    data = tmp_path_factory.mktemp("browser") / "data"
    settings = load_settings({"data_dir": data}, environ={})
    meta = open_meta(settings)
    from footfall.meta.sites import add_site

    site = add_site(meta, domain="example.com")
    add_goal(meta, site.id, event_name="Signup")
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    key = create_key(meta, name="probe", scopes=("stats:read",))[1]
    meta.dispose()
    server = ServerProcess(data_dir=data, port=free_port())
    server.start()
    google = "https://www.google.com/search?q=x"
    for index in range(3):
        _send(server, "/", f"8.8.8.{index}", referrer=google)
    _send(server, "/about", "1.1.1.1", referrer="https://news.ycombinator.com/")
    _send(server, "/" + XSS, "9.9.9.9", props={"note": XSS})

    def stored() -> bool:
        answer = httpx.get(
            f"{server.url}/api/v1/stats/aggregate",
            params={"site_id": "example.com", "period": "day", "metrics": "visits"},
            headers={"authorization": f"Bearer {key}"},
        )
        return bool(answer.json()["results"]["visits"]["value"] == 5)

    # Sessions reach the store within FOOTFALL_SESSION_FLUSH_MS of the last event.
    _wait_for(stored)
    try:
        yield server
    finally:
        server.stop()


def _settings_of(server: ServerProcess) -> Settings:
    from footfall.settings import load_settings

    return load_settings({"data_dir": server.data_dir}, environ={})


def _sign_in(page: Page, server: ServerProcess) -> None:
    sign_in_page(page, server.url, "admin@example.com", PASSWORD)


def _visitors(page: Page) -> int:
    text = page.locator(".top-stat").first.locator(".top-stat-value").inner_text()
    return int(text.replace(",", ""))


@pytest.fixture
def tracked_page(site_server: ServerProcess, tmp_path: Path) -> Iterator[str]:
    """A page on another origin that loads footfall's tracker, like a customer's site."""
    (tmp_path / "index.html").write_text(
        f"""<!doctype html><html><head><title>Shop</title>
<script>window.footfall = window.footfall || function () {{
  (window.footfall.q = window.footfall.q || []).push(arguments) }};</script>
<script defer data-domain="example.com" data-api="{site_server.url}/api/event"
  data-allow-localhost src="{site_server.url}/js/script.js"></script></head>
<body><h1>Shop</h1>
<a id="spa" href="/checkout">Checkout</a>
<button id="signup">Sign up</button>
<script>
document.getElementById("spa").addEventListener("click", function (e) {{
  e.preventDefault(); history.pushState({{}}, "", "/checkout");
}});
document.getElementById("signup").addEventListener("click", function () {{
  footfall("Signup", {{props: {{plan: "pro"}}}});
}});
</script></body></html>"""
    )
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_tracked_visits_show_up_in_the_right_panels(
    browser: Browser,
    page: Page,
    site_server: ServerProcess,
    tracked_page: str,
    request: pytest.FixtureRequest,
) -> None:
    _sign_in(page, site_server)
    dashboard = f"{site_server.url}/sites/example.com?period=day"
    page.goto(dashboard)
    visitors_before = _visitors(page)

    visitor = browser.new_context(user_agent=CHROME_UA)
    shop = visitor.new_page()
    shop.goto(tracked_page)
    shop.wait_for_function("typeof window.footfall === 'function' && !window.footfall.q")
    shop.click("#spa")
    shop.click("#signup")
    visitor.close()

    def shown() -> bool:
        page.goto(dashboard)
        pages = page.locator("#panel-pages").inner_text()
        goals = page.locator("#panel-goals").inner_text()
        # Also counted as a visitor: its session is written, so the module's other tests,
        # which share this server, see numbers that no longer move.
        counted = _visitors(page) == visitors_before + 1
        return "/checkout" in pages and "Signup" in goals and counted

    _wait_for(shown)
    assert "/index.html" in page.locator("#panel-pages").inner_text()
    page.goto(dashboard + "&prop=plan#panel-props")
    assert "pro" in page.locator("#panel-props").inner_text()
    screenshot(page, request, "desktop")


def test_a_source_click_filters_and_back_restores(page: Page, site_server: ServerProcess) -> None:
    _sign_in(page, site_server)
    page.goto(f"{site_server.url}/sites/example.com?period=day&sources=sources")
    before = _visitors(page)
    page.locator("#panel-sources").get_by_role("link", name="Google").click()
    expect(page).to_have_url(re.compile(r"f=visit%3Asource%3D%3DGoogle"))
    assert _visitors(page) == 3 < before
    expect(page.locator(".chip")).to_contain_text("Google")
    page.go_back()
    expect(page).not_to_have_url(re.compile("f=visit"))
    assert _visitors(page) == before


def test_shared_links_work_signed_out(page: Page, site_server: ServerProcess) -> None:
    meta = open_meta(_settings_of(site_server))
    public = create_link(meta, "example.com", name="public board")
    locked = create_link(meta, "example.com", name="locked board", password=PASSWORD)
    meta.dispose()
    page.goto(f"{site_server.url}/share/{public.slug}?period=day")
    expect(page.locator(".top-stat").first).to_be_visible()
    assert page.get_by_role("button", name="Sign out").count() == 0
    page.goto(f"{site_server.url}/share/{locked.slug}")
    expect(page.get_by_label("Password")).to_be_visible()
    assert page.locator(".top-stat").count() == 0
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Show dashboard").click()
    expect(page.locator(".top-stat").first).to_be_visible()


def test_hostile_text_renders_as_text(page: Page, site_server: ServerProcess) -> None:
    _sign_in(page, site_server)
    page.goto(f"{site_server.url}/sites/example.com?period=day&prop=note")
    expect(page.locator("#panel-pages")).to_contain_text(XSS)
    expect(page.locator("#panel-props")).to_contain_text(XSS)
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator("img[src=x]").count() == 0


def test_small_screens_few_requests_and_labels(
    browser: Browser, site_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    _sign_in(page, site_server)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{site_server.url}/sites/example.com?period=day")
    page.wait_for_load_state("networkidle")
    assert len(requests) <= 4, requests  # the page, its stylesheet and its one script
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select')]
             .filter(e => !e.labels || e.labels.length === 0).length"""
    )
    assert unlabelled == 0
    screenshot(page, request, "phone")
    context.close()


def test_the_demo_dashboard(
    browser: Browser, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`footfall serve --demo` as `make run` starts it: two months of traffic, goals, a login.

    Its desktop screenshot is the one the README shows.
    """
    port = free_port()
    log = tmp_path / "demo.log"
    data = tmp_path / "data"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [*FOOTFALL, "serve", "--demo", "--port", str(port), "--data-dir", str(data)],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: "dashboard: " in log.read_text(), timeout=120)

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(answers)
        login = re.search(r"sign in as (\S+) with the password (\S+)\)", log.read_text())
        assert login is not None, log.read_text()
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/login")
        page.get_by_label("Email").fill(login.group(1))
        page.get_by_label("Password").fill(login.group(2))
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name=re.compile("demo.footfall.test")).click()
        expect(page.locator(".top-stat").first).to_be_visible()
        shown = page.locator(".top-stat-value").first.inner_text()
        assert shown.endswith("k"), shown  # thousands of visitors in 30 days
        for panel in ("sources", "pages", "locations", "devices", "goals", "props"):
            assert page.locator(f"#panel-{panel} tbody tr").count() >= 3
        # The previous 30 days have traffic too, so the changes are real ones.
        assert set(page.locator(".top-stat .change").all_inner_texts()) != {"+100%"}
        screenshot(page, request, "demo-desktop")
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
