"""Plausible's Sites API goal endpoints: list, find-or-create and delete a site's goals.

``PUT`` and ``GET /api/v1/sites/goals``, ``DELETE /api/v1/sites/goals/{goal_id}``. Parameters
come from the query string and the body (a JSON object or form-encoded), body values winning,
as Phoenix merges them for Plausible. Errors are ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.access import Rights
from footfall.meta.goals import Goal, add_goal, delete_goal, list_goals
from footfall.meta.sites import Site
from footfall.services import Services
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError, authorize_key, resolve_site
from footfall.web.bodies import SITES_API_BYTES, BodyTooLarge, read_body

GOAL_NOT_FOUND = "Goal could not be found"
SITE_NOT_FOUND = "Site could not be found"
NO_WRITE_SCOPE = "This API key lacks the sites:write scope."
NO_READ_SCOPE = "This API key lacks the stats:read or sites:write scope."
# A goal is a handful of short fields; anything larger is not a goal request.
MAX_BODY_BYTES = SITES_API_BYTES
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def goal_json(goal: Goal) -> dict[str, Any]:
    """A goal as the Sites API shows it."""
    return {
        "id": goal.id,
        "display_name": goal.display_name,
        "goal_type": goal.kind,
        "event_name": goal.event_name,
        "page_path": goal.page_path,
    }


async def _read_body(request: Request) -> bytes:
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge as exc:
        raise ApiError(str(exc), 413) from None


async def _params(request: Request) -> dict[str, Any]:
    """Query parameters merged with the body's (JSON object or form-encoded)."""
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


def _text(params: Mapping[str, Any], name: str) -> str | None:
    """A string parameter; None when absent or null."""
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ApiError(f"Parameter `{name}` must be a string")


async def _site(request: Request, domain: str, rights: Rights) -> Site:
    try:
        return await resolve_site(request, domain, rights)
    except ApiError as exc:
        # resolve_site answers like the Stats API (401); Plausible's Sites API says 404, for a
        # site out of the key's reach as for one that does not exist.
        raise ApiError(SITE_NOT_FOUND, 404) from exc


async def _authorize_reader(request: Request) -> Rights:
    """Lets through a key with either scope that may read goals; returns its rights."""
    _, rights = await authorize_key(
        request, ("stats:read", "sites:write"), lacking_scope=ApiError(NO_READ_SCOPE, 403)
    )
    return rights


async def put_goal(request: Request) -> Response:
    """Finds or creates a goal.

    Parameters: ``site_id``, ``goal_type`` (``event`` or ``page``), ``event_name`` or
    ``page_path``, and optionally ``display_name`` and ``custom_props`` (a JSON object).
    """
    state: Services = request.app.state.footfall
    try:
        key, rights = await authorize_key(
            request, "sites:write", lacking_scope=ApiError(NO_WRITE_SCOPE, 403)
        )
        params = await _params(request)
        domain = _text(params, "site_id")
        if not domain:
            raise ApiError("Parameter `site_id` is required to create a goal")
        goal_type = _text(params, "goal_type")
        if not goal_type:
            raise ApiError("Parameter `goal_type` is required to create a goal")
        if goal_type not in ("event", "page"):
            raise ApiError("Parameter `goal_type` must be `event` or `page`")
        field, other = (
            ("event_name", "page_path") if goal_type == "event" else ("page_path", "event_name")
        )
        target = _text(params, field)
        if target is None:
            raise ApiError(f"Parameter `{field}` is required to create a goal")
        # A form sends the other type's field empty: that is no value, not a second target.
        values = {field: target, other: _text(params, other) or None}
        display_name = _text(params, "display_name") or None
        custom_props = params.get("custom_props")
        if custom_props is not None and not isinstance(custom_props, dict):
            raise ApiError("Parameter `custom_props` must be a JSON object")
        site = await _site(request, domain, rights)
        goal = await asyncio.to_thread(
            add_goal,
            state.meta,
            site.id,
            event_name=values["event_name"],
            page_path=values["page_path"],
            display_name=display_name,
            custom_props=custom_props,
            actor=request_actor(request, key),
        )
    except ApiError as exc:
        return exc.response()
    except (InvalidInputError, ConflictError) as exc:
        return ApiError(str(exc)).response()
    except NotFoundError:
        # The site was deleted while the goal was being added.
        return ApiError(SITE_NOT_FOUND, 404).response()
    # Plausible's answer here also names the site and the goal's custom properties.
    return JSONResponse(
        {"domain": site.domain, **goal_json(goal), "custom_props": dict(goal.custom_props)}
    )


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(f"Parameter `limit` must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def _cursor(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise ApiError(f"Parameter `{name}` is not a cursor this API returned")
    return int(value)


def _page(
    goals: list[Goal], limit: int, after: int | None, before: int | None
) -> tuple[list[Goal], dict[str, Any]]:
    """One page of `goals` (newest first) and Plausible's pagination meta; cursors are ids."""
    if after is not None:
        page = [g for g in goals if g.id < after][:limit]
    elif before is not None:
        page = [g for g in goals if g.id > before][-limit:]
    else:
        page = goals[:limit]
    more_after = bool(page) and goals[-1].id < page[-1].id
    more_before = bool(page) and goals[0].id > page[0].id
    meta = {
        "after": str(page[-1].id) if more_after else None,
        "before": str(page[0].id) if more_before else None,
        "limit": limit,
    }
    return page, meta


async def list_site_goals(request: Request) -> Response:
    """The goals of ``site_id``, newest first, in pages of ``limit`` (100)."""
    state: Services = request.app.state.footfall
    query = request.query_params
    try:
        rights = await _authorize_reader(request)
        domain = query.get("site_id")
        if not domain:
            raise ApiError("Parameter `site_id` is required to list goals")
        limit = _limit(query.get("limit"))
        after = _cursor(query.get("after"), "after")
        before = _cursor(query.get("before"), "before")
        if after is not None and before is not None:
            raise ApiError("give only one of the parameters `after` and `before`")
        site = await _site(request, domain, rights)
    except ApiError as exc:
        return exc.response()
    goals = await asyncio.to_thread(list_goals, state.meta, site.id)
    goals.reverse()
    page, meta = _page(goals, limit, after, before)
    return JSONResponse({"goals": [goal_json(g) for g in page], "meta": meta})


async def delete_site_goal(request: Request) -> Response:
    """Deletes goal ``goal_id`` of ``site_id`` (query or body)."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await authorize_key(
            request, "sites:write", lacking_scope=ApiError(NO_WRITE_SCOPE, 403)
        )
        params = await _params(request)
        domain = _text(params, "site_id")
        if not domain:
            raise ApiError("Parameter `site_id` is required to delete a goal")
        site = await _site(request, domain, rights)
        raw_id = str(request.path_params["goal_id"])
        # Ids are positive 64-bit integers; anything else names no goal.
        if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
            raise ApiError(GOAL_NOT_FOUND, 404)
        await asyncio.to_thread(
            delete_goal,
            state.meta,
            site.id,
            int(raw_id),
            actor=request_actor(request, key),
        )
    except ApiError as exc:
        return exc.response()
    except NotFoundError:
        return ApiError(GOAL_NOT_FOUND, 404).response()
    return JSONResponse({"deleted": True})


# For the site's own record (footfall.web.api.site_record).
request_params = _params
reachable_site = _site
