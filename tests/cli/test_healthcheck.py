"""`footfall healthcheck`, and the image's own commands run against a real server.

The container image's ENTRYPOINT, CMD and HEALTHCHECK are read from the Dockerfile and run here
as they are, with the image's FOOTFALL_* environment (the address moved to a free loopback
port), so that what the image runs is proved even where no container can be built.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.cli.healthcheck import default_url
from tests.conftest import FOOTFALL
from tests.services import free_port

ROOT = Path(__file__).parents[2]


def _instructions() -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the runtime stage of the Dockerfile, continuations joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    stages = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    for line in lines[stages[-1] :]:
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


def image_commands() -> tuple[list[str], list[str], dict[str, str]]:
    """The image's ENTRYPOINT + CMD, its HEALTHCHECK command, and its FOOTFALL_* environment."""
    found: dict[str, str] = {}
    env: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "ENV":
            env.update(
                (k, v)
                for k, _, v in (p.partition("=") for p in shlex.split(rest))
                if k.startswith("FOOTFALL_")
            )
        elif word in ("ENTRYPOINT", "CMD", "HEALTHCHECK"):
            found[word] = rest
    health = found["HEALTHCHECK"].split(" CMD ", 1)[1]
    run = json.loads(found["ENTRYPOINT"]) + json.loads(found["CMD"])
    return run, json.loads(health), env


def _here(command: list[str]) -> list[str]:
    """`command` with the image's `footfall` replaced by this interpreter's."""
    assert command[0] == "footfall"
    return [*FOOTFALL, *command[1:]]


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _here(command), env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_probe_url_of_a_wildcard_address_is_loopback() -> None:
    assert default_url("0.0.0.0", 8000, ready=False) == "http://127.0.0.1:8000/healthz"
    assert default_url("::", 80, ready=True) == "http://[::1]:80/readyz"
    assert default_url("10.1.2.3", 9000, ready=False) == "http://10.1.2.3:9000/healthz"


def test_the_image_runs_footfall_serve_and_probes_it_with_footfall_itself() -> None:
    run, health, image_env = image_commands()
    assert run == ["footfall", "serve"]
    assert health == ["footfall", "healthcheck"]
    assert image_env == {
        "FOOTFALL_HOST": "0.0.0.0",
        "FOOTFALL_PORT": "8000",
        "FOOTFALL_DATA_DIR": "/data",
    }


@pytest.mark.slow
def test_the_image_commands_against_a_real_server(tmp_path: Path) -> None:
    run, health, image_env = image_commands()
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    env = {
        **base,
        **image_env,
        # As in the image, but on a free loopback port and a temp dir; the image listens on
        # every interface, which makes it production: a key is required.
        "FOOTFALL_HOST": "127.0.0.1",
        "FOOTFALL_PORT": str(free_port()),
        "FOOTFALL_DATA_DIR": str(tmp_path / "data"),
        "FOOTFALL_ENVIRONMENT": "production",
        "FOOTFALL_SECRET_KEY": secrets.token_urlsafe(48),
    }
    assert _run(health, env).returncode == 1  # nothing listens yet
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(_here(run), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while (probe := _run(health, env)).returncode != 0:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, probe.stderr
            time.sleep(0.2)
        assert probe.stdout.startswith(f"ok: http://127.0.0.1:{env['FOOTFALL_PORT']}/healthz")
        ready = _run([*health, "--ready"], env)
        assert ready.returncode == 0, ready.stderr
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert "event store flushed and closed" in log.read_text()
    gone = _run(health, env)
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: http://127.0.0.1:") and "did not answer" in gone.stderr


@pytest.mark.slow
def test_an_unready_server_is_alive_but_not_ready(tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    env = {**base, "FOOTFALL_PORT": str(port), "FOOTFALL_DATA_DIR": str(tmp_path / "data")}
    # More free disk than any machine has: the disk check of /readyz fails.
    serve_env = {**env, "FOOTFALL_MIN_FREE_DISK_MB": str(2**40)}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*FOOTFALL, "serve"], env=serve_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while _run(["footfall", "healthcheck"], env).returncode != 0:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        unready = _run(["footfall", "healthcheck", "--ready"], env)
        assert unready.returncode == 1
        assert unready.stderr.strip() == (
            f"error: http://127.0.0.1:{port}/readyz answered 503 (failing checks: disk)"
        )
        explicit = _run(
            ["footfall", "healthcheck", "--url", f"http://127.0.0.1:{port}/", "--timeout", "5"], env
        )
        assert explicit.returncode == 0 and f"{port}/healthz answered 200" in explicit.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_bad_url_is_a_usage_failure() -> None:
    result = subprocess.run(
        [*FOOTFALL, "healthcheck", "--url", "ftp://example.net/"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: 'ftp://example.net/healthz' is not an http:// or https:// URL"
    )
