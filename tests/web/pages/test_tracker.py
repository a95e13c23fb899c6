"""The tracker script: how it is served, and what it sends from a real browser.

In-process tests check the headers, versioning and size. The browser tests load pages from a
second loopback origin (a small HTTP server standing in for a customer's site) that embed the
script from a real `footfall serve`, then read the results back through the Stats API.

The browser runs under automation (``navigator.webdriver`` is true) and must still be counted.
Its own User-Agent says ``HeadlessChrome``, which the server drops as a bot like Plausible does,
so the pages run in a context that presents a desktop Chrome User-Agent.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response
from starlette.testclient import TestClient

from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import load_settings
from footfall.web.pages.tracker import script, snippet, tracker_url
from tests.conftest import CHROME_UA, ServerProcess, free_port

# --- served in-process ------------------------------------------------------------------------


def test_script_is_served_with_a_short_cache_an_etag_and_cors(client: TestClient) -> None:
    response = client.get("/js/script.js")
    assert response.status_code == 200
    assert response.content == script().body
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["etag"] == f'"{script().version}"'
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers  # only HTML pages get one
    assert client.head("/js/script.js").status_code == 200


def test_versioned_url_is_immutable_and_other_versions_are_not_found(client: TestClient) -> None:
    body = script().body
    assert tracker_url() == f"/js/script.{hashlib.sha256(body).hexdigest()[:10]}.js"
    response = client.get(tracker_url())
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["etag"] == f'"{script().version}"'
    for wrong in ("0123456789", "deadbeef00", script().version + "0", "x", "a.b"):
        assert client.get(f"/js/script.{wrong}.js").status_code == 404, wrong


@pytest.mark.parametrize("path", ["/js/script.js", "versioned"])
def test_if_none_match_answers_304(client: TestClient, path: str) -> None:
    url = tracker_url() if path == "versioned" else path
    etag = f'"{script().version}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(url, headers={"if-none-match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"].startswith("public, max-age=")
    assert client.get(url, headers={"if-none-match": '"other"'}).status_code == 200


def test_script_stays_under_two_kilobytes_gzipped(client: TestClient) -> None:
    served = client.get("/js/script.js").content
    assert len(gzip.compress(served)) < 2048


def test_snippet() -> None:
    html = snippet("example.com", "https://stats.example.org/")
    tag, stub = html.splitlines()
    assert tag == (
        '<script defer data-domain="example.com" '
        'src="https://stats.example.org/js/script.js"></script>'
    )
    assert stub.startswith("<script>window.footfall=window.footfall||function(){")
    assert "window.plausible=window.plausible||" in stub
    versioned = snippet("example.com", "https://stats.example.org", versioned=True)
    assert f'src="https://stats.example.org{tracker_url()}"' in versioned
    # Behind a path prefix the endpoint is named, since the default is the script's origin.
    prefixed = snippet("example.com", "https://example.org/stats")
    assert 'data-api="https://example.org/stats/api/event"' in prefixed
    assert 'src="https://example.org/stats/js/script.js"' in prefixed
    hostile = snippet('x"><script>alert(1)</script>', "https://s.example.org")
    assert "<script>alert(1)" not in hostile
    assert 'data-domain="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in hostile


# --- in a real browser ------------------------------------------------------------------------


@dataclass
class Footfall:
    """A real footfall server and a key to read its stats."""

    url: str
    key: str

    def breakdown(self, prop: str, metric: str) -> dict[str, int]:
        """Today's v1 breakdown by `prop`, as {value: metric}; '(none)' rows left out."""
        response = httpx.get(
            f"{self.url}/api/v1/stats/breakdown",
            params={
                "site_id": "example.com",
                "period": "day",
                "property": prop,
                "metrics": metric,
                "limit": "100",
            },
            headers={"authorization": f"Bearer {self.key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        column = prop.rsplit(":", 1)[-1]  # event:page -> page, event:props:plan -> plan
        rows = response.json()["results"]
        return {row[column]: row[metric] for row in rows if row[column] != "(none)"}


@dataclass
class Site:
    """A customer's site on another loopback origin: pages by path; anything else is 204."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def footfall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Footfall]:
    data = Path(tmp_path_factory.mktemp("tracker")) / "data"
    settings = load_settings({"data_dir": data}, environ={})
    meta = open_meta(settings)
    add_site(meta, domain="example.com", timezone="UTC")
    key = create_key(meta, name="tracker-test", scopes=("stats:read",))[1]
    server = ServerProcess(data_dir=data, port=free_port())
    server.start()
    try:
        yield Footfall(server.url, key)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def site(footfall: Footfall) -> Iterator[Site]:
    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            if body is None:  # links elsewhere answer 204: the browser stays on the page
                self.send_response(204)
                self.end_headers()
                return
            encoded = body.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    site = Site(port=httpd.server_address[1], pages=pages)
    pages.update(_pages(footfall.url, site.port))
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _document(head: str, body: str = "") -> str:
    return f"<!doctype html><html><head><title>t</title>{head}</head><body>{body}</body></html>"


def _pages(footfall: str, port: int) -> dict[str, str]:
    """The customer's pages; each embeds the tracker the way the docs tell site owners to."""
    versioned = snippet("example.com", footfall, versioned=True).replace(
        " defer ", " defer data-allow-localhost data-outbound-links data-file-downloads "
    )
    queued = (
        "<script>footfall('Queued', {props: {plan: 'queued'}}); plausible('Queued Alias')</script>"
    )
    app_body = (
        "<a id=spa href=/app/spa>SPA</a> <a id=section href=#section>Section</a> "
        f"<a id=out href=http://localhost:{port}/away>Out</a> "
        "<a id=pdf href=/files/report.pdf?v=2>PDF</a> "
        "<button id=signup>Sign up</button> <button id=alias>Alias</button>"
        "<script>"
        "document.getElementById('spa').onclick = function (e) {"
        "  e.preventDefault(); history.pushState({}, '', '/app/spa') };"
        "document.getElementById('signup').onclick = function () { footfall('Signup',"
        "  {props: {plan: 'pro'}, callback: function (r) { window.done = r }}) };"
        "document.getElementById('alias').onclick = function () {"
        "  plausible('Alias Signup', {props: {plan: 'free'}, interactive: false}) };"
        "</script>"
    )
    hash_head = (
        f'<script defer data-domain="example.com" data-api="{footfall}/api/event" data-hash '
        f'data-allow-localhost src="{footfall}/js/script.js"></script>'
    )
    manual = (
        f'<script defer data-domain="example.com" data-manual data-allow-localhost '
        f'src="{footfall}/js/script.js"></script>'
        "<script>window.plausible = window.plausible || function () {"
        " (plausible.q = plausible.q || []).push(arguments) };"
        f" plausible('pageview', {{u: 'http://127.0.0.1:{port}/manual/redacted'}})</script>"
    )
    plain = snippet("example.com", footfall) + (
        "<script>footfall('Probe', {callback: function (r) { window.done = [r] }})</script>"
    )
    return {
        "/app": _document(versioned + queued, app_body),
        # Included twice by mistake: the second copy stands down.
        "/hash": _document(hash_head * 2, "<a id=settings href=#/settings>Settings</a>"),
        "/manual": _document(manual),
        "/plain": _document(plain),
    }


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh profile presenting a desktop Chrome User-Agent (see the module docstring)."""
    context: BrowserContext = browser.new_context(user_agent=CHROME_UA)
    try:
        yield context.new_page()
    finally:
        context.close()


class Sent:
    """Every request the page makes to footfall's Events API, with its response status."""

    def __init__(self, page: Page, footfall: Footfall) -> None:
        self.page = page
        self.endpoint = f"{footfall.url}/api/event"
        self.events: list[tuple[dict[str, Any], dict[str, str], int]] = []
        self.requests = 0
        page.on("request", self._on_request)
        page.on("response", self._on_response)

    def _on_request(self, request: Any) -> None:
        if request.url == self.endpoint:
            self.requests += 1

    def _on_response(self, response: Response) -> None:
        if response.url == self.endpoint:
            request = response.request
            payload = json.loads(request.post_data or "null")
            self.events.append((payload, request.headers, response.status))

    def names(self) -> list[str]:
        return [payload["n"] for payload, _, _ in self.events]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Waits (bounded) until `count` events have been answered."""
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(25)
        assert len(self.events) >= count, self.names()

    def after(self, action: Callable[[], Any], count: int = 1) -> None:
        """Runs `action`, then waits for `count` more answered events."""
        expected = len(self.events) + count
        action()
        self.wait_for(expected)


def _poll(read: Callable[[], dict[str, int]], expected: dict[str, int]) -> dict[str, int]:
    """Reads until the answer equals `expected` or 20 s pass (ingest is asynchronous)."""
    deadline = time.monotonic() + 20
    while True:
        answer = read()
        if answer == expected or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


# The negative cases run first, so the exact totals in the last test also prove that nothing
# they blocked in the browser reached the server by another way.


@pytest.mark.slow
def test_localhost_is_ignored_without_the_opt_in(tab: Page, site: Site, footfall: Footfall) -> None:
    sent = Sent(tab, footfall)
    warnings: list[str] = []
    tab.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    for origin in (site.url, f"http://localhost:{site.port}"):
        tab.goto(f"{origin}/plain")
        # The callback runs with no argument when an event is ignored; by then the page view
        # has been decided on too.
        tab.wait_for_function("window.done && window.done[0] === undefined", timeout=10_000)
    tab.evaluate("footfall('Probe')")
    assert sent.requests == 0 and sent.events == []
    assert "footfall: ignoring pageview (localhost)" in warnings


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["footfall_ignore", "plausible_ignore"])
def test_opt_out_flag_stops_sending(tab: Page, site: Site, footfall: Footfall, flag: str) -> None:
    sent = Sent(tab, footfall)
    tab.context.add_init_script(f"localStorage.{flag} = 'true'")
    tab.goto(f"{site.url}/app")
    tab.click("#signup")
    tab.wait_for_function("'done' in window && window.done === undefined", timeout=10_000)
    tab.click("#spa")
    tab.click("#out")
    tab.click("#pdf")
    tab.evaluate("footfall('Probe', {callback: function (r) { window.probe = [r] }})")
    tab.wait_for_function("window.probe && window.probe[0] === undefined", timeout=10_000)
    assert sent.requests == 0 and sent.events == []


@pytest.mark.slow
def test_page_views_custom_events_and_links_reach_the_stats(
    tab: Page, site: Site, footfall: Footfall
) -> None:
    sent = Sent(tab, footfall)
    # Queued before the script loaded: replayed after the page view, footfall's queue first.
    sent.after(lambda: tab.goto(f"{site.url}/app"), count=3)
    assert tab.evaluate("navigator.webdriver") is True  # automation is not ignored
    assert sent.names() == ["pageview", "Queued", "Queued Alias"]
    sent.after(lambda: tab.click("#spa"))  # history.pushState
    tab.click("#section")  # same page, only the fragment changed: no page view
    sent.after(lambda: tab.evaluate("history.go(-2)"))  # popstate back to /app
    sent.after(lambda: tab.click("#signup"))
    tab.wait_for_function("window.done && window.done.status === 202", timeout=10_000)
    sent.after(lambda: tab.click("#alias"))
    sent.after(lambda: tab.click("#out"))
    sent.after(lambda: tab.click("#pdf"))
    sent.after(lambda: tab.goto(f"{site.url}/hash"))
    sent.after(lambda: tab.click("#settings"))  # a fragment navigation, in hash mode
    sent.after(lambda: tab.goto(f"{site.url}/manual"))  # data-manual: only the queued call

    assert all(status == 202 for _, _, status in sent.events)
    assert len(sent.events) == 12, sent.names()
    by_name = {payload["n"]: payload for payload, _, _ in sent.events}
    pageview, headers, _ = sent.events[0]
    assert pageview == {
        "n": "pageview",
        "u": f"{site.url}/app",
        "d": "example.com",
        "r": None,
    }
    assert headers["content-type"] == "text/plain"
    assert by_name["Signup"]["p"] == {"plan": "pro"}
    assert by_name["Alias Signup"]["i"] is False
    assert by_name["Outbound Link: Click"]["p"] == {"url": f"http://localhost:{site.port}/away"}
    assert by_name["File Download"]["p"] == {"url": f"{site.url}/files/report.pdf"}
    hash_views = [p for p, _, _ in sent.events if p["u"].startswith(f"{site.url}/hash")]
    assert [(p["u"], p.get("h")) for p in hash_views] == [
        (f"{site.url}/hash", 1),
        (f"{site.url}/hash#/settings", 1),
    ]

    assert sent.events[-1][0]["u"] == f"{site.url}/manual/redacted"

    pages = {"/app": 2, "/app/spa": 1, "/hash": 1, "/hash#/settings": 1, "/manual/redacted": 1}
    assert _poll(lambda: footfall.breakdown("event:page", "pageviews"), pages) == pages
    names = {
        "pageview": 6,
        "Queued": 1,
        "Queued Alias": 1,
        "Signup": 1,
        "Alias Signup": 1,
        "Outbound Link: Click": 1,
        "File Download": 1,
    }
    assert _poll(lambda: footfall.breakdown("event:name", "events"), names) == names
    plans = {"pro": 1, "free": 1, "queued": 1}
    assert _poll(lambda: footfall.breakdown("event:props:plan", "events"), plans) == plans
    urls = {f"http://localhost:{site.port}/away": 1, f"{site.url}/files/report.pdf": 1}
    assert _poll(lambda: footfall.breakdown("event:props:url", "events"), urls) == urls
