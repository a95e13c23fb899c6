"""API keys' last use: recorded without a write on the request path, written in batches."""

from __future__ import annotations

from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta.keys import create_key, list_keys
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.web.app import create_app


def test_a_key_used_over_http_shows_its_last_use_once_written(
    settings: Settings, clock: FixedClock
) -> None:
    meta = open_meta(settings)
    _, secret = create_key(meta, name="reader", scopes=("stats:read",))
    with TestClient(create_app(settings, clock=clock)) as client:
        answer = client.get(
            "/api/v1/stats/realtime/visitors",
            params={"site_id": "example.com"},
            headers={"authorization": f"Bearer {secret}"},
        )
        assert answer.status_code == 200
        assert client.app.state.footfall.key_usage  # type: ignore[attr-defined]
    # Stopping the server writes what was pending.
    (key,) = list_keys(meta)
    assert key.last_used_at == clock.now()
