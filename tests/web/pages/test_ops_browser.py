"""The three ops dashboards in a real browser against a real server with live traffic."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import load_settings
from tests.browser import screenshot, sign_in_page
from tests.conftest import CHROME_UA, PASSWORD, ServerProcess, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server sampling its figures twice a second, after ingest, queries and refused calls."""
    data = tmp_path_factory.mktemp("ops") / "data"
    settings = load_settings({"data_dir": data}, environ={})
    meta = open_meta(settings)
    add_site(meta, domain="example.com")
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    key = create_key(meta, name="probe", scopes=("stats:read",))[1]
    meta.dispose()
    server = ServerProcess(
        data_dir=data, port=free_port(), env={"FOOTFALL_OPS_SAMPLE_SECONDS": "0.5"}
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url) as client:
            for i in range(20):
                event = {"name": "pageview", "url": f"https://example.com/p{i % 4}"}
                answer = client.post(
                    "/api/event",
                    json={**event, "domain": "example.com"},
                    headers={"user-agent": CHROME_UA, "x-forwarded-for": f"8.8.4.{i}"},
                )
                assert answer.status_code == 202
            auth = {"authorization": f"Bearer {key}"}
            for period in ("day", "7d", "30d"):
                for path, extra in (
                    ("aggregate", {"metrics": "visitors,pageviews"}),
                    ("breakdown", {"property": "event:page"}),
                ):
                    answer = client.get(
                        f"/api/v1/stats/{path}",
                        params={"site_id": "example.com", "period": period, **extra},
                        headers=auth,
                    )
                    assert answer.status_code == 200, answer.text
            bad = {"authorization": "Bearer not-a-key"}
            for _ in range(3):
                refused = client.get(
                    "/api/v1/stats/aggregate", params={"site_id": "example.com"}, headers=bad
                )
                assert refused.status_code == 401
        time.sleep(1.6)  # at least two samples after the traffic
        yield server
    finally:
        server.stop()


def test_the_ops_dashboards_show_live_figures(
    page: Page, busy_server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    problems: list[str] = []  # script errors, CSP violations, failed loads (not the favicon)
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    sign_in_page(page, busy_server.url, "admin@example.com", PASSWORD)

    page.goto(f"{busy_server.url}/ops")
    expect(page.get_by_role("heading", name="Ops: performance")).to_be_visible()
    routes = page.locator("#ops-routes")
    expect(routes).to_contain_text("/api/v1/stats/aggregate")
    expect(routes).to_contain_text("/api/v1/stats/breakdown")
    expect(page.get_by_role("img", name="Latency of /api/v1/stats/aggregate")).to_be_visible()
    expect(page.get_by_role("img", name="Ingested events per second")).to_be_visible()
    slow = page.locator("#ops-slow-queries tbody tr")
    expect(slow.first).to_contain_text("metrics=")
    assert slow.count() >= 2
    # Drawn, not empty: the request-rate chart has a line.
    assert page.get_by_role("img", name="Requests per second").locator("path.ff-line").count() == 1
    screenshot(page, request, "performance")

    page.get_by_role("link", name="Resources").click()
    expect(page.get_by_role("heading", name="Ops: resources")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("no leak suspected")
    rss = page.get_by_role("img", name="Resident memory (RSS)")
    expect(rss.locator("path.ff-line")).to_have_count(1)
    tip = rss.locator("g.ff-point title").last.text_content() or ""
    assert "MiB" in tip and "RSS" in tip
    expect(page.get_by_role("img", name="GC collections per second")).to_be_visible()
    expect(page.get_by_role("img", name="Database size").locator("path.ff-line")).not_to_have_count(
        0
    )
    screenshot(page, request, "resources")

    page.get_by_role("link", name="Errors").click()
    expect(page.get_by_role("heading", name="Ops: errors")).to_be_visible()
    by_route = page.locator("#ops-error-routes tbody tr", has_text="/api/v1/stats/aggregate")
    expect(by_route).to_have_count(1)
    assert int(by_route.locator("td").nth(1).inner_text()) >= 3  # the refused keys (401)
    expect(page.get_by_text("No unexpected exception since this process started.")).to_be_visible()
    screenshot(page, request, "errors")

    page.get_by_role("link", name="Last 7d").click()
    expect(page.get_by_role("heading", name="Ops: errors")).to_be_visible()
    assert "range=7d" in page.url
    assert problems == []


# Every text of each ops chart as drawn: its box on the screen, its font size in CSS pixels
# (the drawing's scale applied), and whether it is an x or y axis label.
_CHART_TEXTS = """
() => Array.from(document.querySelectorAll('.ops-chart svg')).map(svg => {
  const scale = svg.getScreenCTM().a;
  return Array.from(svg.querySelectorAll('text'))
    .filter(t => getComputedStyle(t).display !== 'none')
    .map(t => {
      const r = t.getBoundingClientRect();
      return {
        text: t.textContent,
        axis: t.closest('.ff-axis-x') ? 'x' : (t.closest('.ff-axis-y') ? 'y' : 'other'),
        left: r.left, right: r.right, top: r.top, bottom: r.bottom,
        px: parseFloat(getComputedStyle(t).fontSize) * scale,
      };
    });
})
"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


@pytest.mark.parametrize("width", [375, 1280])
def test_ops_chart_labels_are_legible_and_never_overlap(
    browser: Browser,
    busy_server: ServerProcess,
    request: pytest.FixtureRequest,
    width: int,
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 812})
    try:
        page = context.new_page()
        sign_in_page(page, busy_server.url, "admin@example.com", PASSWORD)
        # 7d labels are the longest ("Mon 13:50"); 1h has the most samples.
        for name, range_ in itertools.product(("performance", "resources", "errors"), ("7d", "1h")):
            page.goto(f"{busy_server.url}/ops/{name}?range={range_}")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            charts = page.evaluate(_CHART_TEXTS)
            assert charts, name
            for texts in charts:
                assert any(t["axis"] == "x" for t in texts)
                for text in texts:
                    assert text["px"] >= 11, (name, text)
                    assert text["bottom"] - text["top"] >= 11, (name, text)
                for i, first in enumerate(texts):
                    for second in texts[i + 1 :]:
                        assert not _overlap(first, second), (name, first, second)
            if range_ == "1h":
                screenshot(page, request, f"{name}-{width}")
        # The errors page is its chart beside (or, on a phone, above) the table, not one
        # chart across the whole page.
        chart = page.locator(".ops-split .ops-chart").bounding_box()
        table = page.locator("#ops-error-routes").bounding_box()
        assert chart is not None and table is not None
        if width > 700:
            assert chart["width"] < width / 2 and table["x"] > chart["x"] + chart["width"]
        else:
            assert table["y"] > chart["y"] + chart["height"]
    finally:
        context.close()
