"""``footfall healthcheck``: ask a running server whether it is alive (or ready), for containers.

Slim container images have no curl or wget, so the image's ``HEALTHCHECK`` and any orchestrator
that runs a command as its probe call footfall itself. It asks ``/healthz`` (or ``/readyz`` with
``--ready``) of the server the settings describe, with the standard library only, and exits 0
on a 200 and 1 otherwise with one line that says why. It never reads secrets from Vault: a probe
every few seconds must not depend on, or load, the secret store.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import time
from urllib.parse import urlsplit

import click

from footfall.cli.common import handle_errors
from footfall.errors import FootfallError
from footfall.settings import load_settings


class ProbeFailed(FootfallError):
    """The server did not answer 200."""


def default_url(host: str, port: int, *, ready: bool) -> str:
    """The probe URL of a server listening on `host`:`port` (a wildcard host becomes loopback)."""
    target = host or "127.0.0.1"
    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        pass  # a host name
    else:
        if address.is_unspecified:  # listening on every interface: loopback is one of them
            target = "::1" if address.version == 6 else "127.0.0.1"
    if ":" in target:
        target = f"[{target}]"
    return f"http://{target}:{port}/{'readyz' if ready else 'healthz'}"


def probe(url: str, *, timeout: float) -> tuple[int, bytes]:
    """GETs `url` once; returns the status and up to 4 KiB of the body.

    Raises:
        ProbeFailed: The URL is not http(s), or the server cannot be reached in time.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeFailed(f"{url!r} is not an http:// or https:// URL")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"User-Agent": "footfall-healthcheck"})
        response = connection.getresponse()
        return response.status, response.read(4096)
    except (OSError, http.client.HTTPException) as exc:
        reason = str(exc) or exc.__class__.__name__
        raise ProbeFailed(f"{url} did not answer: {reason}") from None
    finally:
        connection.close()


def _failing_checks(body: bytes) -> str:
    """The names of the failing checks of a /readyz body, or an excerpt of any other body."""
    try:
        checks = json.loads(body).get("checks", {})
        failing = [name for name, check in checks.items() if not check.get("ok", True)]
    except (ValueError, AttributeError):
        return " ".join(body.decode("utf-8", "replace").split())[:200]
    return f"failing checks: {', '.join(failing)}" if failing else ""


@click.command()
@click.option(
    "--url",
    default=None,
    help="Probe this server (or this exact URL, when it has a path) instead of the one the "
    "settings describe (a wildcard FOOTFALL_HOST is probed on loopback).",
)
@click.option(
    "--ready", is_flag=True, help="Ask /readyz (ready for traffic) instead of /healthz (alive)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 300),
    default=3.0,
    show_default=True,
    help="Seconds to wait for the answer.",
)
@handle_errors
def healthcheck(url: str | None, ready: bool, timeout: float) -> None:
    """Probe a running server: exit 0 when it answers 200, 1 otherwise."""
    if url is None:
        settings = load_settings(vault=False)
        url = default_url(settings.host, settings.port, ready=ready)
    elif urlsplit(url).path in ("", "/"):
        url = url.rstrip("/") + ("/readyz" if ready else "/healthz")
    started = time.monotonic()
    status, body = probe(url, timeout=timeout)
    elapsed_ms = (time.monotonic() - started) * 1000
    if status != 200:
        detail = _failing_checks(body)
        raise ProbeFailed(f"{url} answered {status}" + (f" ({detail})" if detail else ""))
    click.echo(f"ok: {url} answered 200 in {elapsed_ms:.0f} ms")
