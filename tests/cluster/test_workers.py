"""`serve --workers N` on shared stores: N processes on one port, a killed one comes back."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.cluster.harness import reach_workers, start_workers, worker_pids
from tests.conftest import PASSWORD, csrf_of, free_port

pytestmark = pytest.mark.slow


def test_workers_share_one_port_and_a_killed_one_comes_back(
    tmp_path: Path, cluster_env: dict[str, str]
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_workers(cluster_env, port, 2, log)
    try:
        before = worker_pids(process.pid)
        assert len(before) == 2
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = worker_pids(process.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.1)
        assert victim not in worker_pids(process.pid)
        clients = reach_workers(f"http://127.0.0.1:{port}", 2)
        for client in clients.values():
            client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        text = log.read_text()
        assert "Traceback" not in text, text[-3000:]
        assert re.search(r"worker \d \(PID \d+\) was killed by SIGKILL", text), text[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _counter(text: str, name: str) -> float:
    found = re.search(rf"^{name}\{{[^}}]*\}} ([0-9.e+]+)$", text, re.M)
    assert found, name
    return float(found.group(1))


def test_rate_limits_and_the_query_cache_are_shared_by_the_workers(
    tmp_path: Path, cluster_env: dict[str, str]
) -> None:
    from footfall.meta.keys import create_key
    from footfall.meta.sites import add_site
    from footfall.meta.users import add_user
    from footfall.services import open_meta
    from footfall.settings import load_settings

    settings = load_settings(
        {"data_dir": tmp_path / "setup", "database_url": cluster_env["FOOTFALL_DATABASE_URL"]},
        environ={},
    )
    meta = open_meta(settings)
    add_site(meta, domain="example.com", timezone="UTC")
    key = create_key(meta, name="reader", scopes=("stats:read",))[1]
    add_user(meta, email="ops@example.com", role="admin", password=PASSWORD)
    meta.dispose()
    port = free_port()
    # No cache warming: only the two questions below touch the cache counters.
    env = {
        **cluster_env,
        "FOOTFALL_INGEST_RATE_LIMIT": "4/minute",
        "FOOTFALL_CACHE_WARMING": "false",
    }
    process = start_workers(env, port, 2, tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    clients = reach_workers(url, 2)
    try:
        body = '{"n":"pageview","u":"https://example.com/","d":"example.com"}'
        headers = {"content-type": "text/plain", "x-forwarded-for": "81.2.69.160"}
        statuses = [
            clients[n % 2].post(f"{url}/api/event", content=body, headers=headers).status_code
            for n in range(8)
        ]
        assert sorted(statuses) == [202] * 4 + [429] * 4  # one allowance across both workers

        time.sleep(2.5)  # both workers have read the shared data version
        question = {
            "site_id": "example.com",
            "period": "custom",
            "date": "2026-01-01,2026-01-31",
            "metrics": "visitors,pageviews",
        }
        auth = {"authorization": f"Bearer {key}"}
        before = clients[1].get(f"{url}/metrics").text
        first = clients[0].get(f"{url}/api/v1/stats/aggregate", params=question, headers=auth)
        again = clients[1].get(f"{url}/api/v1/stats/aggregate", params=question, headers=auth)
        after = clients[1].get(f"{url}/metrics").text
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        # Worker 1 answered from what worker 0 cached.
        hits = "footfall_query_cache_hits_total"
        misses = "footfall_query_cache_misses_total"
        assert _counter(after, hits) == _counter(before, hits) + 1
        assert _counter(after, misses) == _counter(before, misses)

        # Whichever worker answers /ops shows both, and the cluster's totals.
        form = clients[0].get(f"{url}/login")
        clients[0].post(
            f"{url}/login",
            data={
                "email": "ops@example.com",
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
            },
        )
        page = clients[0].get(f"{url}/ops/performance")
        assert page.status_code == 200
        assert page.text.count("<tr><td><code>") >= 2, page.text[-3000:]
        assert "Cluster (2)" in page.text
    finally:
        for client in clients.values():
            client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
