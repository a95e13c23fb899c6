"""The container image, built and run for real (opt-in: it needs root, docker.io and debootstrap).

No registry of base images is assumed: a Debian base with python3 is made with debootstrap and
`docker import`, and the Dockerfile is built FROM it (its PYTHON_IMAGE argument), installing
footfall from a wheelhouse made on the host (`pip wheel`), since pip inside a build may not
reach a package index. Containers use the host network only (`--network host`, `dockerd
--bridge=none`): nothing is sent to a private address range. The test starts its own dockerd on
a socket in a temp dir and stops it by PID.

Set FOOTFALL_IMAGE_TEST=1 to run it (a few minutes the first time; the base file system and the
wheelhouse are kept in FOOTFALL_IMAGE_CACHE, by default a folder of the temp dir, for later
runs). FOOTFALL_DEBIAN_MIRROR overrides the mirror debootstrap uses (by default the one apt is
configured with).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services import free_port, require_binary, unavailable

ROOT = Path(__file__).parents[2]
BASE_IMAGE = "local/footfall-base:bookworm"
IMAGE = "footfall:image-test"

pytestmark = pytest.mark.slow


def _mirror() -> str:
    if os.environ.get("FOOTFALL_DEBIAN_MIRROR"):
        return os.environ["FOOTFALL_DEBIAN_MIRROR"]
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for source in sources:
        text = source.read_text(errors="replace") if source.is_file() else ""
        for url in re.findall(r"(https?://\S+/debian)/?(?:\s|$)", text):
            return str(url)
    return "http://deb.debian.org/debian"


def _cache() -> Path:
    default = Path(tempfile.gettempdir()) / "footfall-image-cache"
    path = Path(os.environ.get("FOOTFALL_IMAGE_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(*args: str, timeout: float = 600, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"{' '.join(args[:4])} failed:\n{output}"
    return result  # type: ignore[no-any-return]


def _base_rootfs(cache: Path) -> Path:
    """A tar of a minimal Debian bookworm with python3 and its venv module (made once)."""
    tar = cache / "debian-bookworm-python3.tar"
    if tar.exists():
        return tar
    debootstrap = require_binary("debootstrap", also_in=[Path("/usr/sbin")])
    root = cache / "rootfs"
    shutil.rmtree(root, ignore_errors=True)
    _run(
        debootstrap,
        "--variant=minbase",
        "--include=python3,python3-venv",
        "bookworm",
        str(root),
        _mirror(),
        timeout=1200,
    )
    partial = tar.with_suffix(".partial")
    _run("tar", "-C", str(root), "-cf", str(partial), ".", timeout=600)
    partial.rename(tar)
    shutil.rmtree(root, ignore_errors=True)
    return tar


def _wheelhouse(cache: Path) -> Path:
    """Wheels of footfall's dependencies and build backend, made on the host (kept)."""
    wheels = cache / "wheelhouse"
    stamp = wheels / ".complete-2"
    if not stamp.exists():
        _run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "-w",
            str(wheels),
            f"{ROOT}[postgres,vault]",
            "setuptools>=69",
            "wheel",
            # Debian's Python is 3.11.2, where redis needs it (this interpreter may be newer).
            "async-timeout>=4.0.3",
            timeout=1800,
        )
        stamp.touch()
    for old in wheels.glob("footfall-*.whl"):
        old.unlink()  # footfall itself is built from the sources in the image
    return wheels


@pytest.fixture
def docker(tmp_path: Path) -> Iterator[list[str]]:
    """`docker` on the socket of a dockerd started for this test (host and none networks only)."""
    if os.environ.get("FOOTFALL_IMAGE_TEST") != "1":
        pytest.skip("builds and runs the container image: set FOOTFALL_IMAGE_TEST=1 (root only)")
    if os.geteuid() != 0:
        unavailable("building the image needs root (dockerd)")
    dockerd = require_binary("dockerd")
    client = require_binary("docker")
    state = Path(tempfile.mkdtemp(prefix="ff-dockerd-"))  # short: the socket path has a limit
    sock = state / "docker.sock"
    log = (tmp_path / "dockerd.log").open("wb")
    daemon = subprocess.Popen(
        [
            dockerd,
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--data-root",
            str(state / "data"),
            "--exec-root",
            str(state / "exec"),
            "--pidfile",
            str(state / "dockerd.pid"),
            "--host",
            f"unix://{sock}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    command = [client, "--host", f"unix://{sock}"]
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([*command, "info"], capture_output=True, check=False).returncode:
            if daemon.poll() is not None or time.monotonic() > deadline:
                unavailable(
                    f"dockerd did not start: {(tmp_path / 'dockerd.log').read_text()[-1500:]}"
                )
            time.sleep(0.5)
        yield command
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        # dockerd leaves its network namespace mounted under its exec root.
        mounts = Path("/proc/mounts").read_text().split("\n")
        for mount in sorted({m.split()[1] for m in mounts if f" {state}/" in m}, reverse=True):
            subprocess.run(["umount", mount], capture_output=True, check=False)
        shutil.rmtree(state, ignore_errors=True)


def test_the_image_builds_runs_as_non_root_answers_and_stops_cleanly(
    docker: list[str], tmp_path: Path
) -> None:
    cache = _cache()
    rootfs = _base_rootfs(cache)
    with rootfs.open("rb") as tar:
        _run(*docker, "import", "-", BASE_IMAGE, stdin=tar)
    context = tmp_path / "context"
    context.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, context / name)
    shutil.copytree(ROOT / "footfall", context / "footfall")
    shutil.copytree(_wheelhouse(cache), context / "wheelhouse")
    started = time.monotonic()
    _run(
        *docker,
        "build",
        "--network",
        "host",
        "--build-arg",
        f"PYTHON_IMAGE={BASE_IMAGE}",
        "--build-arg",
        "PIP_OPTIONS=--no-index --find-links /src/wheelhouse",
        "-t",
        IMAGE,
        str(context),
        timeout=1800,
    )
    build_seconds = time.monotonic() - started
    port = free_port()
    container = _run(
        *docker,
        "run",
        "-d",
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--health-interval",
        "2s",
        "-e",
        "FOOTFALL_HOST=127.0.0.1",
        "-e",
        f"FOOTFALL_PORT={port}",
        "-e",
        f"FOOTFALL_SECRET_KEY={secrets.token_urlsafe(48)}",
        "-e",
        "FOOTFALL_ENVIRONMENT=production",
        IMAGE,
    ).stdout.strip()
    try:
        deadline = time.monotonic() + 120
        while True:
            health = _run(
                *docker, "inspect", "-f", "{{.State.Health.Status}}", container
            ).stdout.strip()
            if health == "healthy":
                break
            logs = subprocess.run([*docker, "logs", container], capture_output=True, text=True)
            assert health != "unhealthy" and time.monotonic() < deadline, logs.stderr[-2000:]
            time.sleep(1)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        user = _run(*docker, "exec", container, "id", "-u").stdout.strip()
        assert user == "10001"
        touched = subprocess.run(
            [*docker, "exec", container, "touch", "/opt/footfall/x"], capture_output=True
        )
        assert touched.returncode != 0  # read-only root file system; only /data and /tmp
        labels = _run(
            *docker,
            "inspect",
            "-f",
            '{{index .Config.Labels "org.opencontainers.image.title"}}',
            IMAGE,
        ).stdout.strip()
        assert labels == "footfall"
        _run(*docker, "stop", "-t", "30", container, timeout=60)
        logs = _run(*docker, "logs", container).stderr
        assert "event store flushed and closed" in logs
        size = int(_run(*docker, "image", "inspect", "-f", "{{.Size}}", IMAGE).stdout)
        print(f"image built in {build_seconds:.0f} s, {size / 2**20:.0f} MiB")
    finally:
        subprocess.run([*docker, "rm", "-f", container], capture_output=True, check=False)
