"""A clean restart keeps the query cache; a restart after the data changed does not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from footfall.lifecycle.importing import import_ndjson
from footfall.meta.keys import create_key
from footfall.meta.opening import open_meta
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.settings import Settings
from footfall.stats.cache_file import CACHE_FILE
from tests.conftest import ServerProcess
from tests.stats_harness import demo_file

pytestmark = pytest.mark.slow


def _import(settings: Settings, path: Path) -> None:
    services = Services.open(settings)
    try:
        site = get_site(services.meta, "example.com")
        import_ndjson(services, site=site, path=path)
    finally:
        services.close()


def _figures(server: ServerProcess) -> dict[str, float]:
    """Store queries run and cache hits since the server started, from its /metrics."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    out = {"queries": 0.0, "hits": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "footfall_query_duration_seconds_count":
                out["queries"] += sample.value
            elif sample.name == "footfall_query_cache_hits_total":
                out["hits"] += sample.value
    return out


def test_a_clean_restart_answers_from_the_kept_cache_until_the_data_changes(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
    _import(settings, demo_file(tmp_path / "first.ndjson", events=300, days=6, end=end))
    key = create_key(open_meta(settings), name="reader", scopes=("stats:read",))[1]
    week = f"{(end - dt.timedelta(days=6)).date()},{end.date()}"  # entirely in the past

    def ask() -> dict[str, Any]:
        response = httpx.get(
            f"{server.url}/api/v1/stats/aggregate",
            params={"site_id": "example.com", "period": "custom", "date": week,
                    "metrics": "visitors,pageviews"},
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"]
        return result

    kept = settings.data_dir / CACHE_FILE
    server.start()
    first = ask()
    assert first["visitors"]["value"] > 0
    assert _figures(server)["queries"] >= 1
    server.stop()
    assert kept.exists()

    # Nothing changed: the answer comes from the cache the last run kept.
    server.start()
    assert not kept.exists()  # read once
    assert ask() == first
    assert _figures(server) == {"queries": 0.0, "hits": 1.0}
    server.stop()

    # More visits in that week, imported while the server was down: the kept cache is stale.
    _import(settings, demo_file(tmp_path / "more.ndjson", events=300, days=6, end=end, seed=1))
    server.start()
    grown = ask()
    assert grown["visitors"]["value"] > first["visitors"]["value"]
    assert _figures(server)["queries"] >= 1

    # A crash keeps nothing: the next start computes again.
    server.kill()
    assert not kept.exists()
    server.start()
    assert ask() == grown
    assert _figures(server)["queries"] >= 1
