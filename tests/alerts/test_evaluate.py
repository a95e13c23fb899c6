"""The evaluator alone: states, de-duplication, re-notification, silences, acknowledgement."""

from __future__ import annotations

import datetime as dt

import pytest

from footfall.alerts.evaluate import acknowledge, breaching, evaluate, observed, silence
from footfall.alerts.model import Channel, Measurement, Rule, RuleState

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def rule(**changes: object) -> Rule:
    values: dict[str, object] = {
        "id": 1,
        "name": "busy",
        "metric": "visitors",
        "comparison": "above",
        "threshold": 10.0,
        "window_minutes": 15,
        "for_minutes": 5,
        "renotify_minutes": 60,
        "channels": (Channel("log"),),
        "site_id": 1,
        "site": "example.com",
    }
    values.update(changes)
    return Rule(**values)  # type: ignore[arg-type]


def run(r: Rule, values: list[tuple[float, float | None]]) -> tuple[RuleState, list[str], int]:
    """Feeds (minute, value) pairs; returns the final state, the history kinds, notices sent."""
    state = RuleState()
    kinds: list[str] = []
    sent = 0
    for minute, value in values:
        outcome = evaluate(r, state, Measurement(value), at(minute))
        state = outcome.state
        kinds += [h.kind for h in outcome.history]
        sent += len(outcome.notices)
    return state, kinds, sent


def test_pending_then_firing_after_the_for_duration_then_resolved() -> None:
    r = rule()
    state, kinds, sent = run(r, [(0, 11), (4, 12)])
    assert state.status == "pending" and kinds == ["pending"] and sent == 0
    outcome = evaluate(r, state, Measurement(13), at(5))
    assert outcome.state.status == "firing"
    assert [h.kind for h in outcome.history] == ["firing", "notified"]
    (notice,) = outcome.notices
    body = notice.as_json()
    assert body["alert"] == "busy" and body["state"] == "firing" and body["site"] == "example.com"
    assert body["metric"] == "visitors" and body["value"] == 13 and body["threshold"] == 10
    assert body["at"] == "2026-11-02T10:05:00Z"
    resolved = evaluate(r, outcome.state, Measurement(3), at(6))
    assert resolved.state.status == "ok"
    assert [n.state for n in resolved.notices] == ["resolved"]


def test_a_short_breach_is_cleared_without_a_notification() -> None:
    state, kinds, sent = run(rule(), [(0, 50), (2, 1)])
    assert state.status == "ok" and kinds == ["pending", "cleared"] and sent == 0


def test_for_zero_fires_at_once() -> None:
    state, kinds, sent = run(rule(for_minutes=0), [(0, 11)])
    assert state.status == "firing" and kinds == ["pending", "firing", "notified"] and sent == 1


def test_a_rule_that_stays_firing_is_not_resent_inside_its_renotify_interval() -> None:
    values = [(0.0, 20.0), *((float(m), 20.0) for m in range(1, 60))]
    state, _, sent = run(rule(for_minutes=0, renotify_minutes=60), values)
    assert state.status == "firing" and sent == 1
    again = evaluate(rule(for_minutes=0), state, Measurement(20), at(60))
    assert len(again.notices) == 1
    assert again.history[-1].detail == "firing again"


def test_acknowledged_firing_is_not_renotified_but_its_resolution_is() -> None:
    r = rule(for_minutes=0, renotify_minutes=1)
    state, _, _ = run(r, [(0, 20)])
    acked = acknowledge(r, state, "user:ops@example.com", at(1))
    assert acked.state.acknowledged_by == "user:ops@example.com"
    assert acked.history[0].actor == "user:ops@example.com"
    later = evaluate(r, acked.state, Measurement(20), at(30))
    assert later.notices == ()
    resolved = evaluate(r, later.state, Measurement(0), at(31))
    assert [n.state for n in resolved.notices] == ["resolved"]
    assert resolved.state.acknowledged_by is None
    with pytest.raises(ValueError, match="not firing"):
        acknowledge(r, resolved.state, "someone", at(32))


def test_a_silence_holds_notifications_until_it_ends() -> None:
    r = rule(for_minutes=0)
    silenced = silence(r, RuleState(), at(30), "cli:ops", at(0)).state
    firing = evaluate(r, silenced, Measurement(20), at(1))
    assert firing.state.status == "firing" and firing.notices == ()
    still = evaluate(r, firing.state, Measurement(20), at(29))
    assert still.notices == ()
    after = evaluate(r, still.state, Measurement(20), at(30))
    assert len(after.notices) == 1
    with pytest.raises(ValueError, match="future"):
        silence(r, RuleState(), at(0), "cli:ops", at(1))
    lifted = silence(r, silenced, None, "cli:ops", at(2))
    assert lifted.state.silenced_until is None and lifted.history[0].kind == "unsilenced"


def test_a_firing_nobody_was_told_of_resolves_silently() -> None:
    r = rule(for_minutes=0)
    silenced = silence(r, RuleState(), at(30), "cli:ops", at(0)).state
    firing = evaluate(r, silenced, Measurement(20), at(1))
    resolved = evaluate(r, firing.state, Measurement(0), at(2))
    assert resolved.state.status == "ok" and resolved.notices == ()


def test_no_value_changes_nothing() -> None:
    r = rule(for_minutes=0)
    state, _, _ = run(r, [(0, 20)])
    outcome = evaluate(r, state, Measurement(None, error="no data"), at(1))
    assert outcome.state.status == "firing" and outcome.history == () and outcome.notices == ()
    assert outcome.state.evaluated_at == at(1)


@pytest.mark.parametrize(
    ("comparison", "threshold", "value", "baseline", "holds"),
    [
        ("above", 10, 11, None, True),
        ("above", 10, 10, None, False),
        ("below", 5, 4, None, True),
        ("below", 5, 5, None, False),
        ("spike", 50, 150, 100, True),
        ("spike", 50, 149, 100, False),
        ("spike", 50, 10, 0, False),
        ("drop", 30, 70, 100, True),
        ("drop", 30, 71, 100, False),
        ("drop", 30, 0, 0, False),
        ("stalled", 1, 0, 5, True),
        ("stalled", 1, 0, 0, False),
        ("stalled", 1, 1, 5, False),
    ],
)
def test_conditions(
    comparison: str, threshold: float, value: float, baseline: float | None, holds: bool
) -> None:
    metric = "ops:ingest_stalled" if comparison == "stalled" else "visitors"
    r = rule(comparison=comparison, threshold=float(threshold), metric=metric)
    assert breaching(r, Measurement(value, baseline)) is holds


def test_spike_and_drop_report_the_change_in_percent() -> None:
    r = rule(comparison="drop", threshold=30.0)
    assert observed(r, Measurement(60, 100)) == -40
    outcome = evaluate(
        rule(comparison="drop", threshold=30.0, for_minutes=0),
        RuleState(),
        Measurement(60, 100),
        at(0),
    )
    body = outcome.notices[0].as_json()
    assert body["value"] == -40 and body["baseline"] == 100 and body["unit"] == "%"
