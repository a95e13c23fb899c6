"""The administration pages in-process: a data directory with two sites, an admin and a viewer,
and browsers that sign in through the real sign-in page and post forms with their CSRF token."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta.access import grant_site
from footfall.meta.sites import add_site
from footfall.meta.users import add_user
from footfall.services import Services, open_meta
from footfall.settings import Settings
from footfall.web.app import create_app

PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"
VIEWER = "viewer@example.com"
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
# What TestClient answers: an httpx (or httpx2, as installed) response.
Response = Any


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in `html`."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def flash(html: str) -> str:
    """The text of the page's status message ('' when there is none)."""
    found = re.search(
        r'<div class="flash" role="status" aria-live="polite">(.*?)</div>', html, re.S
    )
    assert found, "the page has no flash region"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def section_error(html: str, section: str) -> str:
    """The refusal shown in `section` of the page."""
    found = re.search(rf'<p class="error" role="alert" id="{section}-error">([^<]+)</p>', html)
    assert found, html
    return found.group(1)


class Browser:
    """A browser signed in as `email`: GETs pages and posts forms with its CSRF token."""

    def __init__(self, client: TestClient, email: str, password: str = PASSWORD) -> None:
        self.client = client
        login = client.get("/login")
        signed_in = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(login.text)},
        )
        assert signed_in.status_code == 303, signed_in.text
        self.token = csrf_of(client.get("/account").text)

    def get(self, path: str) -> Response:
        return self.client.get(path)

    def post(self, path: str, **data: Any) -> Response:
        return self.client.post(path, data={"csrf_token": self.token, **data})

    def done(self, path: str, page: str, **data: Any) -> Response:
        """Posts a form that must succeed with a redirect to `page`; returns `page` as shown."""
        answer = self.post(path, **data)
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith(page + "?done="), location
        shown = self.client.get(location.split("#")[0])
        assert shown.status_code == 200
        return shown


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    """example.com and other.org; an admin, and a viewer of example.com. No sign-in limits."""
    meta = open_meta(settings)
    add_site(meta, domain="other.org")
    add_user(meta, email=ADMIN, role="admin", password=PASSWORD)
    add_user(meta, email=VIEWER, role="viewer", password=PASSWORD)
    grant_site(meta, VIEWER, "example.com")
    meta.dispose()
    return settings.replace(login_rate_limit="", login_account_rate_limit="")


def app_client(settings: Settings) -> TestClient:
    """The app in-process on a frozen clock; redirects are answers to look at, not follow."""
    return TestClient(create_app(settings, clock=FixedClock(NOW)), follow_redirects=False)


@pytest.fixture
def client(web_settings: Settings) -> Iterator[TestClient]:
    with app_client(web_settings) as test_client:
        yield test_client


@pytest.fixture
def meta(web_settings: Settings) -> Iterator[sa.Engine]:
    engine = open_meta(web_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def admin(client: TestClient) -> Browser:
    return Browser(client, ADMIN)


def services_of(client: TestClient) -> Services:
    """The services of the app behind `client`."""
    state: Services = client.app.state.footfall  # type: ignore[attr-defined]
    return state


def other_browser(client: TestClient) -> TestClient:
    """A second browser (its own cookies) on the same running app."""
    return TestClient(client.app, follow_redirects=False)
