"""``footfall site reset``: every event of a site goes, the site stays and keeps counting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from footfall.lifecycle.reset import reset_site
from footfall.meta.audit import Actor, list_entries
from footfall.meta.sites import list_sites
from footfall.services import Services, open_meta
from tests.commands import footfall
from tests.lifecycle.helpers import DOMAIN, seeded
from tests.stats_harness import open_harness

T0 = dt.datetime(2026, 11, 2, 10, 0)


def test_reset_needs_confirmation_and_keeps_the_site(tmp_path: Path) -> None:
    settings, _ = seeded(tmp_path / "data", tmp_path, events=400)
    data_dir = str(settings.data_dir)
    done = footfall("site", "reset", DOMAIN, "--data-dir", data_dir)
    assert done.returncode == 1 and "pass --yes" in done.stderr
    services = Services.open(settings)
    try:
        stored = services.store.count_events()
    finally:
        services.close()
    assert stored > 0
    done = footfall("site", "reset", DOMAIN, "--yes", "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    assert f"reset {DOMAIN}: deleted {stored} events" in done.stdout
    meta = open_meta(settings)
    try:
        assert [s.domain for s in list_sites(meta)] == [DOMAIN]
        (entry,) = list_entries(meta, action="site.reset")
        assert entry.actor.startswith("cli")
        assert entry.after is not None and entry.after["events"] == stored
    finally:
        meta.dispose()


def test_a_reset_site_answers_zero_at_once_and_keeps_counting(tmp_path: Path) -> None:
    with open_harness(tmp_path / "data", now=T0 + dt.timedelta(hours=1)) as harness:
        for minute in (0, 5):
            harness.send(T0 + dt.timedelta(minutes=minute), "/a", ip="81.2.69.1")
        harness.flush(T0 + dt.timedelta(minutes=6))
        status, before = harness.get(
            "aggregate", period="day", date="2026-11-02", metrics="pageviews,visits"
        )
        assert status == 200 and before["results"]["pageviews"]["value"] == 2
        services: Services = harness.client.app.state.footfall  # type: ignore[attr-defined]
        _, done = reset_site(services, DOMAIN, actor=Actor("cli:test"))
        assert (done.events, done.sessions) == (2, 1)
        # The cached answer went with the data version.
        _, after = harness.get(
            "aggregate", period="day", date="2026-11-02", metrics="pageviews,visits"
        )
        assert after["results"]["pageviews"]["value"] == 0
        # The same visitor comes back within 30 minutes: a new visit, stored with its session.
        harness.send(T0 + dt.timedelta(minutes=8), "/b", ip="81.2.69.1")
        harness.flush(T0 + dt.timedelta(minutes=9))
        _, again = harness.get(
            "aggregate", period="day", date="2026-11-02", metrics="pageviews,visits,bounce_rate"
        )
        assert again["results"]["pageviews"]["value"] == 1
        assert again["results"]["visits"]["value"] == 1
        assert again["results"]["bounce_rate"]["value"] == 100
