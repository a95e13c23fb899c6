"""Forwarded client addresses through a trusted proxy: what a client can and cannot forge.

The app is served in-process with the socket peer 127.0.0.1, a trusted proxy by default, as
behind a reverse proxy on the same host. A real proxy appends the address it sees to
X-Forwarded-For; the tests send what a client would send through it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta.audit import list_entries
from footfall.meta.shared_links import create_link
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.web.app import create_app
from tests.conftest import CHROME_UA, PASSWORD, csrf_of

PROXY_PEER = ("127.0.0.1", 50000)


@pytest.fixture
def proxied(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    limited = settings.replace(ingest_rate_limit="5/minute", shared_link_rate_limit="10/minute")
    with TestClient(create_app(limited, clock=clock), client=PROXY_PEER) as client:
        yield client


def _through_proxy(forged: str, real: str) -> dict[str, str]:
    """The header a trusted proxy passes on: what the client sent, then the address it saw."""
    return {"x-forwarded-for": f"{forged}, {real}"}


def test_rotating_forged_addresses_does_not_escape_the_shared_link_limits(
    proxied: TestClient, settings: Settings
) -> None:
    link = create_link(open_meta(settings), "example.com", name="board", password=PASSWORD)
    form = proxied.get(f"/share/{link.slug}")
    statuses = []
    for guess in range(30):
        headers = _through_proxy(f"198.51.{guess // 250}.{guess % 250}, 127.0.0.1", "203.0.113.7")
        answer = proxied.post(
            f"/share/{link.slug}",
            data={"password": f"guess {guess}", "csrf_token": csrf_of(form.text)},
            headers=headers,
        )
        statuses.append(answer.status_code)
    assert 429 in statuses
    assert statuses.index(429) <= 20  # the per-address sign-in limit (20/minute) at the latest


def test_a_link_locks_however_many_real_addresses_guess(
    proxied: TestClient, settings: Settings
) -> None:
    link = create_link(open_meta(settings), "example.com", name="board", password=PASSWORD)
    form = proxied.get(f"/share/{link.slug}")
    statuses = []
    for guess in range(12):
        answer = proxied.post(
            f"/share/{link.slug}",
            data={"password": f"guess {guess}", "csrf_token": csrf_of(form.text)},
            headers={"x-forwarded-for": f"203.0.113.{guess + 1}"},  # a botnet: all real
        )
        statuses.append(answer.status_code)
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]


def test_the_audit_log_records_the_address_the_proxy_saw(
    proxied: TestClient, settings: Settings
) -> None:
    meta = open_meta(settings)
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    form = proxied.get("/login")
    signed_in = proxied.post(
        "/login",
        data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        headers=_through_proxy("6.6.6.6", "203.0.113.7"),
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    (entry,) = list_entries(meta, action="login.success")
    assert entry.ip == "203.0.113.7"


def test_forged_addresses_do_not_buy_a_fresh_ingest_allowance(proxied: TestClient) -> None:
    statuses = []
    for n in range(8):
        answer = proxied.post(
            "/api/event",
            json={"n": "pageview", "u": "https://example.com/", "d": "example.com"},
            headers={"user-agent": CHROME_UA, **_through_proxy(f"198.51.100.{n}", "203.0.113.7")},
        )
        statuses.append(answer.status_code)
    assert statuses[:5] == [202] * 5
    assert statuses[5:] == [429] * 3


@pytest.mark.parametrize(
    "header", ["x-forwarded-for", "x-real-ip", "cf-connecting-ip", "x-plausible-ip", "forwarded"]
)
def test_metrics_refuse_whatever_a_loopback_proxy_relays(proxied: TestClient, header: str) -> None:
    assert proxied.get("/metrics").status_code == 200
    value = "for=203.0.113.7" if header == "forwarded" else "203.0.113.7"
    assert proxied.get("/metrics", headers={header: value}).status_code == 403
