"""`POST /api/event` in-process: parsing, exact errors, responses, dropping, sessions, CORS.

Everything runs through the real app (`create_app`) with the real pipeline and DuckDB store;
stored rows are read back from the store the app wrote to. References (§x.y) are to
/work/shared/plausible-api.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.ingest.request import ENGAGEMENT_ERROR, PROPS_ERROR
from footfall.settings import Settings
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.journal import Journal
from footfall.storage.schema import EVENT_COLUMNS, EVENT_TYPES, SESSION_COLUMNS, VISIT_COLUMNS
from footfall.storage.writer import GroupCommitWriter
from footfall.web.app import create_app
from tests import ROOT
from tests.conftest import CHROME_UA

GB_IP = "81.2.69.142"  # geolocates to GB
GB_IP_2 = "81.2.69.160"  # another GB address: a different visitor with the same country
US_IP = "8.8.8.8"
PAGE = "https://example.com/"
SPAM_DOMAIN = next(
    line.strip()
    for line in (ROOT / "footfall/ingest/data/spam_referrers.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
BODY_ERROR = {"errors": {"request": ["Unable to parse request body as json"]}}
BAD_REQUEST = {"status": 400, "message": "Bad Request"}


# -- helpers --------------------------------------------------------------------------------


def post(
    client: TestClient,
    body: Any,
    *,
    ua: str | None = CHROME_UA,
    ip: str | None = GB_IP,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POSTs an event; dicts are JSON-encoded, bytes/str are sent as they are."""
    content = body if isinstance(body, bytes | str) else orjson.dumps(body)
    sent = {"content-type": content_type}
    if ua is not None:
        sent["user-agent"] = ua
    if ip is not None:
        sent["x-forwarded-for"] = ip
    sent.update(headers or {})
    return client.post("/api/event", content=content, headers=sent)


def pageview(url: str = PAGE, **extra: Any) -> dict[str, Any]:
    return {"n": "pageview", "u": url, "d": "example.com", **extra}


def store_of(client: TestClient) -> DuckDBEventStore:
    return client.app.state.footfall.store  # type: ignore[no-any-return]


def settle(client: TestClient) -> None:
    """Waits until everything acknowledged is in the event store, sessions included.

    A 202 means the event is durable; the store (and the session rows even more so) may trail
    it by a moment, so tests that read the store wait for the writer first.
    """
    flush = getattr(client.app.state.footfall.writer, "flush_sessions", None)
    if flush is not None:
        assert flush(), "writer did not settle"


def stored_events(client: TestClient) -> list[dict[str, Any]]:
    settle(client)
    with store_of(client).cursor() as cur:
        rows = cur.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY timestamp, session_id, name"
        ).fetchall()
    return [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows]


def stored_sessions(client: TestClient) -> list[dict[str, Any]]:
    settle(client)
    with store_of(client).cursor() as cur:
        rows = cur.execute(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions ORDER BY start, session_id"
        ).fetchall()
    return [dict(zip(SESSION_COLUMNS, row, strict=True)) for row in rows]


def assert_accepted(response: httpx.Response) -> None:
    assert response.status_code == 202, response.text
    assert response.text == "ok"
    assert "x-plausible-dropped" not in response.headers


def assert_dropped(response: httpx.Response, count: int = 1) -> None:
    assert response.status_code == 202, response.text
    assert response.text == "ok"
    assert response.headers["x-plausible-dropped"] == str(count)


# -- success response -----------------------------------------------------------------------


def test_accepted_event_answers_202_ok_text_plain_with_cors(client: TestClient) -> None:
    response = post(client, pageview())
    assert_accepted(response)
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["access-control-allow-origin"] == "*"
    # 202 means durable; the row reaches the store.
    assert len(stored_events(client)) == 1
    # Nothing is kept in the visitor's browser.
    assert "set-cookie" not in response.headers


def test_accepted_without_user_agent_or_accept_header(client: TestClient) -> None:
    """§1.2: a missing UA is accepted (no UA attributes), not dropped."""
    assert_accepted(post(client, pageview(), ua=None))
    (event,) = stored_events(client)
    assert (event["browser"], event["os"], event["device"]) == ("", "", "")


# -- HEADLINE: the official tracker's request and the documented API form are equivalent -------

TRACKER_BODY = {
    "n": "pageview",
    "u": "https://example.com/pricing?utm_source=newsletter",
    "d": "example.com",
    "r": "https://news.ycombinator.com/",
    "p": {"plan": "pro"},
}
LONG_KEY_BODY = {
    "name": "pageview",
    "url": "https://example.com/pricing?utm_source=newsletter",
    "domain": "example.com",
    "referrer": "https://news.ycombinator.com/",
    "props": {"plan": "pro"},
}
# The old npm `plausible-tracker` (0.3.9): props as a JSON *string*, plus `w` and `h` (§6.2).
OLD_TRACKER_BODY = {
    "n": "pageview",
    "u": "https://example.com/pricing?utm_source=newsletter",
    "d": "example.com",
    "r": "https://news.ycombinator.com/",
    "w": 1280,
    "h": 0,
    "p": '{"plan":"pro"}',
}
PER_VISITOR = {"visitor_id", "visitor", "session_id", "timestamp"}


def test_headline_tracker_and_long_key_json_store_identical_enrichment(
    client: TestClient,
) -> None:
    """ACCEPTANCE: a pageview sent exactly as the official tracker sends it (text/plain, short
    keys) and the same pageview sent as documented long-key application/json, by two different
    visitors, are stored with identical enrichment: every column except the per-visitor ids and
    the timestamp is equal."""
    tracker = post(client, TRACKER_BODY, content_type="text/plain", ip=GB_IP)
    long_keys = post(client, LONG_KEY_BODY, content_type="application/json", ip=GB_IP_2)
    old = post(client, OLD_TRACKER_BODY, content_type="text/plain", ip=US_IP)
    for response in (tracker, long_keys, old):
        assert_accepted(response)

    first, second, third = sorted(stored_events(client), key=lambda e: e["session_id"])
    assert first["visitor_id"] != second["visitor_id"] != third["visitor_id"]
    assert len({first["session_id"], second["session_id"], third["session_id"]}) == 3

    def enrichment(event: dict[str, Any], *, skip: set[str] = PER_VISITOR) -> dict[str, Any]:
        return {k: v for k, v in event.items() if k not in skip}

    assert enrichment(first) == enrichment(second)
    # The old tracker's visitor is in another country, everything else is the same.
    assert enrichment(first, skip={*PER_VISITOR, "country"}) == enrichment(
        third, skip={*PER_VISITOR, "country"}
    )
    assert third["country"] == "US"

    # And the shared enrichment is the right one (§1.7, §2.1-2.4).
    expected = {
        "name": "pageview",
        "hostname": "example.com",
        "pathname": "/pricing",
        "props_keys": ["plan"],
        "props_values": ["pro"],
        "referrer": "news.ycombinator.com",
        "utm_source": "newsletter",
        "channel": "Email",  # contains_email(utm_source)
        "country": "GB",
        "browser": "Chrome",
        "browser_version": "120.0",
        "os": "GNU/Linux",
        "device": "Desktop",
        "scroll_depth": 255,
        "engagement_time": 0,
        "timestamp": dt.datetime(2026, 11, 2, 10, 0),
    }
    assert {k: first[k] for k in expected} == expected
    assert first["referrer_source"].lower() == "newsletter"


def test_text_plain_and_json_content_types_parse_identically(client: TestClient) -> None:
    """Content-Type does not change how a valid body is read (§1.1, §1.2)."""
    for index, content_type in enumerate(
        [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/json",
            "application/json; charset=utf-8",
            "application/octet-stream",
            "",
        ]
    ):
        response = post(
            client,
            pageview(f"https://example.com/ct{index}"),
            content_type=content_type,
            ip=f"81.2.69.{10 + index}",
        )
        assert_accepted(response)
    assert [e["pathname"] for e in stored_events(client)] == [f"/ct{i}" for i in range(6)]


def test_short_keys_win_over_long_keys(client: TestClient) -> None:
    body = {
        "n": "Signup",
        "name": "pageview",
        "u": "https://example.com/short",
        "url": "https://example.com/long",
        "d": "example.com",
        "domain": "unknown.org",
        "p": {"k": "short"},
        "props": {"k": "long"},
    }
    assert_accepted(post(client, body))
    (event,) = stored_events(client)
    assert (event["name"], event["pathname"], event["props_values"]) == (
        "Signup",
        "/short",
        ["short"],
    )


def test_meta_wins_over_props_and_is_decoded_from_a_string(client: TestClient) -> None:
    """§1.3: precedence m > meta > p > props; a JSON string of an object is decoded."""
    body = pageview(m='{"from":"m"}', meta={"from": "meta"}, p={"from": "p"})
    assert_accepted(post(client, body))
    (event,) = stored_events(client)
    assert (event["props_keys"], event["props_values"]) == (["from"], ["m"])


def test_props_are_cleaned_and_stringified(client: TestClient) -> None:
    """§1.5: lists/objects/null/blank values are dropped, scalars stringified, 30 kept."""
    props: dict[str, Any] = {
        "bool": True,
        "int": 12,
        "float": 1.5,
        "text": "x",
        "null": None,
        "blank": "  ",
        "list": [1],
        "obj": {"a": 1},
        " ": "blank key",
    }
    props.update({f"extra{i:02d}": str(i) for i in range(40)})
    assert_accepted(post(client, pageview(p=props)))
    (event,) = stored_events(client)
    pairs = dict(zip(event["props_keys"], event["props_values"], strict=True))
    assert len(pairs) == 30
    assert {k: pairs[k] for k in ("bool", "int", "float", "text")} == {
        "bool": "true",
        "int": "12",
        "float": "1.5",
        "text": "x",
    }
    assert not {"null", "blank", "list", "obj", " "} & set(pairs)


def test_props_that_are_not_an_object_are_ignored(client: TestClient) -> None:
    for props in ["not json", "[1,2]", "42", "", [1, 2], 42, True]:
        assert_accepted(post(client, pageview(p=props)))
    assert [e["props_keys"] for e in stored_events(client)] == [[]] * 7


# -- exact 400 bodies (§1.3, §1.4) ----------------------------------------------------------

LONG_URL = "https://example.com/" + "a" * (2001 - len("https://example.com/"))
ERROR_CASES: list[tuple[str, dict[str, Any], dict[str, list[str]]]] = [
    ("missing url", {"n": "pageview", "d": "example.com"}, {"url": ["is required"]}),
    ("url null", {"n": "pageview", "u": None, "d": "example.com"}, {"url": ["is required"]}),
    ("blank name", {"n": "", "u": PAGE, "d": "example.com"}, {"event_name": ["can't be blank"]}),
    (
        "blank long name",
        {"name": "", "url": PAGE, "domain": "example.com"},
        {"event_name": ["can't be blank"]},
    ),
    ("missing name", {"u": PAGE, "d": "example.com"}, {"event_name": ["can't be blank"]}),
    (
        "name 121 chars",
        {"n": "x" * 121, "u": PAGE, "d": "example.com"},
        {"event_name": ["should be at most 120 character(s)"]},
    ),
    ("name object", {"n": {"a": 1}, "u": PAGE, "d": "example.com"}, {"event_name": ["is invalid"]}),
    (
        "name list",
        {"n": ["pageview"], "u": PAGE, "d": "example.com"},
        {"event_name": ["is invalid"]},
    ),
    ("name float", {"n": 1.5, "u": PAGE, "d": "example.com"}, {"event_name": ["is invalid"]}),
    (
        "url 2001 bytes",
        {"n": "pageview", "u": LONG_URL, "d": "example.com"},
        {"url": ["must be a valid url"]},
    ),
    (
        "url 2001 bytes multibyte",
        {"n": "pageview", "u": PAGE + "é" * 991, "d": "example.com"},
        {"url": ["must be a valid url"]},
    ),
    (
        "url not a string",
        {"n": "pageview", "u": 42, "d": "example.com"},
        {"url": ["must be a valid url"]},
    ),
    (
        "data url",
        {"n": "pageview", "u": "data:text/html,<h1>hi</h1>", "d": "example.com"},
        {"url": ["scheme is not allowed"]},
    ),
    (
        "data url upper case",
        {"n": "pageview", "u": "DATA:text/plain,x", "d": "example.com"},
        {"url": ["scheme is not allowed"]},
    ),
    (
        "domain null, url without host",
        {"n": "pageview", "u": "about:config", "d": None},
        {"domain": ["can't be blank"]},
    ),
    (
        "domain missing, relative url",
        {"n": "pageview", "u": "/blog"},
        {"domain": ["can't be blank"]},
    ),
    ("domain empty", {"n": "pageview", "u": PAGE, "d": ""}, {"domain": ["can't be blank"]}),
    (
        "domain only commas",
        {"n": "pageview", "u": PAGE, "d": " , ,"},
        {"domain": ["can't be blank"]},
    ),
    ("props key 301 bytes", pageview(p={"k" * 301: "v"}), {"props": [PROPS_ERROR]}),
    ("props value 2001 bytes", pageview(p={"k": "v" * 2001}), {"props": [PROPS_ERROR]}),
    (
        "props string key 301 bytes",
        pageview(p=orjson.dumps({"k" * 301: "v"}).decode()),
        {"props": [PROPS_ERROR]},
    ),
    (
        "engagement without sd or e",
        {"n": "engagement", "u": PAGE, "d": "example.com"},
        {"event_name": [ENGAGEMENT_ERROR]},
    ),
    (
        "engagement with unusable sd and e",
        {"n": "engagement", "u": PAGE, "d": "example.com", "sd": "deep", "e": None},
        {"event_name": [ENGAGEMENT_ERROR]},
    ),
    ("hash mode true", pageview(h=True), {"hash_mode": ["is invalid"]}),
    ("hash mode text", pageview(h="yes"), {"hash_mode": ["is invalid"]}),
    (
        "several bad fields together",
        {"n": "", "u": "data:,x", "d": "example.com", "p": {"k": "v" * 2001}, "h": True},
        {
            "event_name": ["can't be blank"],
            "url": ["scheme is not allowed"],
            "props": [PROPS_ERROR],
            "hash_mode": ["is invalid"],
        },
    ),
    (
        "everything missing",
        {},
        {"event_name": ["can't be blank"], "url": ["is required"], "domain": ["can't be blank"]},
    ),
]


def test_validation_errors_have_plausibles_exact_body(client: TestClient) -> None:
    """Table-driven: every case, sent both as the tracker does and as JSON; all mismatches are
    reported together."""
    mismatches = []
    for label, body, errors in ERROR_CASES:
        for content_type in ("text/plain", "application/json"):
            response = post(client, body, content_type=content_type)
            got = (
                response.status_code,
                response.headers.get("content-type"),
                response.headers.get("access-control-allow-origin"),
                response.text,
            )
            want = (400, "application/json", "*", orjson.dumps({"errors": errors}).decode())
            if got[:3] != want[:3] or orjson.loads(got[3]) != orjson.loads(want[3]):
                mismatches.append(f"{label} [{content_type}]: got {got}, want {want}")
    assert mismatches == []
    assert stored_events(client) == []


ACCEPTED_EDGE_CASES: list[tuple[str, dict[str, Any]]] = [
    ("name exactly 120 chars", {"n": "x" * 120, "u": PAGE, "d": "example.com"}),
    ("name 120 multibyte chars", {"n": "é" * 120, "u": PAGE, "d": "example.com"}),
    ("integer name (404)", {"n": 404, "u": PAGE, "d": "example.com"}),
    ("url exactly 2000 bytes", {"n": "pageview", "u": LONG_URL[:-1], "d": "example.com"}),
    ("app scheme", {"n": "pageview", "u": "app://localhost/login", "d": "example.com"}),
    ("url without host", {"n": "pageview", "u": "/blog", "d": "example.com"}),
    ("domain from url host", {"n": "pageview", "u": "https://www.example.com/x"}),
    ("props key 300 bytes, value 2000 bytes", pageview(p={"k" * 300: "v" * 2000})),
    (
        "long prop beyond the 30 kept is ignored",
        pageview(p={**{f"k{i:02d}": "v" for i in range(30)}, "z" * 301: "v"}),
    ),
    ("hash mode as string", pageview(h="1")),
    ("referrer longer than 2000 chars", pageview(r="https://ref.example/" + "r" * 3000)),
    ("referrer not a string", pageview(r=12)),
    ("unknown keys", pageview(v=33, w=1280, screen_width=1280, zzz={"a": [1]})),
]


def test_edge_values_that_are_accepted(client: TestClient) -> None:
    mismatches = []
    for index, (label, body) in enumerate(ACCEPTED_EDGE_CASES, start=1):
        response = post(client, body)
        if (response.status_code, response.text) != (202, "ok"):
            mismatches.append(f"{label}: {response.status_code} {response.text}")
        elif "x-plausible-dropped" in response.headers:
            mismatches.append(f"{label}: dropped")
        elif len(stored_events(client)) != index - len(mismatches):
            mismatches.append(f"{label}: not stored")
    assert mismatches == []


def test_url_without_host_stores_none_hostname(client: TestClient) -> None:
    assert_accepted(post(client, pageview("/blog/post")))
    (event,) = stored_events(client)
    assert (event["hostname"], event["pathname"]) == ("(none)", "/blog/post")


def test_referrer_is_truncated_to_2000_chars(client: TestClient) -> None:
    referrer = "https://ref.example/" + "r" * 3000
    assert_accepted(post(client, pageview(r=referrer)))
    (event,) = stored_events(client)
    assert event["referrer"] == referrer[:2000].removeprefix("https://")


def test_text_plain_body_that_is_not_a_json_object(client: TestClient) -> None:
    bodies = [
        b"",
        b"   ",
        b"not json",
        b"{",
        b"[1, 2]",
        b'"text"',
        b"null",
        b"42",
        b"\xff\xfe",
        b'{"n": "pageview"} trailing',
    ]
    for body in bodies:
        response = post(client, body, content_type="text/plain")
        assert (response.status_code, response.json()) == (400, BODY_ERROR), body


def test_malformed_json_with_json_content_type(client: TestClient) -> None:
    """§1.1: Plug's JSON parser fails → Phoenix's 400 error view."""
    for body in [b"{", b"not json", b'{"n": "pageview",}', b"\xff"]:
        response = post(
            client, body, content_type="application/json", headers={"accept": "application/json"}
        )
        assert (response.status_code, response.json()) == (400, BAD_REQUEST), body
    assert stored_events(client) == []


def test_json_content_type_with_non_object_body_gets_field_errors(client: TestClient) -> None:
    """Plug wraps a non-object JSON body as {"_json": value} (and reads an empty one as {}), so
    Plausible reports field errors (§1.1)."""
    for body in (b"[1, 2]", b"null", b"", b'"text"'):
        response = post(client, body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json() == {
            "errors": {
                "event_name": ["can't be blank"],
                "url": ["is required"],
                "domain": ["can't be blank"],
            }
        }, body


def test_accept_header(client: TestClient) -> None:
    """§1.1 `plug :accepts, ["json"]`: 406 unless JSON is acceptable (missing Accept is fine)."""
    for accept in ["text/html", "text/html, application/xhtml+xml", "image/png"]:
        response = post(client, pageview(), headers={"accept": accept})
        assert response.status_code == 406, accept
    assert stored_events(client) == []
    for accept in ["*/*", "application/json", "application/*", "text/html, */*;q=0.8"]:
        assert_accepted(post(client, pageview(), headers={"accept": accept}))


def _oversized_body() -> bytes:
    body = pageview(p={"pad": "x" * 1_000_100})
    raw = orjson.dumps(body)
    assert len(raw) > 1_000_000
    return raw


def test_body_over_one_million_bytes_is_413(client: TestClient) -> None:
    response = post(client, _oversized_body())
    assert response.status_code == 413
    assert stored_events(client) == []


def test_streamed_body_over_limit_without_content_length_is_413(client: TestClient) -> None:
    raw = _oversized_body()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    response = client.post(
        "/api/event",
        content=chunks(),
        headers={"content-type": "text/plain", "user-agent": CHROME_UA},
    )
    assert response.status_code == 413
    assert stored_events(client) == []


def test_body_of_exactly_the_limit_is_read(client: TestClient) -> None:
    raw = orjson.dumps(pageview(p={"pad": "x"}))
    padded = raw + b" " * (1_000_000 - len(raw))
    assert len(padded) == 1_000_000
    assert_accepted(post(client, padded, content_type="text/plain"))


# -- dropped events (§1.9) ------------------------------------------------------------------

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)
DROP_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("unknown domain", pageview(d="unknown.org"), {}),
    ("googlebot", pageview(), {"ua": GOOGLEBOT}),
    (
        "ahrefs",
        pageview(),
        {"ua": "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"},
    ),
    ("headless chrome", pageview(), {"ua": HEADLESS}),
    ("spam referrer", pageview(r=f"https://www.{SPAM_DOMAIN}/page"), {}),
    ("spam referrer subdomain", pageview(r=f"http://seo.{SPAM_DOMAIN}/"), {}),
    ("dc_ip", pageview(), {"headers": {"x-plausible-ip-type": "dc_ip"}}),
    ("threat_ip", pageview(), {"headers": {"x-plausible-ip-type": "threat_ip"}}),
    (
        "engagement without session",
        {"n": "engagement", "u": PAGE, "d": "example.com", "sd": 50, "e": 3000},
        {},
    ),
]


def test_dropped_events_answer_202_with_header(client: TestClient) -> None:
    mismatches = []
    for label, body, kwargs in DROP_CASES:
        response = post(client, body, **kwargs)
        got = (
            response.status_code,
            response.text,
            response.headers.get("x-plausible-dropped"),
            response.headers.get("access-control-allow-origin"),
        )
        if got != (202, "ok", "1", "*"):
            mismatches.append(f"{label}: {got}")
    assert mismatches == []
    assert stored_events(client) == []
    assert stored_sessions(client) == []


# The default agents of the HTTP libraries that Plausible's client packages send events with.
SERVER_SIDE_AGENTS = [
    "python-requests/2.31.0",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "node",
    "curl/8.5.0",
    "Go-http-client/1.1",
]


def test_server_side_senders_are_counted(client: TestClient) -> None:
    """§1.9: only agents Matomo's database calls bots are dropped; HTTP libraries are clients.

    Plausible's `lib/plausible/ingestion/event.ex` drops on UAInspector's bot verdict (and
    Headless Chrome); its database files these agents as libraries. Each is a server relaying
    a visitor, whose address comes in X-Forwarded-For.
    """
    for i, agent in enumerate(SERVER_SIDE_AGENTS):
        assert_accepted(post(client, pageview(), ua=agent, ip=f"81.2.69.{10 + i}"))
    assert_dropped(post(client, pageview(), ua=GOOGLEBOT, ip="81.2.69.99"))
    events = stored_events(client)
    assert len(events) == len(SERVER_SIDE_AGENTS)
    assert len({event["session_id"] for event in events}) == len(SERVER_SIDE_AGENTS)


def test_spam_referrer_drops_every_domain(client: TestClient) -> None:
    response = post(client, pageview(d="example.com,example.org", r=f"https://{SPAM_DOMAIN}/"))
    assert_dropped(response, 2)


def test_two_domains_one_unknown(client: TestClient) -> None:
    response = post(client, pageview(d="example.com,unknown.org"))
    assert_dropped(response, 1)
    (event,) = stored_events(client)
    assert event["hostname"] == "example.com"


def test_domain_list_is_trimmed_deduplicated_and_www_stripped(client: TestClient) -> None:
    response = post(client, pageview(d=" www.example.com , example.com,EXAMPLE.COM "))
    assert_accepted(response)
    assert len(stored_events(client)) == 1


def test_anonymous_vpn_ip_gets_country_a1(client: TestClient) -> None:
    response = post(client, pageview(), headers={"x-plausible-ip-type": "anonymous_vpn_ip"})
    assert_accepted(response)
    (event,) = stored_events(client)
    assert event["country"] == "A1"


def test_engagement_with_a_session_is_stored_without_touching_the_session(
    client: TestClient,
) -> None:
    assert_accepted(post(client, pageview("https://example.com/read")))
    client.app.state.footfall.clock.advance(20)
    engagement = {
        "n": "engagement",
        "u": "https://example.com/read",
        "d": "example.com",
        "sd": 250,
        "e": "4200",
    }
    assert_accepted(post(client, engagement))
    pv, eng = stored_events(client)
    assert (eng["name"], eng["scroll_depth"], eng["engagement_time"]) == ("engagement", 100, 4200)
    assert eng["session_id"] == pv["session_id"]
    (session,) = stored_sessions(client)
    assert (session["events"], session["pageviews"], session["duration"]) == (1, 1, 0)


def test_engagement_value_clamping(client: TestClient, clock: FixedClock) -> None:
    """§1.8: sd 0-100 (clamped above, 255 when missing/negative); e in [0, 30 days) else 0."""
    assert_accepted(post(client, pageview()))
    cases = [
        (-5, 10, 255, 10),
        (None, 10, 255, 10),
        (40, None, 40, 0),
        (40, -1, 40, 0),
        (40, 30 * 24 * 3600 * 1000, 40, 0),
        (40, 30 * 24 * 3600 * 1000 - 1, 40, 2591999999),
        ("70", "abc", 70, 0),
        (0, 0, 0, 0),
        (100, " 5 ", 100, 5),
    ]
    for sd, e, depth, engaged in cases:
        clock.advance(1)
        body: dict[str, Any] = {"n": "engagement", "u": PAGE, "d": "example.com"}
        if sd is not None:
            body["sd"] = sd
        if e is not None:
            body["e"] = e
        assert_accepted(post(client, body))
        eng = stored_events(client)[-1]
        assert eng["name"] == "engagement"
        assert (eng["scroll_depth"], eng["engagement_time"]) == (depth, engaged), (sd, e)


# -- client IP resolution (§1.2) ------------------------------------------------------------


def _visitor(client: TestClient, headers: dict[str, str], path: str) -> int:
    response = post(client, pageview(f"https://example.com/{path}"), ip=None, headers=headers)
    assert_accepted(response)
    event = next(e for e in stored_events(client) if e["pathname"] == f"/{path}")
    return int(event["visitor_id"])


def test_client_ip_header_precedence(client: TestClient) -> None:
    """x-plausible-ip > cf-connecting-ip > x-forwarded-for (first element) > socket peer.

    Same UA and same resolved IP give the same visitor id, so the id tells which IP won.
    """
    reference = _visitor(client, {"x-forwarded-for": GB_IP}, "ref")
    other = _visitor(client, {"x-forwarded-for": US_IP}, "other")
    assert reference != other
    same_ip = {
        "plausible-ip wins": {
            "x-plausible-ip": GB_IP,
            "cf-connecting-ip": US_IP,
            "x-forwarded-for": US_IP,
        },
        "cf beats xff": {"cf-connecting-ip": GB_IP, "x-forwarded-for": US_IP},
        "b-forwarded-for beats xff": {"b-forwarded-for": GB_IP, "x-forwarded-for": US_IP},
        "first xff element": {"x-forwarded-for": f"{GB_IP}, {US_IP}, 10.0.0.1"},
        "xff with port": {"x-forwarded-for": f"{GB_IP}:4711"},
        "xff beats forwarded": {"x-forwarded-for": GB_IP, "forwarded": f"for={US_IP}"},
        "forwarded": {"forwarded": f'for="{GB_IP}";proto=https'},
    }
    for index, (label, headers) in enumerate(same_ip.items()):
        assert _visitor(client, headers, f"same{index}") == reference, label
    assert _visitor(client, {"x-plausible-ip": US_IP, "x-forwarded-for": GB_IP}, "diff") == other


def test_ipv6_brackets_and_port_are_removed(client: TestClient) -> None:
    plain = _visitor(client, {"x-forwarded-for": "2001:db8::1"}, "v6a")
    assert _visitor(client, {"x-forwarded-for": "[2001:db8::1]:443"}, "v6b") == plain
    assert _visitor(client, {"forwarded": 'for="[2001:db8::1]:443"'}, "v6c") == plain


def test_same_ip_different_user_agent_is_another_visitor(client: TestClient) -> None:
    post(client, pageview(), ua=CHROME_UA)
    post(client, pageview(), ua=CHROME_UA.replace("120.0.0.0", "121.0.0.0"))
    first, second = stored_events(client)
    assert first["visitor_id"] != second["visitor_id"]


# -- sessions with the frozen clock (§2.6) ---------------------------------------------------


def test_two_pageviews_25_minutes_apart_are_one_session(
    client: TestClient, clock: FixedClock
) -> None:
    assert_accepted(post(client, pageview("https://example.com/landing")))
    clock.advance(25 * 60)
    assert_accepted(post(client, pageview("https://example.com/pricing")))
    first, second = stored_events(client)
    assert first["session_id"] == second["session_id"]
    assert first["visitor_id"] == second["visitor_id"]
    assert second["timestamp"] - first["timestamp"] == dt.timedelta(minutes=25)
    (session,) = stored_sessions(client)
    assert session["pageviews"] == 2
    assert session["events"] == 2
    assert session["duration"] == 1500
    assert session["is_bounce"] is False
    assert (session["entry_page"], session["exit_page"]) == ("/landing", "/pricing")
    assert (session["hostname"], session["exit_hostname"]) == ("example.com", "example.com")
    assert session["start"] == dt.datetime(2026, 11, 2, 10, 0)
    assert session["timestamp"] == dt.datetime(2026, 11, 2, 10, 25)


def test_gap_of_31_minutes_starts_a_new_session(client: TestClient, clock: FixedClock) -> None:
    post(client, pageview("https://example.com/a"))
    clock.advance(31 * 60)
    post(client, pageview("https://example.com/b"))
    first, second = stored_events(client)
    assert first["session_id"] != second["session_id"]
    assert first["visitor_id"] == second["visitor_id"]
    sessions = stored_sessions(client)
    assert [(s["pageviews"], s["is_bounce"], s["entry_page"]) for s in sessions] == [
        (1, True, "/a"),
        (1, True, "/b"),
    ]


def test_session_timeout_counts_whole_minutes(client: TestClient, clock: FixedClock) -> None:
    """floor(gap / 60 s) <= 30 continues: 30 min 59 s is still the same session."""
    post(client, pageview("https://example.com/a"))
    clock.advance(30 * 60 + 59)
    post(client, pageview("https://example.com/b"))
    assert len(stored_sessions(client)) == 1


def test_activity_keeps_a_session_alive_past_30_minutes(
    client: TestClient, clock: FixedClock
) -> None:
    for path in ("a", "b", "c"):
        post(client, pageview(f"https://example.com/{path}"))
        clock.advance(20 * 60)
    (session,) = stored_sessions(client)
    assert (session["pageviews"], session["duration"], session["exit_page"]) == (3, 2400, "/c")


def test_non_interactive_custom_event_does_not_unbounce(
    client: TestClient, clock: FixedClock
) -> None:
    post(client, pageview())
    clock.advance(10)
    assert_accepted(
        post(client, {"n": "Video Autoplay", "u": PAGE, "d": "example.com", "i": False})
    )
    (session,) = stored_sessions(client)
    assert (session["events"], session["pageviews"], session["is_bounce"]) == (2, 1, True)
    assert session["duration"] == 10

    clock.advance(10)
    assert_accepted(post(client, {"n": "Signup", "u": PAGE, "d": "example.com"}))
    (session,) = stored_sessions(client)
    assert (session["events"], session["is_bounce"]) == (3, False)


def test_long_key_interactive_false_does_not_unbounce(
    client: TestClient, clock: FixedClock
) -> None:
    post(client, pageview())
    post(client, {"name": "Scroll", "url": PAGE, "domain": "example.com", "interactive": False})
    (session,) = stored_sessions(client)
    assert session["is_bounce"] is True


def test_interactive_custom_event_unbounces(client: TestClient, clock: FixedClock) -> None:
    post(client, pageview())
    clock.advance(5)
    post(client, {"n": "Signup", "u": PAGE, "d": "example.com", "i": True})
    (session,) = stored_sessions(client)
    assert session["is_bounce"] is False
    assert session["pageviews"] == 1


def test_session_started_by_custom_event(client: TestClient, clock: FixedClock) -> None:
    """Entry page comes from the first pageview; a non-interactive start is a bounce."""
    post(client, {"n": "Signup", "u": "https://example.com/form", "d": "example.com", "i": False})
    (session,) = stored_sessions(client)
    assert (session["entry_page"], session["pageviews"], session["is_bounce"]) == ("", 0, True)
    clock.advance(60)
    post(client, pageview("https://example.com/thanks"))
    (session,) = stored_sessions(client)
    assert (session["entry_page"], session["exit_page"]) == ("/thanks", "/thanks")
    assert session["hostname"] == "example.com"


def test_visit_attributes_come_from_the_first_event(client: TestClient, clock: FixedClock) -> None:
    first_body = pageview(
        "https://example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=nov",
        r="https://news.ycombinator.com/item?id=1",
    )
    assert_accepted(post(client, first_body))
    clock.advance(60)
    later_body = pageview(
        "https://example.com/next?utm_source=twitter&utm_medium=social&gclid=abc",
        r="https://www.google.com/search?q=x",
    )
    assert_accepted(post(client, later_body))
    first, later = stored_events(client)
    assert first["session_id"] == later["session_id"]
    for column in VISIT_COLUMNS:
        assert later[column] == first[column], column
    assert first["utm_source"] == "newsletter"
    assert first["utm_medium"] == "email"
    assert first["utm_campaign"] == "nov"
    assert first["referrer"] == "news.ycombinator.com/item"
    assert first["click_id_param"] == ""
    assert first["country"] == "GB"
    assert first["browser"] == "Chrome"
    (session,) = stored_sessions(client)
    assert {c: session[c] for c in VISIT_COLUMNS} == {c: first[c] for c in VISIT_COLUMNS}


def test_hash_mode_keeps_the_fragment(client: TestClient) -> None:
    post(client, pageview("https://example.com/#page-a", h=1), ip="81.2.69.1")
    post(client, pageview("https://example.com/#page-a"), ip="81.2.69.2")
    post(
        client,
        {
            "n": "pageview",
            "u": "https://example.com/app#page%20b",
            "d": "example.com",
            "hashMode": 1,
        },
        ip="81.2.69.3",
    )
    post(client, pageview("https://example.com/x#page-a", h=0), ip="81.2.69.4")
    assert sorted(e["pathname"] for e in stored_events(client)) == [
        "/",
        "/#page-a",
        "/app#page b",
        "/x",
    ]


def test_www_is_stripped_from_domain_and_hostname(client: TestClient) -> None:
    assert_accepted(
        post(client, {"n": "pageview", "u": "https://www.example.com/p", "d": "www.example.com"})
    )
    assert_accepted(post(client, {"n": "pageview", "u": "https://WWW.Example.COM/q"}, ip=GB_IP_2))
    events = stored_events(client)
    assert [(e["hostname"], e["pathname"]) for e in events] == [
        ("example.com", "/p"),
        ("example.com", "/q"),
    ]


def test_www_and_bare_host_are_the_same_visitor(client: TestClient) -> None:
    post(client, pageview("https://www.example.com/a"))
    post(client, pageview("https://example.com/b"))
    first, second = stored_events(client)
    assert first["session_id"] == second["session_id"]


def test_goals_with_path_get_the_path_prop(client: TestClient, clock: FixedClock) -> None:
    for name in ["404", 404, "WP Form Completions", "Form: Submission"]:
        clock.advance(1)
        body = {
            "n": name,
            "u": "https://example.com/missing/page?x=1",
            "d": "example.com",
            "p": {"referrer": "internal"},
        }
        assert_accepted(post(client, body))
        event = stored_events(client)[-1]
        assert event["name"] == str(name)
        assert event["props_keys"] == ["path", "referrer"], name
        assert event["props_values"] == ["/missing/page", "internal"], name


def test_sent_path_prop_is_kept_and_other_events_get_none(client: TestClient) -> None:
    post(
        client,
        {"n": "404", "u": "https://example.com/x", "d": "example.com", "p": {"path": "/custom"}},
        ip="81.2.69.1",
    )
    post(client, {"n": "Signup", "u": "https://example.com/x", "d": "example.com"}, ip="81.2.69.2")
    by_name = {e["name"]: e for e in stored_events(client)}
    assert (by_name["404"]["props_keys"], by_name["404"]["props_values"]) == (["path"], ["/custom"])
    assert by_name["Signup"]["props_keys"] == []


def test_path_prop_survives_the_30_prop_cap(client: TestClient) -> None:
    props = {f"k{i:02d}": "v" for i in range(30)}
    post(client, {"n": "404", "u": "https://example.com/gone", "d": "example.com", "p": props})
    (event,) = stored_events(client)
    assert len(event["props_keys"]) == 30
    assert event["props_keys"][0] == "path"
    assert event["props_values"][0] == "/gone"


# -- CORS -----------------------------------------------------------------------------------


def test_cors_preflight(client: TestClient) -> None:
    response = client.options(
        "/api/event",
        headers={
            "origin": "https://example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


def test_other_routes_send_no_cors_headers(client: TestClient) -> None:
    response = client.get("/healthz", headers={"origin": "https://example.com"})
    assert response.status_code == 200
    assert not any(h.startswith("access-control-") for h in response.headers)


def test_errors_and_drops_also_carry_cors(client: TestClient) -> None:
    cases: list[tuple[Any, dict[str, Any]]] = [
        (b"{", {"content_type": "text/plain"}),
        (b"{", {}),
        (pageview(d="unknown.org"), {}),
        ({"n": ""}, {}),
        (pageview(), {"headers": {"accept": "text/html"}}),
    ]
    for body, kwargs in cases:
        response = post(client, body, **kwargs)
        assert response.headers["access-control-allow-origin"] == "*", (body, kwargs)


# -- back-pressure --------------------------------------------------------------------------


def _event_row(index: int) -> tuple[Any, ...]:
    """A minimal event row built from the stored schema, so that it follows schema changes."""
    defaults = {
        str(pa.string()): "",
        str(pa.list_(pa.string())): [],
        str(pa.bool_()): True,
        str(pa.timestamp("us")): dt.datetime(2026, 11, 2, 10, 0),
    }
    values = {
        "site_id": 1,
        "name": "pageview",
        "hostname": "example.com",
        "pathname": f"/{index}",
        "visitor_id": index,
        "session_id": index,
        "scroll_depth": 255,
    }
    return tuple(
        values.get(column, defaults.get(str(EVENT_TYPES[column]), 0)) for column in EVENT_COLUMNS
    )


def test_group_commit_writer_refuses_when_full_then_commits_accepted(tmp_path: Path) -> None:
    """The bounded queue, on the writer itself: deterministic, no HTTP timing involved."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    journal = Journal(tmp_path / "journal")

    async def scenario() -> None:
        writer = GroupCommitWriter(
            store,
            journal,
            loop=asyncio.get_running_loop(),
            max_batch=100,
            max_wait_seconds=0.0,
            queue_limit=3,
        )
        try:
            # Submitting is synchronous on the loop: nothing is journalled until we await.
            waiters = [writer.submit([_event_row(i)], []) for i in range(3)]
            assert all(w is not None for w in waiters)
            assert writer.queue_depth == 3
            assert not writer.has_room()
            assert writer.submit([_event_row(3)], []) is None
            assert writer.has_room(0)
            await asyncio.wait_for(asyncio.gather(*waiters), timeout=10)  # type: ignore[arg-type]
            assert await asyncio.to_thread(writer.flush_sessions)
            assert writer.queue_depth == 0
            assert writer.has_room(3)
            assert not writer.has_room(4)
            assert writer.stats.events == 3
        finally:
            writer.close()
        assert writer.submit([_event_row(9)], []) is None  # closed

    try:
        asyncio.run(scenario())
        with store.cursor() as cur:
            rows = cur.execute("SELECT pathname FROM events ORDER BY pathname").fetchall()
        assert [path for (path,) in rows] == ["/0", "/1", "/2"]
    finally:
        store.close()


def test_http_queue_full_answers_503_with_retry_after(
    settings: Settings, clock: FixedClock
) -> None:
    """The writer is stalled (the store's write lock is held), so accepted events pile up in the
    bounded queue; once it holds `ingest_queue_size` events every further request gets 503 +
    Retry-After, and everything accepted is committed after the stall ends."""
    # Every request comes from one socket peer: the per-address ingest limit stays out of it.
    small = settings.replace(ingest_queue_size=100, commit_max_wait_ms=0, ingest_rate_limit="")
    total = 200
    with TestClient(create_app(small, clock=clock)) as client:
        state = client.app.state.footfall
        store_lock: threading.Lock = state.store._lock
        with concurrent.futures.ThreadPoolExecutor(max_workers=total) as pool:
            store_lock.acquire()
            try:
                futures = [
                    pool.submit(
                        post,
                        client,
                        pageview(f"https://example.com/{i}"),
                        ip=f"81.2.{i // 200}.{i % 200 + 1}",
                    )
                    for i in range(total)
                ]
                # Each request is either refused at once (503) or enters the pipeline.
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    refused = sum(1 for f in futures if f.done() and f.result().status_code == 503)
                    if refused + state.pipeline.accepted == total:
                        break
                    time.sleep(0.01)
                assert state.writer.queue_depth == 100
                assert not state.writer.has_room()
                ready = client.get("/readyz")
                assert ready.status_code == 503
                queue = ready.json()["checks"]["ingest_queue"]
                assert queue["ok"] is False
                assert queue["depth"] == queue["limit"] == 100
            finally:
                store_lock.release()
            responses = [f.result(timeout=20) for f in futures]
        statuses = [r.status_code for r in responses]
        assert set(statuses) == {202, 503}
        refused_responses = [r for r in responses if r.status_code == 503]
        assert all(r.headers["retry-after"] == "1" for r in refused_responses)
        assert all(r.headers["access-control-allow-origin"] == "*" for r in refused_responses)
        settle(client)
        assert statuses.count(202) == store_of(client).count_events()
        assert statuses.count(202) >= 100
        assert client.get("/readyz").status_code == 200


# -- health ---------------------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_readyz(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"metadata", "event_store", "disk", "ingest_queue", "memory"}
    assert all(check["ok"] for check in body["checks"].values())
