"""Retention: each site keeps today and its last N days in its own time zone; the rest goes,
exactly, from every table, through the job, the commands, the Sites API and the settings page,
and every deletion is audited with the space it gave back."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.errors import InvalidInputError
from footfall.lifecycle.retention import retention_cutoff
from footfall.meta.access import grant_site
from footfall.meta.audit import Actor, list_entries
from footfall.meta.keys import create_key
from footfall.meta.sites import Site, add_site, get_site, set_site_retention
from footfall.meta.users import add_user
from footfall.services import Services, open_meta
from footfall.settings import Settings
from footfall.web.app import create_app
from tests.commands import footfall
from tests.conftest import csrf_of
from tests.lifecycle.helpers import DOMAIN, NOW, answers, seeded

ALICE = Actor("cli:alice")
PASSWORD = "correct horse battery"


def _site(timezone: str, days: int | None) -> Site:
    return Site(id=1, domain=DOMAIN, timezone=timezone, retention_days=days)


def test_the_cutoff_is_local_midnight_n_days_before_today() -> None:
    assert retention_cutoff(_site("UTC", None), NOW) is None
    assert retention_cutoff(_site("UTC", 3), NOW) == dt.datetime(2026, 11, 9)
    # New York is on standard time (UTC-5) in November: its midnight is 05:00 UTC.
    assert retention_cutoff(_site("America/New_York", 3), NOW) == dt.datetime(2026, 11, 9, 5)
    # Just after local midnight the cutoff moves one day on.
    late = dt.datetime(2026, 11, 12, 23, 30, tzinfo=dt.UTC)
    assert retention_cutoff(_site("Pacific/Auckland", 1), late) == dt.datetime(2026, 11, 11, 11)


def test_retention_is_set_audited_and_checked(engine: sa.Engine) -> None:
    add_site(engine, domain=DOMAIN)
    updated = set_site_retention(engine, DOMAIN, 30, actor=ALICE)
    assert updated.retention_days == 30 and get_site(engine, DOMAIN).retention_days == 30
    assert set_site_retention(engine, DOMAIN, 30, actor=ALICE) == updated  # unchanged: no entry
    set_site_retention(engine, DOMAIN, None, actor=ALICE)
    entries = list_entries(engine, action="site.update")
    assert [(e.before, e.after) for e in entries] == [
        (
            {"domain": DOMAIN, "timezone": "UTC", "retention_days": 30},
            {"domain": DOMAIN, "timezone": "UTC", "retention_days": None},
        ),
        (
            {"domain": DOMAIN, "timezone": "UTC", "retention_days": None},
            {"domain": DOMAIN, "timezone": "UTC", "retention_days": 30},
        ),
    ]
    for bad in (0, -1, 36501, True, 2.5):
        with pytest.raises(InvalidInputError, match="whole number of days"):
            set_site_retention(engine, DOMAIN, bad)  # type: ignore[arg-type]


def _events_before(services: Services, site_id: int, before: dt.datetime) -> int:
    rows = services.store.query(
        "SELECT count(*) FROM events WHERE site_id = $1 AND timestamp < $2",
        [site_id, before],
        timeout=10,
        tag="t",
    )
    return int(rows[0][0])


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_retention_deletes_exactly_the_expired_days(tmp_path: Path, timezone: str) -> None:
    settings, key = seeded(tmp_path / "data", tmp_path, timezone=timezone)
    kept = ("2026-11-09", "2026-11-11")
    before_kept = answers(settings, key, date_range=kept)
    daily = {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]}
    before_days = answers(settings, key, date_range=("2026-11-02", "2026-11-11"), questions=[daily])
    meta = open_meta(settings)
    set_site_retention(meta, DOMAIN, 3, actor=ALICE)
    meta.dispose()

    services = Services.open(settings, clock=FixedClock(NOW))
    try:
        site = get_site(services.meta, DOMAIN)
        cutoff = retention_cutoff(site, NOW)
        assert cutoff is not None
        due = _events_before(services, site.id, cutoff)
        assert due > 1000
        (result,) = services.enforce_retention()
        assert result.before == cutoff
        assert result.deletion.events == due
        assert result.deletion.sessions > 0
        assert result.deletion.bytes_freed is not None and result.deletion.bytes_freed >= 0
        assert _events_before(services, site.id, cutoff) == 0
        assert services.store.count_events(site.id) > 0
        (entry,) = list_entries(services.meta, action="site.retention")
        assert entry.actor == "job:retention" and entry.target == DOMAIN
        assert entry.after is not None and entry.after["events"] == due
        assert entry.after["before"] == cutoff.isoformat() + "Z"
        # Nothing more is due until the site's next midnight: nothing done, nothing audited.
        (again,) = services.enforce_retention()
        assert (again.deletion.events, again.deletion.sessions) == (0, 0)
        assert len(list_entries(services.meta, action="site.retention")) == 1
    finally:
        services.close()

    # The days kept answer exactly as before; the days before them are empty.
    assert answers(settings, key, date_range=kept) == before_kept
    after_days = answers(settings, key, date_range=("2026-11-02", "2026-11-11"), questions=[daily])
    kept_rows = [row for row in before_days[0] if row["dimensions"][0] >= kept[0]]
    assert after_days[0] == kept_rows


def test_the_job_applies_retention_at_start(tmp_path: Path) -> None:
    settings, _ = seeded(tmp_path / "data", tmp_path, events=600)
    meta = open_meta(settings)
    set_site_retention(meta, DOMAIN, 2)
    meta.dispose()
    cutoff = dt.datetime(2026, 11, 10)
    with TestClient(create_app(settings, clock=FixedClock(NOW))) as client:
        services: Services = client.app.state.footfall  # type: ignore[attr-defined]
        deadline = time.monotonic() + 20
        # The audit entry is written once the deletion is done: wait for both.
        while time.monotonic() < deadline and not list_entries(
            services.meta, action="site.retention"
        ):
            time.sleep(0.05)
        assert list_entries(services.meta, action="site.retention")
        assert _events_before(services, 1, cutoff) == 0
        assert services.store.count_events(1) > 0


def test_site_set_applies_retention_at_once(tmp_path: Path) -> None:
    settings, _ = seeded(tmp_path / "data", tmp_path, events=600)
    data_dir = str(settings.data_dir)
    done = footfall("site", "set", DOMAIN, "--retention-days", "400", "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    # The history is far younger than 400 days: nothing is deleted, and it says so.
    assert f"{DOMAIN}: keeps 400 days; deleted 0 events and 0 sessions" in done.stdout
    done = footfall("site", "set", DOMAIN, "--retention-days", "none", "--data-dir", data_dir)
    assert done.returncode == 0 and "keeps every event" in done.stdout
    done = footfall("site", "set", DOMAIN, "--retention-days", "0.5", "--data-dir", data_dir)
    assert done.returncode == 2 and "whole number of days" in done.stderr


# -- the Sites API and the settings page -----------------------------------------------------


def _keys(settings: Settings) -> tuple[str, str]:
    meta = open_meta(settings)
    try:
        writer = create_key(meta, name="writer", scopes=("sites:write",))[1]
        reader = create_key(meta, name="reader2", scopes=("stats:read",))[1]
        return writer, reader
    finally:
        meta.dispose()


def test_the_sites_api_reads_and_sets_retention(settings: Settings, clock: FixedClock) -> None:
    writer, reader = _keys(settings)
    url = f"/api/v1/sites/{DOMAIN}"

    def auth(key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    with TestClient(create_app(settings, clock=clock)) as client:
        got = client.get(url, headers=auth(reader))
        assert got.status_code == 200
        assert got.json() == {
            "domain": DOMAIN,
            "timezone": "UTC",
            "custom_properties": [],
            "retention_days": None,
        }
        assert client.put(url, json={"retention_days": 30}, headers=auth(reader)).status_code == 403
        put = client.put(url, json={"retention_days": 30}, headers=auth(writer))
        assert put.status_code == 200 and put.json()["retention_days"] == 30
        assert client.get(url, headers=auth(writer)).json()["retention_days"] == 30
        bad = client.put(url, json={"retention_days": 0}, headers=auth(writer))
        assert bad.status_code == 400 and "whole number of days" in bad.json()["error"]
        assert client.put(url, json={}, headers=auth(writer)).status_code == 400
        assert (
            client.put(url, json={"retention_days": "3"}, headers=auth(writer)).status_code == 200
        )
        assert (
            client.put(url, json={"retention_days": True}, headers=auth(writer)).status_code == 400
        )
        renamed = client.put(
            url, json={"domain": "new.example", "retention_days": 5}, headers=auth(writer)
        )
        assert renamed.status_code == 200
        assert (renamed.json()["domain"], renamed.json()["retention_days"]) == ("new.example", 5)
        cleared = client.put(url, json={"retention_days": None}, headers=auth(writer))
        assert cleared.json()["retention_days"] is None
        missing = client.get("/api/v1/sites/nowhere.example", headers=auth(writer))
        assert missing.status_code == 404
    meta = open_meta(settings)
    try:
        actors = {e.actor for e in list_entries(meta, action="site.update")}
    finally:
        meta.dispose()
    assert actors == {"key:writer"}


def _signed_in(client: TestClient, email: str) -> str:
    login = client.get("/login")
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(login.text)}
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get(f"/sites/{DOMAIN}/settings").text)


def test_the_settings_page_sets_retention_and_downloads_exports(
    settings: Settings, clock: FixedClock
) -> None:
    meta = open_meta(settings)
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    add_user(meta, email="viewer@example.com", role="viewer", password=PASSWORD)
    grant_site(meta, "viewer@example.com", DOMAIN)
    meta.dispose()
    page = f"/sites/{DOMAIN}/settings"
    web = settings.replace(login_rate_limit="", login_account_rate_limit="")
    with TestClient(create_app(web, clock=clock), follow_redirects=False) as client:
        token = _signed_in(client, "admin@example.com")
        html = client.get(page).text
        assert 'id="retention-days"' in html and f'action="{page}/export"' in html
        saved = client.post(f"{page}/retention", data={"csrf_token": token, "retention_days": "90"})
        assert saved.status_code == 303
        assert saved.headers["location"] == f"{page}?done=retention-saved#data"
        assert re.search(r'id="retention-days"[^>]*value="90"', client.get(page).text)
        refused = client.post(
            f"{page}/retention", data={"csrf_token": token, "retention_days": "-3"}
        )
        assert refused.status_code == 400 and "whole number of days" in refused.text
        download = client.get(f"{page}/export", params={"format": "csv"})
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert re.search(
            r'filename="example_com_[0-9]{8}\.zip"', download.headers["content-disposition"]
        )
        assert download.content[:2] == b"PK"
        bad = client.get(f"{page}/export", params={"format": "xml"})
        assert bad.status_code == 400
        cleared = client.post(f"{page}/retention", data={"csrf_token": token, "retention_days": ""})
        assert cleared.headers["location"] == f"{page}?done=retention-cleared#data"

    with TestClient(create_app(web, clock=clock), follow_redirects=False) as client:
        token = _signed_in(client, "viewer@example.com")
        assert 'id="retention-days"' not in client.get(page).text
        answer = client.post(f"{page}/retention", data={"csrf_token": token, "retention_days": "9"})
        assert answer.status_code == 403
        assert client.get(f"{page}/export", params={"format": "csv"}).status_code == 403
    meta = open_meta(settings)
    try:
        exports = list_entries(meta, action="site.export")
        assert [e.actor for e in exports] == ["user:admin@example.com"]
        assert get_site(meta, DOMAIN).retention_days is None
    finally:
        meta.dispose()
