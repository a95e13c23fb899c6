"""footfall's tracker script: ``GET /js/script.js`` and its long-cacheable versioned URL.

The script (``static/tracker.js``) is served as written, by footfall itself. The plain URL is
cached briefly so that an upgrade reaches sites within minutes; the versioned URL,
``/js/script.<first 10 hex of the SHA-256 of the content>.js``, never changes meaning and is
cached for a year. Both carry an ETag and answer ``If-None-Match`` with 304.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import html
import importlib.resources
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

MEDIA_TYPE = "application/javascript; charset=utf-8"
SHORT_CACHE = "public, max-age=300"
IMMUTABLE = "public, max-age=31536000, immutable"
# Sites on any origin embed the script; `crossorigin` and SRI users need CORS to read it.
_SHARED_HEADERS = {
    "access-control-allow-origin": "*",
    "cross-origin-resource-policy": "cross-origin",
}
QUEUE_STUB = (
    "window.footfall=window.footfall||function(){"
    "(window.footfall.q=window.footfall.q||[]).push(arguments)};"
    "window.plausible=window.plausible||function(){"
    "(window.plausible.q=window.plausible.q||[]).push(arguments)};"
)


@dataclasses.dataclass(frozen=True)
class Script:
    """The tracker's bytes and the identifiers derived from them.

    Attributes:
        body: The script as served.
        version: The first 10 hex digits of the SHA-256 of `body`.
        etag: The quoted strong ETag (the version).
    """

    body: bytes
    version: str
    etag: str


@functools.cache
def script() -> Script:
    """The tracker script shipped with the package, read once."""
    body = importlib.resources.files("footfall.web").joinpath("static/tracker.js").read_bytes()
    version = hashlib.sha256(body).hexdigest()[:10]
    return Script(body=body, version=version, etag=f'"{version}"')


def tracker_url() -> str:
    """The versioned, long-cacheable path of the tracker, e.g. ``/js/script.0123456789.js``."""
    return f"/js/script.{script().version}.js"


def snippet(domain: str, base_url: str, *, versioned: bool = False) -> str:
    """The HTML a site owner pastes into their pages' ``<head>``.

    The script tag names ``/js/script.js`` by default: pasted HTML outlives upgrades, and the
    versioned URL answers 404 as soon as an upgrade changes the script. Pages that footfall
    itself renders, and so regenerates on upgrade, can ask for the versioned URL.

    Args:
        domain: The site's domain as registered in footfall (sent as ``data-domain``).
        base_url: footfall's public URL, e.g. ``https://stats.example.org`` or, behind a
            path prefix, ``https://example.org/stats``.
        versioned: Name the long-cacheable ``tracker_url()`` instead of ``/js/script.js``.

    Returns:
        A deferred script tag for the tracker, followed by a one-line inline script that
        queues ``footfall(...)`` and ``plausible(...)`` calls made before the tracker loads.
    """
    base = base_url.rstrip("/")
    attrs = f'defer data-domain="{html.escape(domain)}"'
    if urlsplit(base).path:
        # The script's default endpoint is its origin + /api/event, which misses a path prefix.
        attrs += f' data-api="{html.escape(base + "/api/event")}"'
    src = html.escape(base + (tracker_url() if versioned else "/js/script.js"))
    return f'<script {attrs} src="{src}"></script>\n<script>{QUEUE_STUB}</script>\n'


def _not_modified(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names `etag` (weak comparison, as RFC 9110)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def _answer(request: Request, cache_control: str) -> Response:
    current = script()
    headers = {**_SHARED_HEADERS, "cache-control": cache_control, "etag": current.etag}
    if _not_modified(request, current.etag):
        return Response(status_code=304, headers=headers)
    return Response(current.body, media_type=MEDIA_TYPE, headers=headers)


async def tracker_script(request: Request) -> Response:
    """``GET /js/script.js``: the tracker, cached for five minutes."""
    return _answer(request, SHORT_CACHE)


async def versioned_tracker_script(request: Request) -> Response:
    """``GET /js/script.<version>.js``: the tracker, cached for a year; 404 for another version.

    An old version is not kept: a page that still names one loads no tracker until its
    snippet is updated, which is better than serving a different script under that name.
    """
    if request.path_params["version"] != script().version:
        return PlainTextResponse("Not Found", status_code=404, headers=_SHARED_HEADERS)
    return _answer(request, IMMUTABLE)


ROUTES = [
    Route("/js/script.js", tracker_script, methods=["GET"]),
    Route("/js/script.{version}.js", versioned_tracker_script, methods=["GET"]),
]
