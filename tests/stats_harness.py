"""Loads events through the real ingest endpoint and asks the real Stats API about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.devtools.traffic import write_ndjson
from footfall.meta.keys import create_key
from footfall.meta.sites import Site, add_site
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from footfall.web.app import create_app
from tests.services import chdb_url

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


@dataclass
class StatsHarness:
    """An app on a frozen clock, a stats key, and shortcuts to send and ask."""

    client: TestClient
    clock: FixedClock
    key: str
    domain: str = "example.com"

    def send(
        self,
        at: dt.datetime,
        path: str,
        *,
        ip: str,
        ua: str = CHROME,
        name: str = "pageview",
        props: dict[str, Any] | None = None,
        referrer: str | None = None,
        query: str = "",
        interactive: bool | None = None,
        engagement_time: int | None = None,
        scroll_depth: int | None = None,
    ) -> None:
        """Sends one event at time `at` (UTC) through POST /api/event."""
        self.clock.set(at.replace(tzinfo=dt.UTC))
        body: dict[str, Any] = {
            "name": name,
            "url": f"https://{self.domain}{path}{query}",
            "domain": self.domain,
        }
        if props:
            body["props"] = props
        if referrer:
            body["referrer"] = referrer
        if interactive is not None:
            body["interactive"] = interactive
        if engagement_time is not None:
            body["e"] = engagement_time
        if scroll_depth is not None:
            body["sd"] = scroll_depth
        response = self.client.post(
            "/api/event",
            json=body,
            headers={"user-agent": ua, "x-forwarded-for": ip},
        )
        assert response.status_code == 202, response.text
        assert "x-plausible-dropped" not in response.headers

    def flush(self, now: dt.datetime) -> None:
        """Makes every sent event readable and moves the clock to `now`."""
        assert self.client.app.state.footfall.writer.flush_sessions()  # type: ignore[attr-defined]
        self.clock.set(now.replace(tzinfo=dt.UTC))

    def get(self, endpoint: str, **params: Any) -> tuple[int, Any]:
        """GET /api/v1/stats/<endpoint> with the key; returns (status, decoded JSON)."""
        params.setdefault("site_id", self.domain)
        response = self.client.get(
            f"/api/v1/stats/{endpoint}",
            params=params,
            headers={"authorization": f"Bearer {self.key}"},
        )
        return response.status_code, response.json()

    def v2(self, **body: Any) -> tuple[int, Any]:
        """POST /api/v2/query with the key."""
        body.setdefault("site_id", self.domain)
        response = self.client.post(
            "/api/v2/query", json=body, headers={"authorization": f"Bearer {self.key}"}
        )
        return response.status_code, response.json()


# The event stores every Stats API suite runs against (one parametrised suite, not copies).
STATS_BACKENDS = ("duckdb", "clickhouse")


def events_url_for(backend: str, directory: Path) -> str | None:
    """The FOOTFALL_EVENTS_URL of a backend's store in `directory` (None: DuckDB's default).

    ClickHouse runs in-process (chdb); the test is skipped when it is not installed, and
    fails instead under FOOTFALL_REQUIRE_ALL=1.
    """
    if backend == "duckdb":
        return None
    return chdb_url(directory / "chdb")


def prepare_site(
    data_dir: Path, *, timezone: str = "UTC", events_url: str | None = None
) -> tuple[Settings, Site, str]:
    """Settings for `data_dir` with example.com registered, and a `stats:read` key.

    Args:
        data_dir: The data directory.
        timezone: The site's time zone.
        events_url: The event store (the DuckDB file in `data_dir` when None).
    """
    settings = load_settings({"data_dir": data_dir, "events_url": events_url}, environ={})
    meta = open_meta(settings)
    site = add_site(meta, domain="example.com", timezone=timezone)
    key = create_key(meta, name="reader", scopes=("stats:read",))[1]
    return settings, site, key


@contextmanager
def open_harness(
    data_dir: Path, *, now: dt.datetime, timezone: str = "UTC", backend: str = "duckdb"
) -> Iterator[StatsHarness]:
    """A fresh site in `data_dir`, served in-process on a clock frozen at `now` (UTC).

    Args:
        data_dir: The data directory.
        now: The frozen clock's time.
        timezone: The site's time zone.
        backend: The event store (one of `STATS_BACKENDS`).
    """
    url = events_url_for(backend, data_dir)
    settings, _, key = prepare_site(data_dir, timezone=timezone, events_url=url)
    with serve(settings, key, now=now) as harness:
        yield harness


@contextmanager
def serve(settings: Settings, key: str, *, now: dt.datetime) -> Iterator[StatsHarness]:
    """Runs the app in-process for existing settings on a clock frozen at `now` (UTC).

    Requests come from 127.0.0.1, a trusted proxy, so the addresses tests put in
    X-Forwarded-For count as distinct clients (for rate limits too), as behind a reverse proxy.
    """
    clock = FixedClock(now.replace(tzinfo=dt.UTC))
    with TestClient(create_app(settings, clock=clock), client=("127.0.0.1", 50000)) as client:
        yield StatsHarness(client=client, clock=clock, key=key)


def demo_file(path: Path, *, events: int, days: int, end: dt.datetime, seed: int = 0) -> Path:
    """Writes seeded demo traffic for example.com as import NDJSON."""
    with path.open("w") as handle:
        write_ndjson(handle, domain="example.com", events=events, days=days, end=end, seed=seed)
    return path
