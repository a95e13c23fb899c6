"""The hardening probes as commands: what one hostile request costs a real server.

Usage::

    python bench/hardening_probes.py            # every probe
    python bench/hardening_probes.py range body

Starts ``footfall serve`` on a free loopback port with a fresh data directory, then for each
probe sends its request and reports the answer, the wall time and the server's RSS growth
(VmRSS before, VmHWM after: the peak while it answered). Prints a Markdown table.

* ``range``: a shared dashboard, the v1 timeseries and a v2 time series over 0001-01-01 to
  9999-12-31 (each answered or refused; target < 1 s and < 50 MB RSS growth).
* ``body``: a 200 MB chunked form to ``/login`` and a 200 MB chunked ``/api/v2/query``
  (refused with 413; target < 20 MB RSS growth).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from ingest_http import start_footfall, stop_process

FOOTFALL = [sys.executable, "-m", "footfall"]
DOMAIN = "probe.example"
ALL_TIME = "0001-01-01,9999-12-31"
MB = 1024 * 1024


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _chunks(total: int, size: int = MB) -> Iterator[bytes]:
    sent = 0
    piece = b"a" * size
    while sent < total:
        sent += size
        yield piece


def _ff(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [*FOOTFALL, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def _measure(pid: int, name: str, send: Callable[[], httpx.Response]) -> dict[str, str]:
    before = _status(pid, "VmRSS")
    _reset_peak(pid)
    started = time.perf_counter()
    try:
        answer = send()
        status = str(answer.status_code)
    except httpx.HTTPError as exc:
        status = f"{type(exc).__name__}"
    seconds = time.perf_counter() - started
    grown = max(0, _status(pid, "VmHWM") - before)
    return {
        "probe": name,
        "status": status,
        "seconds": f"{seconds:.2f}",
        "rss_growth_mb": f"{grown / MB:.1f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probes", nargs="*", help="range, body (default: both)")
    args = parser.parse_args()
    args.probes = args.probes or ["range", "body"]
    if set(args.probes) - {"range", "body"}:
        parser.error("probes are: range, body")
    rows: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="footfall-probe-") as tmp:
        data = Path(tmp) / "data"
        _ff(data, "site", "add", DOMAIN)
        key = _ff(data, "key", "create", "--name", "probe", "--scope", "admin")
        server, url = start_footfall(FOOTFALL, data, Path(tmp) / "server.log", cpu=None)
        try:
            slug = _link(data)
            auth = {"authorization": f"Bearer {key}"}
            with httpx.Client(base_url=url, timeout=120) as http:
                pid = server.pid
                if "range" in args.probes:
                    rows.append(
                        _measure(
                            pid,
                            "shared dashboard, 0001-9999",
                            lambda: http.get(
                                f"/share/{slug}", params={"period": "custom", "date": ALL_TIME}
                            ),
                        )
                    )
                    rows.append(
                        _measure(
                            pid,
                            "v1 timeseries, 0001-9999",
                            lambda: http.get(
                                "/api/v1/stats/timeseries",
                                params={"site_id": DOMAIN, "period": "custom", "date": ALL_TIME},
                                headers=auth,
                            ),
                        )
                    )
                    rows.append(
                        _measure(
                            pid,
                            "v2 time:hour, 0001-9999",
                            lambda: http.post(
                                "/api/v2/query",
                                json={
                                    "site_id": DOMAIN,
                                    "metrics": ["visitors"],
                                    "date_range": ["0001-01-01", "9999-12-31"],
                                    "dimensions": ["time:hour"],
                                },
                                headers=auth,
                            ),
                        )
                    )
                if "body" in args.probes:
                    rows.append(
                        _measure(
                            pid,
                            "200 MB chunked form to /login",
                            lambda: http.post(
                                "/login",
                                content=_chunks(200 * MB),
                                headers={"content-type": "application/x-www-form-urlencoded"},
                            ),
                        )
                    )
                    rows.append(
                        _measure(
                            pid,
                            "200 MB chunked /api/v2/query",
                            lambda: http.post(
                                "/api/v2/query",
                                content=_chunks(200 * MB),
                                headers={**auth, "content-type": "application/json"},
                            ),
                        )
                    )
        finally:
            stop_process(server)
    print("| probe | status | seconds | RSS growth (MB) |")
    print("| --- | --- | ---: | ---: |")
    for row in rows:
        print(f"| {row['probe']} | {row['status']} | {row['seconds']} | {row['rss_growth_mb']} |")


def _link(data: Path) -> str:
    """A public shared link of the probe site, made through the metadata functions."""
    from footfall.meta.shared_links import create_link
    from footfall.services import open_meta
    from footfall.settings import load_settings

    meta = open_meta(load_settings({"data_dir": data}))
    try:
        return create_link(meta, DOMAIN, name="probe").slug
    finally:
        meta.dispose()


if __name__ == "__main__":
    main()
