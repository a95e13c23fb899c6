"""Property-based fuzzing of event ingestion: no input may produce a server error.

`POST /api/event` must answer 202, 400 or 413 for any body and headers; `parse_event` must return
an event or an error map for any JSON object; `POST /api/import` must never 5xx and its report
must account for every non-blank line.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from footfall.ingest.request import (
    MAX_NAME_CHARS,
    MAX_PROP_KEY_BYTES,
    MAX_PROP_VALUE_BYTES,
    MAX_PROPS,
    MAX_REFERRER_CHARS,
    MAX_URL_BYTES,
    EventRequest,
    parse_event,
)
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from tests.conftest import CHROME_UA


@pytest.fixture(name="settings")
def unlimited_settings(tmp_path: Path) -> Settings:
    """The shared settings without the per-IP ingest limit: fuzzing floods from one client."""
    value = load_settings({"data_dir": tmp_path / "data", "ingest_rate_limit": ""}, environ={})
    add_site(open_meta(value), domain="example.com", timezone="UTC")
    return value


FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
IMPORT_FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
EVENT_KEYS = [
    "n",
    "u",
    "d",
    "r",
    "p",
    "h",
    "i",
    "m",
    "name",
    "url",
    "domain",
    "props",
    "sd",
    "e",
    "meta",
    "referrer",
    "interactive",
    "hashMode",
    "v",
    "w",
    "$",
    "revenue",
]
ERROR_FIELDS = {"event_name", "url", "domain", "props", "hash_mode", "request"}

# -- JSON values ------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    # Beyond 64 bits on purpose: orjson turns those into floats.
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
urls = st.sampled_from(
    [
        "https://example.com/",
        "https://www.example.com/a/b?utm_source=x&gclid=1#frag",
        "http://example.com:8080/%E2%82%AC?q=%zz",
        "about:config",
        "data:,x",
        "/relative",
        "app://localhost/login",
        "http://[::1",
        "https://user:pw@example.com/",
        "",
        " ",
        "https://example.com/" + "a" * 1990,
        "javascript:alert(1)",
        "https://例え.jp/パス",
        "https://example.com/?" + "&".join(f"k{i}=v" for i in range(50)),
    ]
) | st.text(max_size=60)
domains = st.sampled_from(
    [
        "example.com",
        "www.example.com",
        "example.com,unknown.org",
        " , ",
        "",
        "EXAMPLE.com ,www.example.com",
        "unknown.org",
    ]
) | st.text(max_size=30)
names = st.sampled_from(["pageview", "engagement", "404", "Signup", "", "x" * 121]) | st.text(
    max_size=30
)
referrers = st.sampled_from(
    [
        "https://news.ycombinator.com/",
        "https://www.google.com/search?q=1",
        "android-app://x.y/",
        "https://100dollars-seo.com/",
        "not a url",
        "",
        "https://example.com/self",
    ]
) | st.text(max_size=40)
props = st.dictionaries(st.text(max_size=20), json_values, max_size=35) | json_values
small_ints = st.integers(min_value=-5, max_value=300) | st.text(
    alphabet=string.digits + " -x", max_size=6
)
TARGETED: dict[str, st.SearchStrategy[Any]] = {
    "n": names,
    "name": names,
    "u": urls,
    "url": urls,
    "d": domains,
    "domain": domains,
    "r": referrers,
    "referrer": referrers,
    "p": props,
    "props": props,
    "m": props,
    "meta": props,
    "sd": small_ints,
    "e": small_ints,
    "h": small_ints,
    "hashMode": small_ints,
    "i": st.booleans(),
    "interactive": st.booleans(),
}


@st.composite
def event_bodies(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(EVENT_KEYS), unique=True, max_size=len(EVENT_KEYS)))
    # Half of the bodies start valid, so that enrichment, sessions and storage run too.
    valid = {"n": "pageview", "u": "https://example.com/", "d": "example.com"}
    body: dict[str, Any] = dict(valid) if draw(st.booleans()) else {}
    for key in keys:
        targeted = TARGETED.get(key)
        if targeted is None or draw(st.integers(0, 3)) == 0:
            body[key] = draw(json_values)
        else:
            body[key] = draw(targeted)
    if draw(st.booleans()):
        body.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)))
    return body


header_text = st.text(alphabet=string.printable.replace("\n", "").replace("\r", ""), max_size=60)
forwarded_ips = (
    st.sampled_from(
        [
            "81.2.69.142",
            "2001:db8::1",
            "[2001:db8::1]:443",
            "81.2.69.142:80, 10.0.0.1",
            "",
            ",",
            "not-an-ip",
            "999.999.999.999",
            "::ffff:81.2.69.142",
        ]
    )
    | header_text
)
user_agents = (
    st.sampled_from(
        [
            CHROME_UA,
            "curl/8.4.0",
            "",
            "Mozilla/5.0 (compatible; Googlebot/2.1)",
            "x" * 5000,
        ]
    )
    | header_text
)
ip_types = st.sampled_from(["", "dc_ip", "threat_ip", "anonymous_vpn_ip", "residential"])
content_types = st.sampled_from(["text/plain", "application/json", "", "text/plain; charset=x"])


def _headers(ua: str, xff: str, ip_type: str, content_type: str) -> dict[str, str]:
    headers = {"user-agent": ua, "x-forwarded-for": xff, "content-type": content_type}
    if ip_type:
        headers["x-plausible-ip-type"] = ip_type
    return headers


def _check_event_response(status: int, text: str) -> None:
    event(f"status {status}")
    assert status in {202, 400, 413}, (status, text)
    if status == 202:
        assert text == "ok"
    elif status == 400:
        payload = orjson.loads(text)
        if payload != {"status": 400, "message": "Bad Request"}:
            assert set(payload) == {"errors"}
            assert payload["errors"], payload
            assert set(payload["errors"]) <= ERROR_FIELDS, payload
            for messages in payload["errors"].values():
                assert messages and all(isinstance(m, str) and m for m in messages)


# -- POST /api/event -------------------------------------------------------------------------


@FUZZ
@given(
    body=event_bodies(),
    ua=user_agents,
    xff=forwarded_ips,
    ip_type=ip_types,
    content_type=content_types,
)
def test_json_objects_never_5xx(
    client: TestClient, body: dict[str, Any], ua: str, xff: str, ip_type: str, content_type: str
) -> None:
    # The standard library encodes integers beyond 64 bits (orjson cannot).
    raw = json.dumps(body, ensure_ascii=bool(len(body) % 2))
    response = client.post(
        "/api/event", content=raw.encode(), headers=_headers(ua, xff, ip_type, content_type)
    )
    _check_event_response(response.status_code, response.text)


@FUZZ
@given(
    raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode), content_type=content_types
)
def test_arbitrary_bytes_never_5xx(client: TestClient, raw: bytes, content_type: str) -> None:
    response = client.post(
        "/api/event", content=raw, headers={"content-type": content_type, "user-agent": CHROME_UA}
    )
    assert response.status_code in {202, 400}, (response.status_code, response.text)
    _check_event_response(response.status_code, response.text)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=event_bodies())
def test_json_truncated_or_padded_never_5xx(client: TestClient, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    for variant in (raw[: len(raw) // 2], raw + b"}", b" \n" + raw + b"\n ", raw.upper()):
        response = client.post(
            "/api/event",
            content=variant,
            headers={"content-type": "text/plain", "user-agent": CHROME_UA},
        )
        _check_event_response(response.status_code, response.text)


# -- parse_event directly --------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(body=event_bodies())
def test_parse_event_returns_an_event_or_errors(body: dict[str, Any]) -> None:
    result = parse_event(body)
    event("event" if isinstance(result, EventRequest) else "errors")
    if isinstance(result, EventRequest):
        assert result.name and len(result.name) <= MAX_NAME_CHARS
        assert len(result.url.encode()) <= MAX_URL_BYTES
        assert not result.url.lower().startswith("data:")
        assert result.domains
        assert all(
            d and d == d.strip().lower() and not d.startswith("www.") for d in result.domains
        )
        assert len(set(result.domains)) == len(result.domains)
        assert result.referrer is None or len(result.referrer) <= MAX_REFERRER_CHARS
        assert len(result.props) <= MAX_PROPS
        for key, value in result.props:
            assert isinstance(key, str) and isinstance(value, str)
            assert key.strip() and value.strip()
            assert len(key.encode()) <= MAX_PROP_KEY_BYTES
            assert len(value.encode()) <= MAX_PROP_VALUE_BYTES
        assert isinstance(result.interactive, bool)
        if result.name == "engagement":
            assert result.scroll_depth is None or 0 <= result.scroll_depth <= 100
            assert result.engagement_time is not None
            assert 0 <= result.engagement_time < 30 * 24 * 3600 * 1000
        else:
            assert result.scroll_depth is None and result.engagement_time is None
    else:
        assert isinstance(result, dict) and result
        assert set(result) <= ERROR_FIELDS - {"request"}
        for messages in result.values():
            assert messages and all(isinstance(m, str) and m for m in messages)


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.sampled_from(EVENT_KEYS) | st.text(max_size=5), json_values))
def test_parse_event_on_untargeted_values(body: dict[str, Any]) -> None:
    result = parse_event(body)
    assert isinstance(result, EventRequest | dict)


# -- POST /api/import ------------------------------------------------------------------------

timestamps = st.sampled_from(
    [
        "2026-11-01T12:00:00Z",
        "2026-11-01T12:00:00+02:00",
        "2026-11-01 12:00:00",
        "2026-02-30T00:00:00Z",
        "yesterday",
        "",
        "2026-11-01T12:00:00.123456Z",
        "0001-01-01T00:00:00Z",
    ]
) | st.datetimes().map(lambda d: d.isoformat() + "Z")
IMPORT_TARGETED: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": timestamps,
    "name": names,
    "url": urls,
    "referrer": referrers,
    "user_agent": user_agents,
    "ip": forwarded_ips,
    "props": props,
    "interactive": st.booleans(),
    "visitor_id": st.text(max_size=10) | st.integers(),
}
IMPORT_KEYS = list(IMPORT_TARGETED)
line_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
    max_size=60,
)


@st.composite
def import_objects(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from(IMPORT_KEYS), unique=True, max_size=len(IMPORT_KEYS)))
    # Mostly well-formed rows, so that enrichment and sessionising run too.
    base = {
        "timestamp": "2026-11-01T12:00:00Z",
        "name": "pageview",
        "url": "https://example.com/",
        "user_agent": CHROME_UA,
        "ip": "81.2.69.142",
    }
    obj: dict[str, Any] = base if draw(st.booleans()) else {}
    for key in keys:
        targeted = IMPORT_TARGETED[key]
        obj[key] = draw(targeted | json_values if draw(st.booleans()) else targeted)
    return json.dumps(obj, ensure_ascii=draw(st.booleans()))


import_lines = st.lists(
    import_objects() | line_text | st.sampled_from(["", "  ", "{}", "[]", "null", "{", '"x"']),
    min_size=1,
    max_size=30,
)


@IMPORT_FUZZ
@given(lines=import_lines)
def test_import_never_5xx_and_counts_add_up(
    client: TestClient, import_key: str, lines: list[str]
) -> None:
    body = "\n".join(lines).encode()
    # force=true: examples may repeat a body, and a repeat is refused without it.
    response = client.post(
        "/api/import?site_id=example.com&force=true",
        content=body,
        headers={"authorization": f"Bearer {import_key}", "content-type": "application/x-ndjson"},
    )
    assert response.status_code in {200, 400}, (response.status_code, response.text)
    report = response.json()
    event(f"stored: {bool(report['stored'])}, rejected: {bool(report['rejected'])}")
    nonblank = sum(1 for line in lines if line.strip(" "))
    assert report["lines"] == nonblank, (report, lines)
    assert report["lines"] == report["stored"] + report["dropped"] + report["rejected"], report
    assert len(report["errors"]) <= report["rejected"]
    if response.status_code == 400:
        assert report["rejected"] and not report["stored"] and not report["dropped"]
