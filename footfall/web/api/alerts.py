"""The alerts admin API, in the Sites API's style, for keys with the ``admin`` scope.

``GET /api/v1/alerts`` lists rules with their state; ``POST /api/v1/alerts`` adds one (a JSON
object: ``name``, ``metric``, ``site_id`` for traffic rules, one of ``above``, ``below``,
``spike``, ``drop``, and ``window``, ``for``, ``renotify``, ``severity``, ``goal``, ``route``,
``channels`` as ``[{"kind": "webhook", "target": URL}, ...]``). ``GET`` and ``DELETE
/api/v1/alerts/{name}``; ``POST .../test``, ``.../acknowledge`` and ``.../silence``
(``{"minutes": N}``, ``{"until": ISO 8601}`` or ``{"lift": true}``);
``GET /api/v1/alerts/deliveries`` (``?status=failed``). Errors are ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.alerts.evaluate import acknowledge, silence
from footfall.alerts.model import Channel, ChannelKind
from footfall.alerts.rounds import send_test
from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta import deliveries
from footfall.meta.alerts import (
    RuleView,
    add_rule,
    change_state,
    delete_rule,
    list_history,
    rule_views,
)
from footfall.meta.audit import parse_since
from footfall.services import Services, channel_config
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError, authorize_key
from footfall.web.bodies import SITES_API_BYTES, BodyTooLarge, read_body

NOT_FOUND = "Alert could not be found"
_CONDITIONS = ("above", "below", "spike", "drop")
_DEFAULTS = {
    "ops:ingest_stalled": ("stalled", 1.0),
    "ops:memory_leak": ("above", 0.0),
    "ops:ready": ("below", 1.0),
}


def _state(request: Request) -> Services:
    state: Services = request.app.state.footfall
    return state


async def _body(request: Request) -> dict[str, Any]:
    try:
        raw = await read_body(request, SITES_API_BYTES)
    except BodyTooLarge as exc:
        raise ApiError(str(exc), 413) from None
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError("the request body must be a JSON object")
    return data


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(f"Parameter `{name}` must be a number")
    return float(value)


def _whole(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"Parameter `{name}` must be a whole number")
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ApiError(f"Parameter `{name}` must be a string")


def _condition(body: dict[str, Any], metric: str) -> tuple[str, float]:
    given = [(name, value) for name in _CONDITIONS if (value := _number(body, name)) is not None]
    if len(given) > 1:
        raise ApiError("give only one of `above`, `below`, `spike` and `drop`")
    if given:
        return given[0]
    if metric in _DEFAULTS:
        return _DEFAULTS[metric]
    raise ApiError("give a condition: `above`, `below`, `spike` or `drop`")


def _channels(body: dict[str, Any]) -> list[Channel]:
    raw = body.get("channels")
    if not isinstance(raw, list):
        raise ApiError('Parameter `channels` must be a list such as [{"kind": "webhook", ...}]')
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            raise ApiError("each channel is an object with `kind` and `target`")
        target = item.get("target", "")
        if not isinstance(target, str):
            raise ApiError("a channel's `target` must be a string")
        kind: ChannelKind = item["kind"]
        out.append(Channel(kind, target))
    return out


def _shown(view: RuleView, now: dt.datetime) -> dict[str, Any]:
    return view.as_json(now)


async def list_alerts(request: Request) -> Response:
    """Every rule with its state, by name."""
    services = _state(request)
    try:
        await authorize_key(request, "admin")
    except ApiError as exc:
        return exc.response()
    views = await asyncio.to_thread(rule_views, services.meta)
    now = services.clock.now()
    return JSONResponse({"alerts": [_shown(v, now) for v in views]})


async def create_alert(request: Request) -> Response:
    """Adds a rule; answers it with its state."""
    services = _state(request)
    try:
        key, _ = await authorize_key(request, "admin")
        body = await _body(request)
        name = _text(body, "name")
        metric = _text(body, "metric")
        if not name or not metric:
            raise ApiError("Parameters `name` and `metric` are required to create an alert")
        metric = metric.strip().lower()
        comparison, threshold = _condition(body, metric)
        rule = await asyncio.to_thread(
            add_rule,
            services.meta,
            name=name,
            metric=metric,
            comparison=comparison,
            threshold=threshold,
            window_minutes=_whole(body, "window", 15),
            channels=_channels(body),
            site=_text(body, "site_id"),
            for_minutes=_whole(body, "for", 0),
            renotify_minutes=_whole(body, "renotify", 60),
            severity=_text(body, "severity") or "warning",
            goal=_text(body, "goal"),
            route=_text(body, "route"),
            actor=request_actor(request, key),
        )
    except ApiError as exc:
        return exc.response()
    except (InvalidInputError, ConflictError) as exc:
        return ApiError(str(exc)).response()
    except NotFoundError as exc:
        return ApiError(str(exc), 404).response()
    views = await asyncio.to_thread(rule_views, services.meta)
    view = next(v for v in views if v.rule.id == rule.id)
    return JSONResponse({"alert": _shown(view, services.clock.now())}, status_code=201)


async def _view(services: Services, name: str) -> RuleView:
    views = await asyncio.to_thread(rule_views, services.meta)
    for view in views:
        if view.rule.name == name:
            return view
    raise ApiError(NOT_FOUND, 404)


async def get_alert(request: Request) -> Response:
    """One rule, its state and its latest history (``?limit=``, default 50)."""
    services = _state(request)
    name = request.path_params["name"]
    try:
        await authorize_key(request, "admin")
        view = await _view(services, name)
        limit = request.query_params.get("limit", "50")
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:
            raise ApiError("Parameter `limit` must be a whole number from 1 to 1000")
    except ApiError as exc:
        return exc.response()
    history = await asyncio.to_thread(list_history, services.meta, rule=name, limit=int(limit))
    entries = [
        {
            "at": e.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "kind": e.kind,
            "actor": e.actor,
            "value": e.value,
            "threshold": e.threshold,
            "detail": e.detail,
        }
        for e in history
    ]
    return JSONResponse({"alert": _shown(view, services.clock.now()), "history": entries})


async def delete_alert(request: Request) -> Response:
    """Deletes a rule (its history stays)."""
    services = _state(request)
    try:
        key, _ = await authorize_key(request, "admin")
        await asyncio.to_thread(
            delete_rule,
            services.meta,
            request.path_params["name"],
            actor=request_actor(request, key),
        )
    except ApiError as exc:
        return exc.response()
    except NotFoundError:
        return ApiError(NOT_FOUND, 404).response()
    return JSONResponse({"deleted": True})


async def test_alert(request: Request) -> Response:
    """Queues a test notification to each channel of the rule; the job sends it at once."""
    services = _state(request)
    try:
        key, _ = await authorize_key(request, "admin")
        results = await asyncio.to_thread(
            send_test,
            services.meta,
            channel_config(services.settings),
            request.path_params["name"],
            now=services.clock.now(),
            actor=request_actor(request, key),
            queue=True,
        )
    except ApiError as exc:
        return exc.response()
    except NotFoundError:
        return ApiError(NOT_FOUND, 404).response()
    services.kick_alerts()
    return JSONResponse({"queued": [channel for channel, _ in results]}, status_code=202)


async def acknowledge_alert(request: Request) -> Response:
    """Acknowledges a firing rule: no re-notification until it resolves."""
    services = _state(request)
    try:
        key, _ = await authorize_key(request, "admin")
        who = request_actor(request, key)
        now = services.clock.now()
        await asyncio.to_thread(
            change_state,
            services.meta,
            request.path_params["name"],
            lambda rule, state: acknowledge(rule, state, who.name, now),
            actor=who,
            action="alert.acknowledge",
        )
        view = await _view(services, request.path_params["name"])
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return ApiError(str(exc), 409).response()
    except NotFoundError:
        return ApiError(NOT_FOUND, 404).response()
    return JSONResponse({"alert": _shown(view, now)})


def _until(body: dict[str, Any], now: dt.datetime) -> dt.datetime | None:
    if body.get("lift") is True:
        return None
    if body.get("minutes") is not None:
        minutes = _whole(body, "minutes", 0)
        if not 1 <= minutes <= 60 * 24 * 90:
            raise ApiError("Parameter `minutes` must be from 1 to 129600")
        return now + dt.timedelta(minutes=minutes)
    until = _text(body, "until")
    if until is None:
        raise ApiError("give `minutes`, `until` or `lift`")
    try:
        return parse_since(until)
    except InvalidInputError as exc:
        raise ApiError(f"Parameter `until`: {exc}") from exc


async def silence_alert(request: Request) -> Response:
    """Silences a rule's notifications until a time, or lifts the silence."""
    services = _state(request)
    try:
        key, _ = await authorize_key(request, "admin")
        who = request_actor(request, key)
        now = services.clock.now()
        until = _until(await _body(request), now)
        await asyncio.to_thread(
            change_state,
            services.meta,
            request.path_params["name"],
            lambda rule, state: silence(rule, state, until, who.name, now),
            actor=who,
            action="alert.silence",
        )
        view = await _view(services, request.path_params["name"])
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return ApiError(str(exc)).response()
    except NotFoundError:
        return ApiError(NOT_FOUND, 404).response()
    return JSONResponse({"alert": _shown(view, now)})


async def list_deliveries(request: Request) -> Response:
    """Deliveries, newest first (``?status=pending|sent|failed``, ``?limit=``, default 50)."""
    services = _state(request)
    query = request.query_params
    try:
        await authorize_key(request, "admin")
        status = query.get("status")
        if status not in (None, "pending", "sent", "failed"):
            raise ApiError("Parameter `status` must be pending, sent or failed")
        limit = query.get("limit", "50")
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:
            raise ApiError("Parameter `limit` must be a whole number from 1 to 1000")
    except ApiError as exc:
        return exc.response()
    found = await asyncio.to_thread(
        deliveries.list_deliveries,
        services.meta,
        status=status,  # type: ignore[arg-type]
        limit=int(limit),
    )

    def shown(when: dt.datetime | None) -> str | None:
        return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if when else None

    return JSONResponse(
        {
            "deliveries": [
                {
                    "id": d.id,
                    "subject": d.subject,
                    "kind": d.kind,
                    "channel": d.channel.shown(),
                    "status": d.status,
                    "attempts": d.attempts,
                    "next_attempt_at": shown(d.next_attempt_at),
                    "last_error": d.last_error,
                    "created_at": shown(d.created_at),
                    "sent_at": shown(d.sent_at),
                }
                for d in found
            ]
        }
    )
