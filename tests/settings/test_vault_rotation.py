"""Rotating the secret key in Vault while footfall runs: no restart, nobody signed out.

A real `footfall serve` process reads its secret key from a real OpenBao server every 0.2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from footfall.errors import ConfigError
from footfall.jobs.secrets import run_secret_refresher
from footfall.security.signing import Signer
from footfall.services import Services
from footfall.settings import Settings
from footfall.settings.vault import VaultError
from footfall.web.app import create_app
from tests.conftest import CHROME_UA, FOOTFALL, PASSWORD, ServerProcess, csrf_of
from tests.services import free_port
from tests.vault_server import VaultServer

KEY_1, KEY_2, KEY_3 = (secrets.token_urlsafe(40) for _ in range(3))
EMAIL = "alice@example.com"


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _sign_in(url: str) -> str:
    """Signs in as EMAIL; returns the session cookie."""
    with httpx.Client(base_url=url, headers={"user-agent": CHROME_UA}, timeout=10) as client:
        page = client.get("/login")
        answer = client.post(
            "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
        )
        assert answer.status_code == 303, answer.text
        return client.cookies["footfall_session"]


def _signed_in(url: str, session: str) -> bool:
    answer = httpx.get(f"{url}/", cookies={"footfall_session": session}, timeout=10)
    return answer.status_code == 200


def _csrf_cookie(url: str) -> str:
    return httpx.get(f"{url}/login", timeout=10).cookies["footfall_csrf"]


@pytest.mark.slow
def test_a_key_rotated_in_vault_signs_at_once_and_the_old_one_still_verifies(
    vault: VaultServer, tmp_path: Path
) -> None:
    vault.put_secret({"secret_key": KEY_1})
    token_file = tmp_path / "vault-token"
    token_file.write_text(vault.token([vault.reader_policy()]))
    data_dir = tmp_path / "data"
    env = {
        "FOOTFALL_VAULT_ADDR": vault.addr,
        "FOOTFALL_VAULT_TOKEN_FILE": str(token_file),
        "FOOTFALL_VAULT_REFRESH_S": "0.2",
        "FOOTFALL_ENVIRONMENT": "production",
        "FOOTFALL_LOGIN_RATE_LIMIT": "",
    }
    added = subprocess.run(
        [*FOOTFALL, "user", "add", EMAIL, "--role", "admin", "--password-stdin"],
        input=f"{PASSWORD}\n",
        env={**os.environ, **env, "FOOTFALL_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    server = ServerProcess(data_dir=data_dir, port=free_port(), env=env)
    try:
        server.start()
        session = _sign_in(server.url)
        assert Signer(KEY_1).unsign("session", session) is not None

        vault.put_secret({"secret_key": KEY_2})  # rotate: nothing else is done
        _wait_for(
            lambda: Signer(KEY_2).unsign("csrf", _csrf_cookie(server.url)) is not None,
            "the new key to sign",
        )
        assert _signed_in(server.url, session)  # the old key verifies as a fallback
        assert Signer(KEY_2).unsign("session", _sign_in(server.url)) is not None

        # A leaked key is retired by deleting the versions that hold it.
        vault.api("POST", "secret/delete/footfall", {"versions": [1]})
        _wait_for(lambda: not _signed_in(server.url, session), "the deleted key to stop verifying")
    finally:
        server.stop()
    assert server.log is not None
    log = server.log.read_text()
    assert "secret_key, secret_key_fallbacks changed in the Vault secret secret/footfall" in log
    assert KEY_1 not in log and KEY_2 not in log


def test_a_refresh_changes_only_what_can_change_while_running(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.replace(secret_key=KEY_1, metrics_token="a" * 8)
    with TestClient(create_app(settings)) as client:
        services: Services = client.app.state.footfall  # type: ignore[attr-defined]
        signed = services.signer.sign("session", "token")
        with caplog.at_level(logging.INFO, logger="footfall.services"):
            changed = services.apply_secrets(
                {"secret_key": KEY_2, "secret_key_fallbacks": KEY_1, "redis_url": "redis://x/1"}
            )
        assert changed == ["secret_key", "secret_key_fallbacks"]
        assert services.signer.unsign("session", signed) == "token"
        assert Signer(KEY_2).unsign("session", services.signer.sign("session", "t")) == "t"
        assert services.settings.redis_url is None  # in use by connections: at the next start
        assert (
            "redis_url changed in the Vault secret; takes effect at the next start" in caplog.text
        )
        assert services.apply_secrets({"secret_key": KEY_2, "secret_key_fallbacks": KEY_1}) == []
        with pytest.raises(ConfigError, match="field secret_key: a secret key needs"):
            services.apply_secrets({"secret_key": "short"})
        assert services.settings.secret_key == KEY_2
        assert services.apply_secrets({"metrics_token": KEY_3}) == ["metrics_token"]
        metrics = client.get("/metrics", headers={"authorization": f"Bearer {KEY_3}"})
        assert metrics.status_code == 200


def test_the_refresher_keeps_going_through_failures_and_logs_them_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reads: list[int] = []
    applied: list[Mapping[str, str]] = []

    def read() -> Mapping[str, str]:
        reads.append(1)
        if len(reads) <= 3:
            raise VaultError("cannot read secret/footfall from Vault at http://127.0.0.1:1: down")
        return {"secret_key": KEY_1}

    async def run_a_while() -> None:
        task = asyncio.create_task(run_secret_refresher(read, applied.append, 0.01))
        while not applied:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.WARNING, logger="footfall.jobs.secrets"):
        asyncio.run(run_a_while())
    assert applied[0] == {"secret_key": KEY_1}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # three failures, one line (at most every five minutes)
    assert warnings[0].startswith("reading the secrets again failed (cannot read secret/footfall")
