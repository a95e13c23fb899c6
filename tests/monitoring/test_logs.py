"""Structured logs: JSON lines from a real server, request ids, the access log, redaction."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from footfall.meta.keys import create_key
from footfall.monitoring.logs import (
    REDACTED,
    anonymise_ip,
    configure_logging,
    make_formatter,
    redact,
)
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.stats.engine import ASKED_AT
from footfall.web.errors import InternalErrorMiddleware
from footfall.web.middleware.requestlog import RequestLogMiddleware, request_id_from
from tests.conftest import ServerProcess

SECRET_KEY = "k3y-for-the-log-test-" + "Zq9xW2vB7nM4tR8yL1pA"
API_KEY_SHAPE = "ff_" + "A" * 43
HOSTILE_ID = "a b\nc"


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- a real server -------------------------------------------------------------------------


def test_server_writes_json_lines_with_request_ids_and_no_secrets(
    server: ServerProcess, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_key = create_key(open_meta(settings), name="reader", scopes=("stats:read",))[1]
    monkeypatch.setenv("FOOTFALL_ACCESS_LOG", "1")
    monkeypatch.setenv("FOOTFALL_SECRET_KEY", SECRET_KEY)
    server.start()
    given = httpx.get(f"{server.url}/healthz?x=1", headers={"X-Request-ID": "given-id.42_x"})
    generated = httpx.get(f"{server.url}/healthz")
    hostile = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "a b c"})
    stats = httpx.get(
        f"{server.url}/api/v1/stats/aggregate",
        params={"site_id": "example.com", "metrics": "visitors", "period": "day"},
        headers={
            "Authorization": f"Bearer {api_key}",
            "X-Forwarded-For": "203.0.113.77",
            "X-Request-ID": "stats-1",
        },
    )
    ingest = httpx.post(
        f"{server.url}/api/event",
        json={"name": "pageview", "url": "http://example.com/", "domain": "example.com"},
        headers={"X-Forwarded-For": "203.0.113.77", "User-Agent": "Mozilla/5.0 test"},
    )
    server.stop()
    assert server.log is not None
    text = server.log.read_text()

    assert given.headers["x-request-id"] == "given-id.42_x"
    assert len(generated.headers["x-request-id"]) == 16
    assert hostile.headers["x-request-id"] not in ("a b c", "")
    assert stats.status_code == 200, stats.text
    assert stats.headers["x-request-id"] == "stats-1"
    assert ingest.status_code == 202
    assert "x-request-id" not in ingest.headers  # the hot path has no request ids

    lines = _lines(text)  # every line is one JSON object
    for line in lines:
        assert {"timestamp", "level", "logger", "event"} <= set(line)
        assert line["timestamp"].endswith("Z")
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    access = {line["request_id"]: line for line in lines if line["logger"] == "footfall.access"}
    assert access["given-id.42_x"]["path"] == "/healthz"
    assert access["given-id.42_x"]["status"] == 200
    assert access["given-id.42_x"]["method"] == "GET"
    assert access["given-id.42_x"]["duration_ms"] >= 0
    assert access[generated.headers["x-request-id"]]["status"] == 200
    assert access["stats-1"]["client"] == "203.0.113.0/24"
    assert access["stats-1"]["path"] == "/api/v1/stats/aggregate"
    assert not any(line.get("path") == "/api/event" for line in lines)
    for leak in ("203.0.113.77", api_key, SECRET_KEY, "x=1"):
        assert leak not in text


# -- in-process: the middleware and the 500 log line ---------------------------------------


async def _boom(request: Request) -> Response:
    raise RuntimeError("boom")


async def _ok(request: Request) -> Response:
    logging.getLogger("footfall.test").info("inside")
    return PlainTextResponse("ok")


async def _asked_at(request: Request) -> Response:
    """When the middleware says this request arrived, as the worker threads will see it."""
    seen = await asyncio.to_thread(ASKED_AT.get)
    return PlainTextResponse(f"{seen!r} {time.monotonic()!r}")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Records of footfall's loggers rendered as JSON into a buffer (the root is untouched)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(json=True))
    footfall_logger = logging.getLogger("footfall")
    old_level = footfall_logger.level
    footfall_logger.addHandler(handler)
    footfall_logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        footfall_logger.removeHandler(handler)
        footfall_logger.setLevel(old_level)


@pytest.fixture
def small_app() -> TestClient:
    app = Starlette(
        routes=[Route("/ok", _ok), Route("/boom", _boom), Route("/asked", _asked_at)],
        middleware=[
            Middleware(RequestLogMiddleware, access_log=True),
            Middleware(InternalErrorMiddleware),
        ],
    )
    return TestClient(app)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-DEF_1.2", True),
        ("x" * 128, True),
        ("x" * 129, False),
        (HOSTILE_ID, False),
        ("", False),
    ],
)
def test_request_id_is_kept_only_when_sane(sent: str, kept: bool) -> None:
    scope = {"headers": [(b"x-request-id", sent.encode())]}
    chosen = request_id_from(scope)
    if kept:
        assert chosen == sent
    else:
        assert chosen != sent and re.fullmatch(r"[0-9a-f]{16}", chosen)


def test_request_id_is_echoed(small_app: TestClient) -> None:
    assert small_app.get("/ok", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    assert len(small_app.get("/ok").headers["x-request-id"]) == 16


def test_log_lines_inside_a_request_carry_its_id(
    small_app: TestClient, captured: io.StringIO
) -> None:
    small_app.get("/ok", headers={"X-Request-ID": "req-7"})
    small_app.get("/boom", headers={"X-Request-ID": "req-8"})
    lines = _lines(captured.getvalue())
    inside = next(line for line in lines if line["event"] == "inside")
    assert inside["request_id"] == "req-7"
    error = next(line for line in lines if line["logger"] == "footfall.web.errors")
    assert error["request_id"] == "req-8"
    assert error["level"] == "error"
    assert "RuntimeError: boom" in error["exception"]
    access = [line for line in lines if line["logger"] == "footfall.access"]
    assert [(a["request_id"], a["status"]) for a in access] == [("req-7", 200), ("req-8", 500)]
    # Bound only for the request's duration.
    logging.getLogger("footfall.test").info("after")
    assert "request_id" not in _lines(captured.getvalue())[-1]


# -- redaction and formats -----------------------------------------------------------------


def test_redact_masks_secret_fields_and_api_keys() -> None:
    event = redact(
        None,
        "info",
        {
            "event": f"key {API_KEY_SHAPE} used",
            "password": "hunter2",
            "Authorization": "Bearer x",
            "session_cookie": "abc",
            "csrf_token": "t",
            "api_key": "k",
            "client_secret": "s",
            "path": "/x",
            "status": 200,
            "color_message": "\x1b[1m",
        },
    )
    assert event["event"] == f"key ff_{REDACTED} used"
    for name in ("password", "Authorization", "session_cookie", "csrf_token", "api_key"):
        assert event[name] == REDACTED
    assert event["client_secret"] == REDACTED
    assert event["path"] == "/x" and event["status"] == 200
    assert "color_message" not in event


def test_anonymise_ip() -> None:
    assert anonymise_ip("203.0.113.77") == "203.0.113.0/24"
    assert anonymise_ip("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert anonymise_ip("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert anonymise_ip("testclient") is None
    assert anonymise_ip(None) is None


def _render(json_format: bool, record: logging.LogRecord) -> str:
    return make_formatter(json=json_format).format(record)


def _record(msg: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad {API_KEY_SHAPE}")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("footfall.x", logging.WARNING, __file__, 1, msg, (), exc_info)


def test_json_format_renders_fields_and_exceptions() -> None:
    line = json.loads(_render(True, _record(f"hello {API_KEY_SHAPE}", exc=True)))
    assert line["event"] == f"hello ff_{REDACTED}"
    assert line["level"] == "warning"
    assert line["logger"] == "footfall.x"
    assert "ValueError" in line["exception"]
    assert API_KEY_SHAPE not in line["exception"]


def test_text_format_is_for_humans() -> None:
    text = _render(False, _record("hello there"))
    assert "hello there" in text
    assert "footfall.x" in text
    assert not text.startswith("{")


def test_configure_logging_is_idempotent_and_keeps_other_handlers() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("warning")
        configure_logging("info", json=False)
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1
        assert root.level == logging.INFO
        assert all(h in root.handlers for h in before)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def test_statistics_asked_by_a_request_count_their_time_from_its_arrival(
    small_app: TestClient,
) -> None:
    """The request's arrival reaches the threads that compute its statistics, and no further."""
    before = time.monotonic()
    seen, now = (float(v) for v in small_app.get("/asked").text.split())
    assert before <= seen <= now
    assert ASKED_AT.get() is None
