"""Profiling: an admin's ``?profile=1``, the event loop's profile, and `footfall profile`."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from playwright.sync_api import Page, expect
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from footfall.clock import FixedClock
from footfall.meta.keys import create_key
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from footfall.web.api.openapi import openapi_document
from footfall.web.app import create_app
from footfall.web.middleware import profiling
from footfall.web.middleware.security import CONTENT_SECURITY_POLICY
from tests.browser import sign_in_page
from tests.conftest import FOOTFALL, PASSWORD, ServerProcess, free_port, sign_in

LOOP = "/api/v1/debug/profile"
AGGREGATE = "/api/v1/stats/aggregate?site_id=example.com&metrics=visitors"
REPORT_MARK = "pyinstrumentHTMLRenderer"  # the viewer's entry point, in every HTML report


def _key(settings: Settings, *scopes: str) -> dict[str, str]:
    _, secret = create_key(open_meta(settings), name="-".join(scopes), scopes=scopes)
    return {"authorization": f"Bearer {secret}"}


def _assert_report(response: httpx.Response) -> None:
    """An HTML report: no-store, its own CSP allowing its scripts by hash, security headers."""
    assert response.status_code == 200
    headers = response.headers
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    policy = headers["content-security-policy"]
    assert policy != CONTENT_SECURITY_POLICY
    assert policy.count("'sha256-") == 2 and "'unsafe-inline'" not in policy.split(";")[1]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "x-request-id" in headers
    assert REPORT_MARK in response.text


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return settings.replace(login_rate_limit="", login_account_rate_limit="")


# -- ?profile=1 ------------------------------------------------------------------------------


def test_an_admin_key_gets_the_profile_of_its_request(
    client: TestClient, settings: Settings
) -> None:
    admin = _key(settings, "admin")
    response = client.get(f"{AGGREGATE}&profile=1", headers=admin)
    _assert_report(response)
    assert response.headers["x-profiled-status"] == "200"
    # The app served the request under the profiler: its handler is in the report.
    assert "GET /api/v1/stats/aggregate" in response.text
    assert "api/stats.py" in response.text
    # The app's own status is reported; its answer (here a 400) is not sent.
    failed = client.get("/api/v1/stats/aggregate?profile=1", headers=admin)
    _assert_report(failed)
    assert failed.headers["x-profiled-status"] == "400"
    # Served normally without the parameter, or with another value.
    assert client.get(AGGREGATE, headers=admin).json() == {"results": {"visitors": {"value": 0}}}
    assert client.get(f"{AGGREGATE}&profile=0", headers=admin).status_code == 200
    assert not profiling.PROFILE_GATE.busy


def test_a_signed_in_admin_gets_the_profile_of_a_page(
    web_settings: Settings, clock: FixedClock
) -> None:
    add_user(open_meta(web_settings), email="root@example.com", role="admin", password=PASSWORD)
    with TestClient(create_app(web_settings, clock=clock)) as client:
        sign_in(client, "root@example.com")
        response = client.get("/?profile=1")
        _assert_report(response)
        assert response.headers["x-profiled-status"] == "200"
        assert "GET /" in response.text


def _same_answer(client: TestClient, url: str, **kwargs: object) -> None:
    """`url` with ``profile=1`` is answered exactly as without it."""
    sep = "&" if "?" in url else "?"
    plain = client.get(url, **kwargs)  # type: ignore[arg-type]
    asked = client.get(f"{url}{sep}profile=1", **kwargs)  # type: ignore[arg-type]
    assert (asked.status_code, asked.content) == (plain.status_code, plain.content)
    assert "x-profiled-status" not in asked.headers
    assert asked.headers.get("content-type") == plain.headers.get("content-type")
    assert asked.headers.get("cache-control") == plain.headers.get("cache-control")


def test_anyone_else_is_served_as_if_the_parameter_were_absent(
    web_settings: Settings, clock: FixedClock
) -> None:
    meta = open_meta(web_settings)
    add_user(meta, email="viewer@example.com", role="viewer", password=PASSWORD)
    reader = _key(web_settings, "stats:read")
    with TestClient(create_app(web_settings, clock=clock), follow_redirects=False) as client:
        _same_answer(client, "/healthz")
        _same_answer(client, AGGREGATE)  # no key: the API's 401
        _same_answer(client, "/")  # signed out: the redirect to sign-in
        _same_answer(client, AGGREGATE, headers=reader)
        _same_answer(client, "/healthz", headers={"authorization": "Bearer not-a-key"})
        sign_in(client, "viewer@example.com")
        _same_answer(client, "/")
        assert client.get("/").status_code == 200


def test_the_app_never_sees_the_parameter() -> None:
    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        body = scope["query_string"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    client = TestClient(profiling.ProfileMiddleware(echo))  # no lifespan: requests only
    assert client.get("/x?a=1&profile=1&b=%20").text == "a=1&b=%20"
    assert client.get("/x?profile=1").text == ""
    assert client.get("/x?profile=2&a=1").text == "profile=2&a=1"  # not a profile request
    assert client.get("/x?profiler=1").text == "profiler=1"


def test_the_report_policy_allows_exactly_its_scripts() -> None:
    html = "<script>one()</script><style>p{}</style><script>\ntwo()\n</script>"
    policy = profiling.report_policy(html)
    # sha256 of "one()" and of "\ntwo()\n", as browsers compute them.
    assert "'sha256-HR7iaask9daLMRRskMI++QeJtjWDOjyPA6lGzYGzKW4='" in policy
    assert "'sha256-CO+FkcwFIluZ98XczjkmxJwzME+ATnUpm+699SF3auo='" in policy
    assert policy.count("'sha256-") == 2
    assert policy.startswith("default-src 'none'; script-src 'sha256-")
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'none'" in profiling.report_policy("<p>no script</p>")


# -- GET /api/v1/debug/profile ---------------------------------------------------------------


def test_the_loop_profile_answers_html_and_text(client: TestClient, settings: Settings) -> None:
    admin = _key(settings, "admin")
    html = client.get(LOOP, params={"seconds": "1"}, headers=admin)
    _assert_report(html)
    assert "event loop, 1 s" in html.text
    text = client.get(LOOP, params={"seconds": "1", "format": "text"}, headers=admin)
    assert text.status_code == 200
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["cache-control"] == "no-store"
    assert "event loop, 1 s" in text.text and "Samples:" in text.text
    assert not profiling.PROFILE_GATE.busy


def test_the_loop_profile_needs_an_admin_key_and_good_parameters(
    client: TestClient, settings: Settings
) -> None:
    assert client.get(LOOP).status_code == 401
    assert client.get(LOOP, headers=_key(settings, "stats:read")).status_code == 401
    admin = _key(settings, "admin")
    for seconds in ("0", "61", "1.5", "abc", "", "-1", "٣"):
        response = client.get(LOOP, params={"seconds": seconds}, headers=admin)
        assert response.status_code == 400, seconds
        assert response.json() == {
            "error": "Parameter `seconds` must be a whole number from 1 to 60"
        }
    response = client.get(LOOP, params={"seconds": "1", "format": "pdf"}, headers=admin)
    assert response.status_code == 400
    assert response.json() == {"error": "Parameter `format` must be one of html, text, speedscope"}


def test_one_profile_at_a_time(client: TestClient, settings: Settings) -> None:
    admin = _key(settings, "admin")
    first: dict[str, object] = {}

    def profile_the_loop() -> None:
        response = client.get(LOOP, params={"seconds": "2", "format": "speedscope"}, headers=admin)
        first["status"], first["body"] = response.status_code, response.json()

    worker = threading.Thread(target=profile_the_loop)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not profiling.PROFILE_GATE.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert profiling.PROFILE_GATE.busy
        second = client.get(LOOP, params={"seconds": "1"}, headers=admin)
        assert second.status_code == 409
        assert second.json() == {"error": profiling.BUSY}
        request = client.get("/healthz?profile=1", headers=admin)
        assert request.status_code == 409
        assert request.json() == {"error": profiling.BUSY}
        # Anyone else is served as usual meanwhile.
        assert client.get("/healthz?profile=1").text == "ok"
    finally:
        worker.join(timeout=30)
    assert first["status"] == 200
    body = first["body"]
    assert isinstance(body, dict)
    assert body["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert not profiling.PROFILE_GATE.busy
    assert client.get("/healthz?profile=1", headers=admin).status_code == 200  # free again


# The operation the schemathesis probe of tests/web/api/test_openapi.py leaves out (its cases would
# sleep up to a minute each), sent its one-second cases and checked the same way.
_api = schemathesis.openapi.from_dict(openapi_document())
CHECKS = [
    not_a_server_error,
    ignored_auth,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_loop_profile_answers_as_documented(settings: Settings, clock: FixedClock) -> None:
    app = create_app(settings, clock=clock)
    # Capitalised as schemathesis expects, so that its `ignored_auth` check can drop it.
    headers = {"Authorization": _key(settings, "admin")["authorization"]}
    operation = _api[LOOP]["GET"]
    cases = (
        {"seconds": 1},
        {"seconds": 1, "format": "text"},
        {"seconds": 1, "format": "speedscope"},
        {"seconds": 0},
        {"format": "svg"},
    )
    for query in cases:
        case = operation.Case(query=query)
        case.operation.schema.app = case.operation.app = app
        case.call_and_validate(headers=headers, checks=CHECKS)


# -- a real server: footfall profile, and the report in a browser -----------------------------


@dataclass
class Live:
    server: ServerProcess
    key: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A real server with an admin user (root@example.com) and an admin key."""
    data = tmp_path_factory.mktemp("profile") / "data"
    meta = open_meta(load_settings({"data_dir": data}, environ={}))
    add_user(meta, email="root@example.com", role="admin", password=PASSWORD)
    key = create_key(meta, name="root", scopes=("admin",))[1]
    meta.dispose()
    server = ServerProcess(data_dir=data, port=free_port())
    server.start()
    try:
        yield Live(server, key)
    finally:
        server.stop()


def footfall_profile(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOOTFALL, "profile", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")},
    )


@pytest.mark.slow
def test_footfall_profile_writes_the_report(live: Live, tmp_path: Path) -> None:
    url = live.server.url
    done = footfall_profile("--seconds", "1", "--url", url, "--key", live.key, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tmp_path / done.stdout.strip()
    assert written.name.startswith("footfall-profile-") and written.suffix == ".html"
    report = written.read_text()
    assert REPORT_MARK in report and "event loop, 1 s" in report

    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    text = subprocess.run(
        [*FOOTFALL, "profile", "--seconds", "1", "--format", "text"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**env, "FOOTFALL_URL": url, "FOOTFALL_API_KEY": live.key},
    )
    assert text.returncode == 0, text.stderr
    assert "event loop, 1 s" in text.stdout and "Samples:" in text.stdout

    chosen = tmp_path / "loop.txt"
    done = footfall_profile(
        "--seconds",
        "1",
        "--url",
        url,
        "--key",
        live.key,
        "--format",
        "text",
        "--output",
        str(chosen),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(chosen)
    assert "event loop, 1 s" in chosen.read_text()


@pytest.mark.slow
def test_footfall_profile_reports_failures_in_one_line(live: Live, tmp_path: Path) -> None:
    refused = footfall_profile("--seconds", "1", "--url", live.server.url, "--key", "wrong")
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: the server refused the key (401)")
    nowhere = tmp_path / "missing" / "report.html"
    unwritable = footfall_profile(
        "--seconds", "1", "--url", live.server.url, "--key", live.key, "--output", str(nowhere)
    )
    assert unwritable.returncode == 1
    assert unwritable.stderr.startswith(f"error: cannot write {nowhere}: ")
    assert unwritable.stderr.count("\n") == 1


def test_footfall_profile_reports_an_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = footfall_profile("--seconds", "1", "--url", url, "--key", "k")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: cannot reach {url}/api/v1/debug/profile")
    usage = footfall_profile("--seconds", "61", "--url", url, "--key", "k")
    assert usage.returncode == 2
    assert "--seconds" in usage.stderr


@pytest.mark.slow
def test_the_report_renders_in_a_browser(live: Live, page: Page) -> None:
    """The page's own policy lets its viewer run: the call tree of the profiled page shows."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "inline script" in m.text else None,
    )
    sign_in_page(page, live.server.url, "root@example.com", PASSWORD)
    page.goto(f"{live.server.url}/?profile=1")
    app = page.locator("#app")
    expect(app).to_contain_text("GET /")
    expect(app).to_contain_text("ProfileMiddleware.__call__")
    assert blocked == []
