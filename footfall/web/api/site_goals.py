"""Plausible's Sites API goal endpoints: list, find-or-create and delete a site's goals.

``PUT`` and ``GET /api/v1/sites/goals``, ``DELETE /api/v1/sites/goals/{goal_id}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.goals import Goal, add_goal, delete_goal, list_goals
from footfall.services import Services
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError
from footfall.web.api.sites_common import (
    SITE_NOT_FOUND,
    cursors,
    find_site,
    page,
    reader,
    request_params,
    required,
    text_param,
    writer,
)

GOAL_NOT_FOUND = "Goal could not be found"


def goal_json(goal: Goal) -> dict[str, Any]:
    """A goal as the Sites API lists it."""
    return {
        "id": goal.id,
        "display_name": goal.display_name,
        "goal_type": goal.kind,
        "event_name": goal.event_name,
        "page_path": goal.page_path,
    }


async def put_goal(request: Request) -> Response:
    """Finds or creates a goal.

    Parameters: ``site_id``, ``goal_type`` (``event`` or ``page``), ``event_name`` or
    ``page_path``, and optionally ``display_name`` and ``custom_props`` (a JSON object).
    """
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = required(params, "site_id", "create a goal")
        goal_type = required(params, "goal_type", "create a goal")
        if goal_type not in ("event", "page"):
            raise ApiError("Parameter `goal_type` must be `event` or `page`")
        field, other = (
            ("event_name", "page_path") if goal_type == "event" else ("page_path", "event_name")
        )
        target = text_param(params, field)
        if target is None:
            raise ApiError(f"Parameter `{field}` is required to create a goal")
        # A form sends the other type's field empty: that is no value, not a second target.
        values = {field: target, other: text_param(params, other) or None}
        display_name = text_param(params, "display_name") or None
        custom_props = params.get("custom_props")
        if custom_props is not None and not isinstance(custom_props, dict):
            raise ApiError("Parameter `custom_props` must be a JSON object")
        site = await find_site(request, domain, rights)
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


async def list_site_goals(request: Request) -> Response:
    """The goals of ``site_id``, newest first, in pages of ``limit`` (100)."""
    state: Services = request.app.state.footfall
    query = request.query_params
    try:
        _, rights = await reader(request)
        domain = required(query, "site_id", "list goals")
        paging = cursors(query)
        site = await find_site(request, domain, rights)
    except ApiError as exc:
        return exc.response()
    goals = await asyncio.to_thread(list_goals, state.meta, site.id)
    goals.reverse()
    chosen, meta = page(goals, lambda g: (g.id,), paging)
    return JSONResponse({"goals": [goal_json(g) for g in chosen], "meta": meta})


async def delete_site_goal(request: Request) -> Response:
    """Deletes goal ``goal_id`` of ``site_id`` (query or body)."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = required(params, "site_id", "delete a goal")
        site = await find_site(request, domain, rights)
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
