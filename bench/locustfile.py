"""`footfall loadtest`'s dashboard users for Locust, for people who prefer its web UI or reports.

Run it as its own process (Locust patches the standard library's networking on import)::

    FOOTFALL_API_KEY=... FOOTFALL_SITE=example.com \\
        locust -f bench/locustfile.py --host http://127.0.0.1:8000 --headless -u 10 -r 5 -t 30s

Environment:
    FOOTFALL_API_KEY: An API key with the stats:read scope (required).
    FOOTFALL_SITE: The domain of the site to query (required).
    FOOTFALL_THINK_MS: Mean think time between a user's queries, exponential (default 1000).
    FOOTFALL_SEED: Seed of the users' query choices (default 0).
    FOOTFALL_INGEST_RATE: Events per second one extra user sends to POST /api/event (default 0:
        none; one user sends one event at a time, so a few hundred per second at most).

The queries, their weights and the events come from `footfall.devtools.loadtest.mix`, the same as
`footfall loadtest`; requests are named by endpoint, as the rows of its report.
"""

from __future__ import annotations

import itertools
import os
import random

from locust import HttpUser, constant_throughput, task

from footfall.devtools.loadtest.mix import EVENT, EventFactory, QueryMix, think_seconds

KEY = os.environ.get("FOOTFALL_API_KEY", "")
SITE = os.environ.get("FOOTFALL_SITE", "")
THINK_MS = float(os.environ.get("FOOTFALL_THINK_MS", "1000"))
SEED = int(os.environ.get("FOOTFALL_SEED", "0"))
INGEST_RATE = float(os.environ.get("FOOTFALL_INGEST_RATE", "0"))
if not KEY or not SITE:
    raise SystemExit("set FOOTFALL_API_KEY and FOOTFALL_SITE")

MIX = QueryMix(SITE)
_numbers = itertools.count()


class DashboardUser(HttpUser):
    """Sends a query drawn from the dashboard mix, then thinks."""

    def on_start(self) -> None:
        self.rng = random.Random(f"{SEED}:user:{next(_numbers)}")

    def wait_time(self) -> float:
        return think_seconds(self.rng, THINK_MS)

    @task
    def query(self) -> None:
        item = MIX.pick(self.rng)
        self.client.request(
            item.method,
            item.path,
            params=dict(item.params),
            json=dict(item.body) if item.body is not None else None,
            headers={"Authorization": f"Bearer {KEY}"},
            name=item.path,
        )


if INGEST_RATE > 0:

    class IngestUser(HttpUser):
        """One user sending tracker events at FOOTFALL_INGEST_RATE per second."""

        fixed_count = 1
        wait_time = constant_throughput(INGEST_RATE)

        def on_start(self) -> None:
            self.events = EventFactory(SITE, random.Random(f"{SEED}:ingest"))

        @task
        def event(self) -> None:
            body, headers = self.events.next()
            self.client.post(EVENT, data=body, headers=headers, name=EVENT)
