"""The alerts settings page (admins only): rules and their state, history, deliveries, reports.

``GET /settings/alerts`` shows it; each change is a form posted under it, CSRF-checked, made
through footfall.meta with the signed-in user as the actor, and answered with a 303 back to the
page (``?done=<what>`` picks a fixed text) or, when refused, the page again with a 400.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.alerts.evaluate import acknowledge, silence
from footfall.alerts.model import OPS_METRICS, SEVERITIES, TRAFFIC_METRICS, Channel
from footfall.alerts.reports import last_complete
from footfall.alerts.rounds import send_test
from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta import deliveries
from footfall.meta.alerts import add_rule, change_state, delete_rule, list_history, rule_views
from footfall.meta.audit import Actor
from footfall.meta.reports import delete_subscription, list_subscriptions, set_subscription
from footfall.meta.sites import get_site, list_sites
from footfall.meta.users import User
from footfall.services import Services, channel_config
from footfall.web.middleware.clients import trusted_client_ip
from footfall.web.pages.accounts import (
    FormRefused,
    current_user,
    form_field,
    login_redirect,
    not_found,
    read_form,
    redirect,
    refused,
    render_page,
)

PAGE = "/settings/alerts"
DONE = {
    "added": "Alert added.",
    "deleted": "Alert deleted.",
    "acknowledged": "Alert acknowledged: no more reminders until it resolves.",
    "silenced": "Alert silenced.",
    "unsilenced": "Silence lifted.",
    "tested": "Test notification queued to every channel of the alert.",
    "retried": "Delivery queued again.",
    "report-added": "Report saved.",
    "report-deleted": "Report stopped.",
}
METRICS = (*TRAFFIC_METRICS, *(f"ops:{name}" for name in OPS_METRICS))
CONDITIONS = ("above", "below", "spike", "drop", "stalled")
SILENCES = (("60", "1 hour"), ("240", "4 hours"), ("1440", "1 day"), ("10080", "1 week"))
_BLANK = {
    "name": "",
    "metric": "visitors",
    "site": "",
    "condition": "above",
    "threshold": "",
    "window": "15",
    "for": "0",
    "renotify": "60",
    "severity": "warning",
    "goal": "",
    "route": "",
    "webhook": "",
    "slack": "",
    "email": "",
    "report_site": "",
    "report_period": "weekly",
    "report_emails": "",
}


def _state(request: Request) -> Services:
    state: Services = request.app.state.footfall
    return state


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _page_data(services: Services) -> dict[str, Any]:
    meta = services.meta
    now = services.clock.now()
    return {
        "views": rule_views(meta),
        "history": list_history(meta, limit=50),
        "deliveries": deliveries.list_deliveries(meta, limit=50),
        "reports": list_subscriptions(meta),
        "sites": [s.domain for s in list_sites(meta)],
        "now": now,
    }


async def _show(
    request: Request,
    user: User,
    *,
    error: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    services = _state(request)
    data = await asyncio.to_thread(_page_data, services)
    context = {
        "user": user,
        "done": DONE.get(request.query_params.get("done", "")) if error is None else None,
        "error": {"section": error[0], "message": error[1]} if error else None,
        "values": {**_BLANK, **(values or {})},
        "metrics": METRICS,
        "conditions": CONDITIONS,
        "severities": SEVERITIES,
        "silences": SILENCES,
        "when": _when,
        **data,
    }
    return render_page(request, "alerts.html", context, status_code=200 if error is None else 400)


async def alerts_page(request: Request) -> Response:
    """GET /settings/alerts: the page, for admins; others get the not-found page."""
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    if user.role != "admin":
        return not_found(request)
    return await _show(request, user)


Handler = Callable[[Request, User, dict[str, str], Actor], Awaitable[Response]]


def _form(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """CSRF-checked, signed in, an admin: then `handler` with the form's text fields."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        # The form first: a body is refused for its size or its token before anything else.
        try:
            form = await read_form(request)
        except FormRefused as exc:
            return refused(request, exc)
        user = await current_user(request)
        if user is None:
            return redirect("/login?next=" + PAGE)
        if user.role != "admin":
            return not_found(request)
        fields = {key: form_field(form, key, 2100) for key in form}
        actor = Actor(f"user:{user.email}", ip=trusted_client_ip(request))
        return await handler(request, user, fields, actor)

    return endpoint


_Refusal = (InvalidInputError, ConflictError, NotFoundError)


def _sentence(message: str) -> str:
    text = message.split(": 'footfall ")[0]
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _threshold(fields: dict[str, str], condition: str) -> float:
    text = fields.get("threshold", "").strip()
    if not text:
        if condition == "stalled":
            return 1.0
        raise InvalidInputError("give the threshold the condition compares against")
    try:
        return float(text)
    except ValueError:
        raise InvalidInputError(f"the threshold {text!r} is not a number") from None


def _minutes(fields: dict[str, str], name: str, what: str) -> int:
    text = fields.get(name, "").strip()
    if not (text.isascii() and text.isdigit()):
        raise InvalidInputError(f"the {what} is a whole number of minutes")
    return int(text)


@_form
async def add_alert_form(
    request: Request, user: User, fields: dict[str, str], actor: Actor
) -> Response:
    """POST /settings/alerts: adds a rule."""
    condition = fields.get("condition", "above")
    channels = []
    for kind in ("webhook", "slack", "email"):
        for target in fields.get(kind, "").split(","):
            if target.strip():
                channels.append(Channel(kind, target.strip()))
    if fields.get("log") == "on":
        channels.append(Channel("log"))
    try:
        await asyncio.to_thread(
            add_rule,
            _state(request).meta,
            name=fields.get("name", ""),
            metric=fields.get("metric", ""),
            comparison=condition,
            threshold=_threshold(fields, condition),
            window_minutes=_minutes(fields, "window", "window"),
            channels=channels,
            site=fields.get("site") or None,
            for_minutes=_minutes(fields, "for", "for duration"),
            renotify_minutes=_minutes(fields, "renotify", "re-notify interval"),
            severity=fields.get("severity", "warning"),
            goal=fields.get("goal") or None,
            route=fields.get("route") or None,
            actor=actor,
        )
    except _Refusal as exc:
        return await _show(request, user, error=("add", _sentence(str(exc))), values=fields)
    return redirect(f"{PAGE}?done=added#rules")


def _named(request: Request) -> str:
    return str(request.path_params["name"])


@_form
async def delete_alert_form(
    request: Request, user: User, fields: dict[str, str], actor: Actor
) -> Response:
    """POST /settings/alerts/{name}/delete."""
    try:
        await asyncio.to_thread(delete_rule, _state(request).meta, _named(request), actor=actor)
    except NotFoundError as exc:
        return await _show(request, user, error=("rules", _sentence(str(exc))))
    return redirect(f"{PAGE}?done=deleted#rules")


@_form
async def acknowledge_form(
    request: Request, user: User, fields: dict[str, str], actor: Actor
) -> Response:
    """POST /settings/alerts/{name}/acknowledge."""
    services = _state(request)
    now = services.clock.now()
    try:
        await asyncio.to_thread(
            change_state,
            services.meta,
            _named(request),
            lambda rule, state: acknowledge(rule, state, actor.name, now),
            actor=actor,
            action="alert.acknowledge",
        )
    except _Refusal as exc:
        return await _show(request, user, error=("rules", _sentence(str(exc))))
    return redirect(f"{PAGE}?done=acknowledged#rules")


@_form
async def silence_form(
    request: Request, user: User, fields: dict[str, str], actor: Actor
) -> Response:
    """POST /settings/alerts/{name}/silence: ``minutes`` from now, or 0 to lift the silence."""
    services = _state(request)
    now = services.clock.now()
    text = fields.get("minutes", "")
    minutes = int(text) if text.isascii() and text.isdigit() and len(text) < 7 else -1
    until = now + dt.timedelta(minutes=minutes) if minutes > 0 else None
    try:
        if minutes < 0:
            raise InvalidInputError("choose how long to silence the alert")
        await asyncio.to_thread(
            change_state,
            services.meta,
            _named(request),
            lambda rule, state: silence(rule, state, until, actor.name, now),
            actor=actor,
            action="alert.silence",
        )
    except _Refusal as exc:
        return await _show(request, user, error=("rules", _sentence(str(exc))))
    return redirect(f"{PAGE}?done={'silenced' if until else 'unsilenced'}#rules")


@_form
async def test_form(request: Request, user: User, fields: dict[str, str], actor: Actor) -> Response:
    """POST /settings/alerts/{name}/test: queues a test notification; the job sends it now."""
    services = _state(request)
    try:
        await asyncio.to_thread(
            send_test,
            services.meta,
            channel_config(services.settings),
            _named(request),
            now=services.clock.now(),
            actor=actor,
            queue=True,
        )
    except NotFoundError as exc:
        return await _show(request, user, error=("rules", _sentence(str(exc))))
    services.kick_alerts()
    return redirect(f"{PAGE}?done=tested#deliveries")


@_form
async def retry_form(
    request: Request, user: User, fields: dict[str, str], actor: Actor
) -> Response:
    """POST /settings/alerts/deliveries/{delivery_id}/retry: a failed delivery, again."""
    services = _state(request)
    found = await asyncio.to_thread(
        deliveries.retry,
        services.meta,
        int(request.path_params["delivery_id"]),
        services.clock.now(),
    )
    if not found:
        return await _show(request, user, error=("deliveries", "That delivery has not failed."))
    services.kick_alerts()
    return redirect(f"{PAGE}?done=retried#deliveries")


@_form
async def add_report_form(
    request: Request, user: User, fields: dict[str, str], actor: Actor
) -> Response:
    """POST /settings/alerts/reports: a site's weekly or monthly report to a list."""
    services = _state(request)
    period = fields.get("report_period", "")
    emails = [e for e in fields.get("report_emails", "").replace(";", ",").split(",") if e.strip()]

    def save() -> None:
        site = get_site(services.meta, fields.get("report_site", ""))
        if period not in ("weekly", "monthly"):
            raise InvalidInputError("choose weekly or monthly")
        sent = last_complete(period, site.timezone, services.clock.now()).key
        set_subscription(services.meta, site.domain, period, emails, last_sent=sent, actor=actor)

    try:
        await asyncio.to_thread(save)
    except _Refusal as exc:
        return await _show(request, user, error=("reports", _sentence(str(exc))), values=fields)
    return redirect(f"{PAGE}?done=report-added#reports")


@_form
async def delete_report_form(
    request: Request, user: User, fields: dict[str, str], actor: Actor
) -> Response:
    """POST /settings/alerts/reports/delete: stops a report."""
    try:
        await asyncio.to_thread(
            delete_subscription,
            _state(request).meta,
            fields.get("site", ""),
            fields.get("period", ""),
            actor=actor,
        )
    except NotFoundError as exc:
        return await _show(request, user, error=("reports", _sentence(str(exc))))
    return redirect(f"{PAGE}?done=report-deleted#reports")


ROUTES = [
    Route(PAGE, alerts_page, methods=["GET"]),
    Route(PAGE, add_alert_form, methods=["POST"]),
    Route(f"{PAGE}/reports", add_report_form, methods=["POST"]),
    Route(f"{PAGE}/reports/delete", delete_report_form, methods=["POST"]),
    Route(f"{PAGE}/deliveries/{{delivery_id:int}}/retry", retry_form, methods=["POST"]),
    Route(f"{PAGE}/{{name}}/delete", delete_alert_form, methods=["POST"]),
    Route(f"{PAGE}/{{name}}/acknowledge", acknowledge_form, methods=["POST"]),
    Route(f"{PAGE}/{{name}}/silence", silence_form, methods=["POST"]),
    Route(f"{PAGE}/{{name}}/test", test_form, methods=["POST"]),
]
