"""The alert evaluator: pure decisions over a rule, its state, a measurement and the time.

No clock, no database and no network: the caller passes `now` and stores what comes back.
A rule moves ``ok → pending → firing → ok``:

- while its condition holds it is *pending*, and becomes *firing* once the condition has held
  for the rule's ``for`` duration (at once when that is 0); a firing is notified;
- while it keeps firing, it is notified again only when its re-notify interval has passed since
  the last notification, and not at all once someone acknowledged it (de-duplication);
- when the condition no longer holds, a firing rule is *resolved* (notified when its firing
  was) and a pending one is *cleared* (never notified);
- a silence suppresses every notification until it ends; state changes are still kept, so a
  rule still firing when its silence ends is notified at the next evaluation;
- without a value (an ops figure not sampled yet, a deleted goal) nothing changes.

Every change and every notification becomes a `HistoryEntry`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from footfall.alerts.model import (
    HistoryEntry,
    Measurement,
    Notice,
    NoticeState,
    Outcome,
    Rule,
    RuleState,
    unit_of,
)


def observed(rule: Rule, measurement: Measurement) -> float | None:
    """The value a rule is judged and reported by.

    The measured value, or for spike and drop rules the change against the baseline in
    percent (None when the baseline is 0 or missing: no change can be told).
    """
    value = measurement.value
    if value is None:
        return None
    if rule.comparison in ("spike", "drop"):
        baseline = measurement.baseline
        if not baseline:
            return None
        return (value - baseline) / baseline * 100
    return value


def breaching(rule: Rule, measurement: Measurement) -> bool | None:
    """Whether the rule's condition holds for `measurement`; None when it cannot be told."""
    if measurement.value is None:
        return None
    if rule.comparison == "stalled":
        # "Usually has events": the same window a week earlier held at least `threshold`.
        usual = (measurement.baseline or 0) >= max(rule.threshold, 1)
        return usual and measurement.value <= 0
    value = observed(rule, measurement)
    if value is None:
        return False  # no baseline: neither a spike nor a drop
    if rule.comparison == "above":
        return value > rule.threshold
    if rule.comparison == "below":
        return value < rule.threshold
    if rule.comparison == "spike":
        return value >= rule.threshold
    return value <= -rule.threshold  # drop


def notice(
    rule: Rule,
    state: NoticeState,
    measurement: Measurement,
    now: dt.datetime,
    *,
    since: dt.datetime | None = None,
    test: bool = False,
    url: str | None = None,
) -> Notice:
    """The notification of `rule` in `state` with `measurement`."""
    value = observed(rule, measurement)
    return Notice(
        rule=rule.name,
        state=state,
        metric=rule.metric,
        value=None if value is None else round(value, 4),
        threshold=rule.threshold,
        at=now,
        site=rule.site,
        severity=rule.severity,
        condition=rule.describe(),
        since=since,
        baseline=measurement.baseline,
        unit="%" if rule.comparison in ("spike", "drop") else unit_of(rule.metric),
        test=test,
        url=url,
    )


def _entry(
    rule: Rule, kind: str, now: dt.datetime, value: float | None, detail: str = ""
) -> HistoryEntry:
    return HistoryEntry(
        rule=rule.name,
        at=now,
        kind=kind,
        value=value,
        threshold=rule.threshold,
        detail=detail,
    )


def evaluate(
    rule: Rule,
    state: RuleState,
    measurement: Measurement,
    now: dt.datetime,
    *,
    url: str | None = None,
) -> Outcome:
    """Decides the rule's next state, its history entries and its notifications.

    Args:
        rule: The rule.
        state: Its state after the previous evaluation.
        measurement: Its metric now.
        now: The time of this evaluation (aware).
        url: A link to the alerts page, put in notifications.

    Returns:
        The new state (with `evaluated_at` set to `now`), what to record and what to send.
    """
    holds = breaching(rule, measurement)
    value = observed(rule, measurement)
    base = dataclasses.replace(state, evaluated_at=now)
    if holds is None:
        return Outcome(base)
    base = dataclasses.replace(base, value=value)
    if holds:
        return _while_breaching(rule, base, measurement, value, now, url)
    if state.status == "firing":
        resolved = dataclasses.replace(
            base,
            status="ok",
            since=now,
            notified_at=None,
            acknowledged_by=None,
            acknowledged_at=None,
        )
        history = [_entry(rule, "resolved", now, value)]
        notices: list[Notice] = []
        # A firing nobody was told about (silenced throughout) resolves silently.
        if state.notified_at is not None and not state.silenced(now):
            notices.append(notice(rule, "resolved", measurement, now, since=state.since, url=url))
            history.append(_entry(rule, "notified", now, value, "resolved"))
        return Outcome(resolved, tuple(history), tuple(notices))
    if state.status == "pending":
        cleared = dataclasses.replace(base, status="ok", since=now)
        return Outcome(cleared, (_entry(rule, "cleared", now, value),))
    return Outcome(base)


def _while_breaching(
    rule: Rule,
    state: RuleState,
    measurement: Measurement,
    value: float | None,
    now: dt.datetime,
    url: str | None,
) -> Outcome:
    history: list[HistoryEntry] = []
    if state.status == "ok":
        state = dataclasses.replace(state, status="pending", since=now)
        history.append(_entry(rule, "pending", now, value))
    if state.status == "pending":
        since = state.since or now
        if now - since < dt.timedelta(minutes=rule.for_minutes):
            return Outcome(state, tuple(history))
        state = dataclasses.replace(
            state,
            status="firing",
            since=now,
            notified_at=None,
            acknowledged_by=None,
            acknowledged_at=None,
        )
        history.append(_entry(rule, "firing", now, value))
    # Firing: notify unless told recently, acknowledged or silenced.
    if state.acknowledged_by is not None or state.silenced(now):
        return Outcome(state, tuple(history))
    if state.notified_at is not None and now - state.notified_at < dt.timedelta(
        minutes=rule.renotify_minutes
    ):
        return Outcome(state, tuple(history))
    repeat = state.notified_at is not None
    state = dataclasses.replace(state, notified_at=now)
    history.append(_entry(rule, "notified", now, value, "firing again" if repeat else "firing"))
    sent = notice(rule, "firing", measurement, now, since=state.since, url=url)
    return Outcome(state, tuple(history), (sent,))


def acknowledge(rule: Rule, state: RuleState, who: str, now: dt.datetime) -> Outcome:
    """Acknowledges a firing rule: no re-notification until it resolves.

    Raises:
        ValueError: The rule is not firing.
    """
    if state.status != "firing":
        raise ValueError(f"alert {rule.name!r} is not firing, so there is nothing to acknowledge")
    if state.acknowledged_by is not None:
        return Outcome(state)
    acked = dataclasses.replace(state, acknowledged_by=who, acknowledged_at=now)
    entry = dataclasses.replace(_entry(rule, "acknowledged", now, state.value), actor=who)
    return Outcome(acked, (entry,))


def silence(
    rule: Rule, state: RuleState, until: dt.datetime | None, who: str, now: dt.datetime
) -> Outcome:
    """Silences the rule's notifications until `until`, or lifts the silence (None).

    Raises:
        ValueError: `until` is not after `now`.
    """
    if until is None:
        if state.silenced_until is None:
            return Outcome(state)
        lifted = dataclasses.replace(state, silenced_until=None, silenced_by=None)
        entry = dataclasses.replace(_entry(rule, "unsilenced", now, state.value), actor=who)
        return Outcome(lifted, (entry,))
    if until <= now:
        raise ValueError("a silence must end in the future")
    silenced = dataclasses.replace(state, silenced_until=until, silenced_by=who)
    detail = f"until {until.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    entry = dataclasses.replace(_entry(rule, "silenced", now, state.value, detail), actor=who)
    return Outcome(silenced, (entry,))
