"""Three workers, one killed mid-burst, answer exactly as one process on DuckDB does.

Three `footfall serve --workers 3` processes share one port, PostgreSQL, Redis and ClickHouse
(over its HTTP interface, `tests/clickhouse_http.py`). Twelve clients send tracker events for
overlapping visitors, so one visitor's events reach several workers at the same moment; in the
middle of the burst one worker is killed with SIGKILL and the pool starts it again. Then:

* every acknowledged event is stored, and none twice;
* the stored events, sent again through one DuckDB process at their stored times, give the
  same Stats API answers (aggregate, timeseries, breakdowns; v1 and v2) as every worker gives.

Events reach the workers in real time, so a visitor's events go out in phases at least a
second apart, and within a phase all of a visitor's page views are of one page: the only order
two concurrent events of one visitor can take, within the same second, then changes nothing.
Each event carries a unique ``n`` property, by which the stored ones are told apart.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import load_settings
from tests.cluster.harness import reach_workers, start_workers, worker_pids
from tests.conftest import free_port
from tests.stats_harness import CHROME, FIREFOX, IPHONE, serve

pytestmark = pytest.mark.slow

WORKERS = 3
CLIENTS = 12
VISITORS = 36
PHASES = 5
KILL_IN_PHASE = 2
UAS = (CHROME, FIREFOX, IPHONE)
REFERRERS = (None, "https://news.ycombinator.com/", "https://www.google.com/")
NETWORKS = ("81.2.69.", "89.160.20.", "216.160.83.")  # three countries


@dataclass(frozen=True)
class Sent:
    """One event as a client sends it."""

    n: int
    visitor: int
    name: str
    path: str
    interactive: bool = True
    engagement: tuple[int, int] | None = None  # (time in ms, scroll depth)

    @property
    def ip(self) -> str:
        return NETWORKS[self.visitor % 3] + str(10 + self.visitor)

    @property
    def ua(self) -> str:
        return UAS[self.visitor % 3]

    @property
    def referrer(self) -> str | None:
        return REFERRERS[self.visitor % 3]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "n": self.name,
            "u": f"https://example.com{self.path}"
            + ("?utm_source=mail" if self.visitor % 4 == 0 else ""),
            "d": "example.com",
            "r": self.referrer,
            "p": {"n": str(self.n)},
        }
        if not self.interactive:
            body["i"] = False
        if self.engagement is not None:
            body["e"], body["sd"] = self.engagement
        return body


def _phases(rng: random.Random) -> list[list[Sent]]:
    """Per phase, every visitor's events; a visitor's page views in a phase share one page."""
    counter = iter(range(1, 1_000_000))
    phases: list[list[Sent]] = []
    for phase in range(PHASES):
        events: list[Sent] = []
        for visitor in range(VISITORS):
            if phase > 0 and visitor % 5 == phase:
                continue  # some visitors skip a phase (exit pages differ)
            if visitor % 7 == 3 and phase > 1:
                continue  # bounced visitors: one early phase only
            path = f"/{['home', 'blog', 'pricing', 'docs'][(visitor + phase) % 4]}/{visitor % 3}"
            views = 1 + (visitor + phase) % 2
            events.extend(Sent(next(counter), visitor, "pageview", path) for _ in range(views))
            if visitor % 3 == 1:
                events.append(
                    Sent(next(counter), visitor, "Signup", path, interactive=phase % 2 == 0)
                )
            if phase > 0 and visitor % 2 == 0:
                events.append(
                    Sent(
                        next(counter),
                        visitor,
                        "engagement",
                        path,
                        engagement=(1500 * phase, 20 * phase),
                    )
                )
        rng.shuffle(events)
        phases.append(events)
    return phases


def _send_phase(
    url: str, events: list[Sent], acked: set[int], kill: threading.Event | None
) -> None:
    """Sends a phase's events from CLIENTS threads, each on its own connections."""
    work: queue.Queue[Sent] = queue.Queue()
    for event in events:
        work.put(event)
    lock = threading.Lock()

    def client() -> None:
        http = httpx.Client(timeout=10)
        try:
            while True:
                try:
                    event = work.get_nowait()
                except queue.Empty:
                    return
                headers = {
                    "content-type": "text/plain",
                    "user-agent": event.ua,
                    "x-forwarded-for": event.ip,
                }
                try:
                    response = http.post(
                        f"{url}/api/event", content=json.dumps(event.body()), headers=headers
                    )
                except httpx.HTTPError:
                    http.close()  # the worker was killed: a new connection, maybe a new worker
                    http = httpx.Client(timeout=10)
                    continue
                if response.status_code == 202:
                    with lock:
                        acked.add(event.n)
                if kill is not None and work.qsize() < len(events) // 2:
                    kill.set()
        finally:
            http.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _stored(events_url: str) -> list[tuple[dt.datetime, int]]:
    """(timestamp, n) of every stored event, read from ClickHouse directly."""
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    store = ClickHouseEventStore(events_url, read_only=True)
    try:
        rows = store.query(
            "SELECT timestamp, props_values[indexOf(props_keys, 'n')] FROM events"
            " ORDER BY timestamp",
            [],
            timeout=30,
            tag="test",
        )
    finally:
        store.close()
    return [(at.replace(tzinfo=None) if at.tzinfo else at, int(n)) for at, n in rows]


def _questions(day: str) -> list[tuple[str, dict[str, Any]]]:
    period = {"period": "custom", "date": f"{day},{day}"}
    metrics = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events"
    asked: list[tuple[str, dict[str, Any]]] = [
        ("aggregate", {**period, "metrics": metrics}),
        (
            "timeseries",
            {"period": "day", "date": day, "metrics": "visitors,visits,pageviews,bounce_rate"},
        ),
    ]
    for prop in (
        "event:page",
        "visit:entry_page",
        "visit:exit_page",
        "visit:source",
        "visit:utm_source",
        "visit:country",
        "visit:browser",
        "visit:device",
        "event:name",
    ):
        chosen = (
            "visitors,events"
            if prop == "event:name"
            else "visitors,visits,pageviews,bounce_rate,visit_duration"
        )
        asked.append(("breakdown", {**period, "property": prop, "metrics": chosen}))
    return asked


def _v2(day: str) -> list[dict[str, Any]]:
    window = {"date_range": [day, day]}
    session = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
    return [
        {**window, "metrics": [*session, "views_per_visit", "events"]},
        {**window, "metrics": session, "dimensions": ["time:hour"]},
        {
            **window,
            "metrics": ["visitors", "pageviews", "scroll_depth"],
            "dimensions": ["event:page"],
        },
        {**window, "metrics": session, "dimensions": ["visit:entry_page", "visit:source"]},
        {**window, "metrics": ["visitors", "visits"], "filters": [["is", "visit:country", ["GB"]]]},
    ]


def _answers(client: httpx.Client, base: str, key: str, day: str) -> list[Any]:
    auth = {"authorization": f"Bearer {key}"}
    out: list[Any] = []
    for endpoint, params in _questions(day):
        response = client.get(
            f"{base}/api/v1/stats/{endpoint}",
            params={"site_id": "example.com", **params},
            headers=auth,
        )
        out.append((endpoint, params.get("property"), response.status_code, response.json()))
    for body in _v2(day):
        response = client.post(
            f"{base}/api/v2/query", json={"site_id": "example.com", **body}, headers=auth
        )
        answer = response.json()
        answer.pop("meta", None)
        out.append(("v2", body.get("dimensions"), response.status_code, answer))
    return out


def test_workers_killed_mid_burst_answer_as_one_duckdb_process(
    tmp_path: Path, cluster_env: dict[str, str]
) -> None:
    settings = load_settings({"database_url": cluster_env["FOOTFALL_DATABASE_URL"]}, environ={})
    meta = open_meta(settings.replace(data_dir=tmp_path / "meta-setup"))
    add_site(meta, domain="example.com", timezone="UTC")
    key = create_key(meta, name="reader", scopes=("stats:read",))[1]
    meta.dispose()
    env = {
        **cluster_env,
        "FOOTFALL_INGEST_RATE_LIMIT": "",
        "FOOTFALL_STATS_API_HOURLY_LIMIT": "1000000",
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    pool = start_workers(env, port, WORKERS, log)
    try:
        phases = _phases(random.Random(19))
        sent = {event.n: event for events in phases for event in events}
        acked: set[int] = set()
        killed: list[int] = []
        for number, events in enumerate(phases):
            kill = threading.Event() if number == KILL_IN_PHASE else None
            killer = None
            if kill is not None:

                def strike(kill: threading.Event = kill) -> None:
                    kill.wait(timeout=30)
                    victim = sorted(worker_pids(pool.pid))[1]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)

                killer = threading.Thread(target=strike)
                killer.start()
            _send_phase(url, events, acked, kill)
            if killer is not None:
                killer.join()
            time.sleep(1.1)  # the next phase's events are a later second
        assert killed, "no worker was killed"
        assert len(acked) > 0.8 * len(sent)

        # The killed worker comes back, replays its journal; every worker has applied its own.
        clients = reach_workers(url, WORKERS, timeout=120)
        assert killed[0] not in worker_pids(pool.pid)
        deadline = time.monotonic() + 120
        stored = _stored(env["FOOTFALL_EVENTS_URL"])
        while time.monotonic() < deadline:
            time.sleep(3)
            again = _stored(env["FOOTFALL_EVENTS_URL"])
            if len(again) == len(stored) and acked <= {n for _, n in again}:
                break
            stored = again
        numbers = [n for _, n in stored]
        assert len(numbers) == len(set(numbers)), "an event was stored twice"
        assert acked <= set(numbers), f"lost acknowledged events: {sorted(acked - set(numbers))}"
        assert set(numbers) <= set(sent)
        day = stored[0][0].date().isoformat()
        assert stored[-1][0].date().isoformat() == day, "the burst crossed midnight; run again"
        # Sessions are written a few seconds after their events, later on a busy machine: ask
        # until every worker gives the same answers twice in a row, each time after live
        # answers cached before the last write have expired.
        answers: dict[int, list[Any]] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(6)
            previous = answers
            answers = {index: _answers(client, url, key, day) for index, client in clients.items()}
            if answers == previous and len({json.dumps(a) for a in answers.values()}) == 1:
                break
        for client in clients.values():
            client.close()
    finally:
        pool.send_signal(signal.SIGTERM)
        pool.wait(timeout=60)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]

    reference_settings = load_settings(
        {
            "data_dir": tmp_path / "reference",
            "ingest_rate_limit": "",
            "stats_api_hourly_limit": 1_000_000,
        },
        environ={},
    )
    reference_meta = open_meta(reference_settings)
    add_site(reference_meta, domain="example.com", timezone="UTC")
    reference_key = create_key(reference_meta, name="reader", scopes=("stats:read",))[1]
    with serve(reference_settings, reference_key, now=stored[0][0]) as h:
        for at, n in stored:
            event = sent[n]
            h.clock.set(at.replace(tzinfo=dt.UTC))
            response = h.client.post(
                "/api/event",
                content=json.dumps(event.body()),
                headers={
                    "content-type": "text/plain",
                    "user-agent": event.ua,
                    "x-forwarded-for": event.ip,
                },
            )
            assert response.status_code == 202
            assert "x-plausible-dropped" not in response.headers
        h.flush(stored[-1][0] + dt.timedelta(minutes=1))
        expected = _answers(h.client, "", reference_key, day)  # type: ignore[arg-type]
    refused = [(q, dims, body) for q, dims, status, body in expected if status != 200]
    assert not refused, refused
    for index, got in answers.items():
        for mine, theirs in zip(expected, got, strict=True):
            assert theirs == mine, f"worker {index} answers {mine[0]} {mine[1]} differently"
