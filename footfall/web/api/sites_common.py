"""What every Sites API endpoint shares: parameters, keys and rights, sites, cursor pages.

Parameters come from the query string and the body (a JSON object or form-encoded), body
values winning, as Phoenix merges them for Plausible. Errors are ``{"error": message}``.
Plausible's messages and statuses are kept (`extra/lib/plausible_web/controllers/api/
external_sites_controller.ex`), except that a key lacking the scope an operation needs gets a
403 naming it, where Plausible answers 401.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from footfall.errors import NotFoundError
from footfall.meta.access import Rights
from footfall.meta.keys import ApiKey
from footfall.meta.sites import Site, get_site
from footfall.services import Services
from footfall.web.api.auth import ApiError, authorize_key
from footfall.web.bodies import SITES_API_BYTES, BodyTooLarge, read_body

SITE_NOT_FOUND = "Site could not be found"
# Plausible's wording for the Sites API, which names no site (`authorize_public_api.ex`).
INVALID_SITES_KEY = (
    "Invalid API key. Please make sure you're using a valid API key with access to the "
    "resource you've requested."
)
NO_WRITE_SCOPE = "This API key lacks the sites:write scope."
NO_READ_SCOPE = "This API key lacks the stats:read or sites:write scope."
# A Sites API request is a handful of short fields; anything larger is not one.
MAX_BODY_BYTES = SITES_API_BYTES
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

T = TypeVar("T")


async def _read_body(request: Request) -> bytes:
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge as exc:
        raise ApiError(str(exc), 413) from None


async def request_params(request: Request) -> dict[str, Any]:
    """Query parameters merged with the body's (JSON object or form-encoded).

    Raises:
        ApiError: 400 for a malformed body, 413 for a large one, 415 for another type.
    """
    params: dict[str, Any] = dict(request.query_params)
    body = await _read_body(request)
    if not body.strip():
        return params
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError("the request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise ApiError("the request body must be a JSON object")
        params.update(data)
    elif content_type in ("", "application/x-www-form-urlencoded"):
        try:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise ApiError("the request body is not UTF-8") from exc
    else:
        raise ApiError(
            f"unsupported content type {content_type}: send a JSON object or form-encoded "
            "parameters",
            415,
        )
    return params


def text_param(params: Mapping[str, Any], name: str) -> str | None:
    """A string parameter; None when absent or null.

    Raises:
        ApiError: 400 when it is present but not a string.
    """
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ApiError(f"Parameter `{name}` must be a string")


def required(params: Mapping[str, Any], name: str, purpose: str) -> str:
    """A parameter that must be present, or Plausible's 400 naming it and `purpose`."""
    value = text_param(params, name)
    if value is None or value == "":
        raise ApiError(f"Parameter `{name}` is required to {purpose}")
    return value


async def reader(request: Request) -> tuple[ApiKey, Rights]:
    """The request's key, which may read (``stats:read`` or ``sites:write``), and its rights.

    Raises:
        ApiError: 401 for a missing or unknown key, 403 for one without either scope.
    """
    return await authorize_key(
        request,
        ("stats:read", "sites:write"),
        lacking_scope=ApiError(NO_READ_SCOPE, 403),
        invalid=INVALID_SITES_KEY,
    )


async def writer(request: Request) -> tuple[ApiKey, Rights]:
    """The request's key, which holds ``sites:write``, and its rights.

    Raises:
        ApiError: 401 for a missing or unknown key, 403 for one without the scope.
    """
    return await authorize_key(
        request,
        "sites:write",
        lacking_scope=ApiError(NO_WRITE_SCOPE, 403),
        invalid=INVALID_SITES_KEY,
    )


async def find_site(request: Request, domain: str, rights: Rights) -> Site:
    """The site named `domain` (or renamed from it), if `rights` reach it.

    Raises:
        ApiError: 404 ``Site could not be found``, for an unknown site as for one out of reach.
    """
    state: Services = request.app.state.footfall
    try:
        site = await asyncio.to_thread(get_site, state.meta, domain)
    except NotFoundError:
        raise ApiError(SITE_NOT_FOUND, 404) from None
    if not rights.reaches(site.id):
        raise ApiError(SITE_NOT_FOUND, 404)
    return site


# -- cursor pagination -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursors:
    """The paging parameters of a list request."""

    limit: int
    after: tuple[int, ...] | None
    before: tuple[int, ...] | None


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(f"Parameter `limit` must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def _cursor(value: str | None, name: str, width: int) -> tuple[int, ...] | None:
    if value is None:
        return None
    parts = value.split(".")
    if len(parts) != width or not all(
        p.isascii() and p.isdigit() and 0 < len(p) <= 18 for p in parts
    ):
        raise ApiError(f"Parameter `{name}` is not a cursor this API returned")
    return tuple(int(p) for p in parts)


def cursors(query: Mapping[str, str], *, width: int = 1) -> Cursors:
    """``limit`` (1 to 1000, default 100), ``after`` and ``before`` of a list request.

    Args:
        query: The query parameters.
        width: How many numbers a cursor of this list holds.

    Raises:
        ApiError: 400 for a bad limit or cursor, or both cursors at once.
    """
    limit = _limit(query.get("limit"))
    after = _cursor(query.get("after"), "after", width)
    before = _cursor(query.get("before"), "before", width)
    if after is not None and before is not None:
        raise ApiError("give only one of the parameters `after` and `before`")
    return Cursors(limit, after, before)


def page(
    items: Sequence[T], key: Callable[[T], tuple[int, ...]], paging: Cursors
) -> tuple[list[T], dict[str, Any]]:
    """One page of `items` (sorted by `key`, descending) and Plausible's ``meta``.

    A cursor is the key of the page's boundary item, its numbers joined by dots: opaque to a
    client that passes ``meta.after`` or ``meta.before`` back unchanged.
    """
    if paging.after is not None:
        after = paging.after
        chosen = [item for item in items if key(item) < after][: paging.limit]
    elif paging.before is not None:
        before = paging.before
        chosen = [item for item in items if key(item) > before][-paging.limit :]
    else:
        chosen = list(items[: paging.limit])
    more_after = bool(chosen) and key(items[-1]) < key(chosen[-1])
    more_before = bool(chosen) and key(items[0]) > key(chosen[0])

    def text(item: T) -> str:
        return ".".join(str(n) for n in key(item))

    meta = {
        "after": text(chosen[-1]) if more_after else None,
        "before": text(chosen[0]) if more_before else None,
        "limit": paging.limit,
    }
    return chosen, meta
