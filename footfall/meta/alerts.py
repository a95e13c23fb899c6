"""Functions over alert rules, their states and their history.

A rule is checked here once, when it is added; the evaluator (footfall.alerts.evaluate) then
trusts it. Adding and deleting a rule, acknowledging and silencing one are recorded in the audit
log when an actor is given; the history of a rule (alert_history) records every change of its
state and every notification, with who and what value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from footfall.alerts.model import (
    COMPARISONS,
    SEVERITIES,
    TRAFFIC_METRICS,
    Channel,
    ChannelKind,
    Comparison,
    HistoryEntry,
    Outcome,
    Rule,
    RuleState,
    Severity,
    iso,
)
from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.alert_checks import (
    HISTORY_DAYS,
    HISTORY_LIMIT,
    MAX_NAME_CHARS,
    MAX_RULES,
    checked_channels,
    checked_metric,
    checked_name,
    checked_numbers,
)
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import as_utc, utcnow
from footfall.meta.tables import alert_history, alert_rules, alert_states, goals, sites


@dataclass(frozen=True, slots=True)
class RuleView:
    """A rule with its state, for listings."""

    rule: Rule
    state: RuleState
    error: str | None = None

    def as_json(self, now: dt.datetime) -> dict[str, Any]:
        """The rule and its state as the admin API and ``alert list --json`` show them."""
        state = self.state
        return {
            **snapshot(self.rule),
            "id": self.rule.id,
            "condition": self.rule.describe(),
            "enabled": self.rule.enabled,
            "status": state.status,
            "since": _iso(state.since),
            "value": state.value,
            "evaluated_at": _iso(state.evaluated_at),
            "notified_at": _iso(state.notified_at),
            "acknowledged_by": state.acknowledged_by,
            "acknowledged_at": _iso(state.acknowledged_at),
            "silenced_until": _iso(state.silenced_until) if state.silenced(now) else None,
            "silenced_by": state.silenced_by if state.silenced(now) else None,
            "error": self.error,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _channels_text(channels: Sequence[Channel]) -> str:
    return json.dumps([{"kind": c.kind, "target": c.target} for c in channels])


def _channels_from(text: str) -> tuple[Channel, ...]:
    loaded = json.loads(text or "[]")
    return tuple(Channel(cast(ChannelKind, item["kind"]), str(item["target"])) for item in loaded)


def _rule_columns() -> list[Any]:
    return [*alert_rules.c, sites.c.domain]


def _rules_query() -> sa.Select[Any]:
    return sa.select(*_rule_columns()).select_from(
        alert_rules.outerjoin(sites, sites.c.id == alert_rules.c.site_id)
    )


def _rule(row: Any) -> Rule:
    m = row._mapping
    return Rule(
        id=int(m["id"]),
        name=str(m["name"]),
        metric=str(m["metric"]),
        comparison=cast(Comparison, m["comparison"]),
        threshold=float(m["threshold"]),
        window_minutes=int(m["window_minutes"]),
        for_minutes=int(m["for_minutes"]),
        renotify_minutes=int(m["renotify_minutes"]),
        severity=cast(Severity, m["severity"]),
        channels=_channels_from(str(m["channels"])),
        site_id=m["site_id"],
        site=m["domain"],
        goal=m["goal"],
        route=m["route"],
        enabled=bool(m["enabled"]),
    )


def snapshot(rule: Rule) -> dict[str, Any]:
    """The rule for the audit log and the API: channels shown without their secret parts."""
    return {
        "name": rule.name,
        "site": rule.site,
        "metric": rule.metric,
        "comparison": rule.comparison,
        "threshold": rule.threshold,
        "window_minutes": rule.window_minutes,
        "for_minutes": rule.for_minutes,
        "renotify_minutes": rule.renotify_minutes,
        "severity": rule.severity,
        "goal": rule.goal,
        "route": rule.route,
        "channels": [c.shown() for c in rule.channels],
    }


def add_rule(
    engine: sa.Engine,
    *,
    name: str,
    metric: str,
    comparison: str,
    threshold: float,
    window_minutes: int,
    channels: Iterable[Channel],
    site: str | None = None,
    for_minutes: int = 0,
    renotify_minutes: int = 60,
    severity: str = "warning",
    goal: str | None = None,
    route: str | None = None,
    actor: Actor | None = None,
) -> Rule:
    """Adds an alert rule.

    Args:
        engine: The metadata store.
        name: Unique name of the rule.
        metric: ``visitors``, ``pageviews``, ``events`` or ``ops:<name>``.
        comparison: ``above``, ``below``, ``spike``, ``drop`` or ``stalled``.
        threshold: The number compared against (a percentage for spike and drop).
        window_minutes: The window the metric is measured over.
        channels: Where notifications go (at least one).
        site: The domain of a traffic rule's site (and of ops:ingest_stalled).
        for_minutes: How long the condition must hold before the rule fires.
        renotify_minutes: The least time between two notifications of one firing.
        severity: ``info``, ``warning`` or ``critical``.
        goal: The display name of a goal of the site whose conversions a traffic rule counts.
        route: The route template of an ops:p95_latency rule (the slowest route when None).
        actor: Who adds the rule, for the audit log (``alert.add``).

    Returns:
        The stored rule.

    Raises:
        InvalidInputError: A value footfall cannot use (the message says which).
        NotFoundError: The site or the goal does not exist.
        ConflictError: A rule has the name already.
    """
    name = checked_name(name)
    metric = metric.strip().lower()
    if comparison not in COMPARISONS:
        raise InvalidInputError(f"unknown condition {comparison!r}: use {', '.join(COMPARISONS)}")
    if severity not in SEVERITIES:
        raise InvalidInputError(f"unknown severity {severity!r}: use {', '.join(SEVERITIES)}")
    route = route.strip() or None if route is not None else None
    goal = goal.strip() or None if goal is not None else None
    if goal is not None and metric not in TRAFFIC_METRICS:
        raise InvalidInputError("a goal is only for visitors, pageviews and events alerts")
    checked_metric(metric, comparison, site, route)
    checked_numbers(comparison, threshold, window_minutes, for_minutes, renotify_minutes)
    checked = checked_channels(channels)
    with engine.begin() as conn:
        site_id = None
        if site is not None:
            site_id = conn.execute(
                sa.select(sites.c.id).where(sites.c.domain == site.strip().lower())
            ).scalar()
            if site_id is None:
                raise NotFoundError(f"no site {site!r}: add it with 'footfall site add'")
        if goal is not None:
            found = conn.execute(
                sa.select(goals.c.id).where(
                    goals.c.site_id == site_id, goals.c.display_name == goal
                )
            ).first()
            if found is None:
                raise NotFoundError(f"{site} has no goal named {goal!r}")
        if conn.execute(sa.select(alert_rules.c.id).where(alert_rules.c.name == name)).first():
            raise ConflictError(f"an alert named {name!r} exists already")
        count = conn.execute(sa.select(sa.func.count()).select_from(alert_rules)).scalar_one()
        if count >= MAX_RULES:
            raise InvalidInputError(f"footfall keeps at most {MAX_RULES} alert rules")
        conn.execute(
            alert_rules.insert().values(
                name=name,
                site_id=site_id,
                metric=metric,
                comparison=comparison,
                threshold=float(threshold),
                window_minutes=window_minutes,
                for_minutes=for_minutes,
                renotify_minutes=renotify_minutes,
                severity=severity,
                channels=_channels_text(checked),
                goal=goal,
                route=route,
                enabled=True,
                created_at=utcnow(),
            )
        )
        rule = _rule(conn.execute(_rules_query().where(alert_rules.c.name == name)).one())
        record_change(conn, actor, "alert.add", f"alert {name}", after=snapshot(rule))
    return rule


def list_rules(engine: sa.Engine, *, site_id: int | None = None) -> list[Rule]:
    """Every rule (or only those of one site), by name."""
    query = _rules_query().order_by(alert_rules.c.name)
    if site_id is not None:
        query = query.where(alert_rules.c.site_id == site_id)
    with engine.connect() as conn:
        return [_rule(row) for row in conn.execute(query)]


def get_rule(engine: sa.Engine, name: str) -> Rule:
    """The rule named `name`.

    Raises:
        NotFoundError: There is none.
    """
    with engine.connect() as conn:
        row = conn.execute(_rules_query().where(alert_rules.c.name == name.strip())).first()
    if row is None:
        raise NotFoundError(f"no alert named {name!r}: 'footfall alert list' shows them")
    return _rule(row)


def delete_rule(engine: sa.Engine, name: str, *, actor: Actor | None = None) -> Rule:
    """Deletes a rule and its state; its history stays, under its name.

    Raises:
        NotFoundError: There is no such rule.
    """
    with engine.begin() as conn:
        row = conn.execute(_rules_query().where(alert_rules.c.name == name.strip())).first()
        if row is None:
            raise NotFoundError(f"no alert named {name!r}: 'footfall alert list' shows them")
        rule = _rule(row)
        conn.execute(alert_states.delete().where(alert_states.c.rule_id == rule.id))
        conn.execute(alert_rules.delete().where(alert_rules.c.id == rule.id))
        record_change(conn, actor, "alert.delete", f"alert {rule.name}", before=snapshot(rule))
    return rule


# -- states ---------------------------------------------------------------------------------


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value) if value is not None else None


def _state(row: Any) -> RuleState:
    m = row._mapping
    return RuleState(
        status=m["status"],
        since=_aware(m["since"]),
        value=m["value"],
        evaluated_at=_aware(m["evaluated_at"]),
        notified_at=_aware(m["notified_at"]),
        acknowledged_by=m["acknowledged_by"],
        acknowledged_at=_aware(m["acknowledged_at"]),
        silenced_until=_aware(m["silenced_until"]),
        silenced_by=m["silenced_by"],
    )


def load_states(engine: sa.Engine) -> dict[int, tuple[RuleState, str | None]]:
    """Every stored state and last evaluation error, by rule id."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alert_states)).all()
    return {int(row.rule_id): (_state(row), row.error) for row in rows}


def rule_views(engine: sa.Engine) -> list[RuleView]:
    """Every rule with its state (a rule never evaluated is ``ok``), by name."""
    states = load_states(engine)
    return [
        RuleView(rule, *states.get(rule.id, (RuleState(), None))) for rule in list_rules(engine)
    ]


def _state_values(state: RuleState, error: str | None) -> dict[str, Any]:
    return {
        "status": state.status,
        "since": state.since,
        "value": state.value,
        "evaluated_at": state.evaluated_at,
        "notified_at": state.notified_at,
        "acknowledged_by": state.acknowledged_by[:255] if state.acknowledged_by else None,
        "acknowledged_at": state.acknowledged_at,
        "silenced_until": state.silenced_until,
        "silenced_by": state.silenced_by[:255] if state.silenced_by else None,
        "error": error[:500] if error else None,
    }


def save_state(
    conn: sa.Connection,
    rule: Rule,
    state: RuleState,
    history: Sequence[HistoryEntry] = (),
    *,
    error: str | None = None,
) -> bool:
    """Stores a rule's state and appends its history entries, on the caller's transaction.

    Returns:
        False, storing nothing, when the rule no longer exists (deleted meanwhile).
    """
    if conn.execute(sa.select(alert_rules.c.id).where(alert_rules.c.id == rule.id)).first() is None:
        return False
    values = _state_values(state, error)
    updated = conn.execute(
        alert_states.update().where(alert_states.c.rule_id == rule.id).values(**values)
    )
    if not updated.rowcount:
        conn.execute(alert_states.insert().values(rule_id=rule.id, **values))
    append_history(conn, rule.id, history)
    return True


def append_history(
    conn: sa.Connection, rule_id: int | None, entries: Sequence[HistoryEntry]
) -> None:
    """Appends history entries of the rule `rule_id` on the caller's transaction."""
    if not entries:
        return
    conn.execute(
        alert_history.insert(),
        [
            {
                "rule_id": rule_id,
                "rule_name": e.rule[:MAX_NAME_CHARS],
                "at": e.at,
                "kind": e.kind,
                "actor": e.actor[:255],
                "value": e.value if e.value is None or math.isfinite(e.value) else None,
                "threshold": e.threshold,
                "detail": e.detail[:500],
            }
            for e in entries
        ],
    )


def list_history(
    engine: sa.Engine, *, rule: str | None = None, limit: int = 100
) -> list[HistoryEntry]:
    """History entries, newest first, of every rule or of the rule named `rule`."""
    query = sa.select(alert_history).order_by(alert_history.c.id.desc()).limit(limit)
    if rule is not None:
        query = query.where(alert_history.c.rule_name == rule)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        HistoryEntry(
            rule=row.rule_name,
            at=as_utc(row.at),
            kind=row.kind,
            actor=row.actor,
            value=row.value,
            threshold=row.threshold,
            detail=row.detail,
        )
        for row in rows
    ]


def prune_history(engine: sa.Engine, now: dt.datetime) -> int:
    """Drops history older than `HISTORY_DAYS`, and past the newest `HISTORY_LIMIT` per rule.

    Returns:
        How many entries were dropped.
    """
    dropped = 0
    with engine.begin() as conn:
        old = conn.execute(
            alert_history.delete().where(alert_history.c.at < now - dt.timedelta(HISTORY_DAYS))
        )
        dropped += old.rowcount or 0
        names = conn.execute(
            sa.select(alert_history.c.rule_name)
            .group_by(alert_history.c.rule_name)
            .having(sa.func.count() > HISTORY_LIMIT)
        ).scalars()
        for name in list(names):
            cutoff = conn.execute(
                sa.select(alert_history.c.id)
                .where(alert_history.c.rule_name == name)
                .order_by(alert_history.c.id.desc())
                .offset(HISTORY_LIMIT)
                .limit(1)
            ).scalar()
            if cutoff is not None:
                result = conn.execute(
                    alert_history.delete().where(
                        alert_history.c.rule_name == name, alert_history.c.id <= cutoff
                    )
                )
                dropped += result.rowcount or 0
    return dropped


def change_state(
    engine: sa.Engine,
    name: str,
    change: Callable[[Rule, RuleState], Outcome],
    *,
    actor: Actor | None,
    action: str,
) -> tuple[Rule, RuleState]:
    """Applies a person's change (acknowledge, silence) to a rule's stored state.

    Args:
        engine: The metadata store.
        name: The rule's name.
        change: Called with the rule and its state; returns an `Outcome`
            (footfall.alerts.evaluate's `acknowledge` or `silence`, bound to who and when).
        actor: Who, for the audit log.
        action: The audit action (``alert.acknowledge`` or ``alert.silence``).

    Returns:
        The rule and its new state.

    Raises:
        NotFoundError: No rule has that name.
        InvalidInputError: The change does not apply (the rule is not firing, a silence in
            the past).
    """
    with engine.begin() as conn:
        row = conn.execute(_rules_query().where(alert_rules.c.name == name.strip())).first()
        if row is None:
            raise NotFoundError(f"no alert named {name!r}: 'footfall alert list' shows them")
        rule = _rule(row)
        found = conn.execute(
            sa.select(alert_states).where(alert_states.c.rule_id == rule.id)
        ).first()
        state = _state(found) if found is not None else RuleState()
        error = found.error if found is not None else None
        try:
            outcome = change(rule, state)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc
        if outcome.state != state:
            save_state(conn, rule, outcome.state, outcome.history, error=error)
            after = {
                "acknowledged_by": outcome.state.acknowledged_by,
                "silenced_until": outcome.state.silenced_until.isoformat()
                if outcome.state.silenced_until
                else None,
            }
            record_change(conn, actor, action, f"alert {rule.name}", after=after)
    return rule, outcome.state
