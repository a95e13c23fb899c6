"""Rules in the metadata store: checks, acknowledgement and silences, history, leases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from footfall.alerts.evaluate import acknowledge, evaluate, silence
from footfall.alerts.model import Channel, Measurement
from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.alerts import (
    add_rule,
    change_state,
    delete_rule,
    get_rule,
    list_history,
    rule_views,
    save_state,
)
from footfall.meta.audit import Actor, list_entries
from footfall.meta.leases import release_lease, take_lease
from footfall.meta.sites import add_site, delete_site

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
HOOK = [Channel("webhook", "https://hooks.example.org/secret/path")]


@pytest.fixture
def meta(engine: sa.Engine) -> sa.Engine:
    add_site(engine, domain="example.com")
    return engine


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metric": "visits"}, "unknown metric"),
        ({"metric": "ops:cpu", "site": None}, "unknown ops metric"),
        ({"site": None}, "give the site"),
        ({"metric": "ops:rss"}, "give no site"),
        ({"comparison": "spike", "threshold": 0}, "greater than 0"),
        ({"window_minutes": 0}, "window"),
        ({"name": "no spaces"}, "alert name"),
        ({"channels": []}, "at least one channel"),
        ({"channels": [Channel("webhook", "ftp://x")]}, "http"),
        ({"channels": [Channel("email", "nobody")]}, "not an email"),
        ({"route": "/x"}, "only for ops:p95_latency"),
        ({"threshold": float("nan")}, "finite"),
        ({"metric": "ops:ingest_stalled", "comparison": "above"}, "stalled"),
    ],
)
def test_bad_rules_are_refused(meta: sa.Engine, changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "name": "busy",
        "site": "example.com",
        "metric": "visitors",
        "comparison": "above",
        "threshold": 5,
        "window_minutes": 10,
        "channels": HOOK,
    }
    values.update(changes)
    with pytest.raises(InvalidInputError, match=message):
        add_rule(meta, **values)  # type: ignore[arg-type]


def test_rules_are_added_listed_and_deleted_with_an_audit_trail(meta: sa.Engine) -> None:
    who = Actor("cli:ops")
    rule = add_rule(
        meta,
        name="busy",
        site="example.com",
        metric="visitors",
        comparison="above",
        threshold=5,
        window_minutes=10,
        channels=HOOK,
        actor=who,
    )
    with pytest.raises(ConflictError):
        add_rule(
            meta,
            name="busy",
            metric="ops:rss",
            comparison="above",
            threshold=1,
            window_minutes=5,
            channels=HOOK,
        )
    with pytest.raises(NotFoundError):
        add_rule(
            meta,
            name="other",
            site="nowhere.example",
            metric="visitors",
            comparison="above",
            threshold=1,
            window_minutes=5,
            channels=HOOK,
        )
    with pytest.raises(NotFoundError, match="no goal"):
        add_rule(
            meta,
            name="other",
            site="example.com",
            metric="visitors",
            goal="Nope",
            comparison="above",
            threshold=1,
            window_minutes=5,
            channels=HOOK,
        )
    assert get_rule(meta, "busy") == rule
    (entry,) = list_entries(meta, action="alert.add")
    # The audit log never holds a webhook's secret path.
    assert entry.after is not None and "secret" not in str(entry.after)
    delete_rule(meta, "busy", actor=who)
    assert rule_views(meta) == []
    assert list_entries(meta, action="alert.delete")


def test_acknowledge_and_silence_are_kept_with_who_and_when(meta: sa.Engine) -> None:
    rule = add_rule(
        meta,
        name="busy",
        site="example.com",
        metric="visitors",
        comparison="above",
        threshold=5,
        window_minutes=10,
        channels=HOOK,
    )
    who = Actor("user:ops@example.org")
    with pytest.raises(InvalidInputError, match="not firing"):
        change_state(
            meta,
            "busy",
            lambda r, s: acknowledge(r, s, who.name, T0),
            actor=who,
            action="alert.acknowledge",
        )
    outcome = evaluate(rule, rule_views(meta)[0].state, Measurement(9), T0)
    with meta.begin() as conn:
        save_state(conn, rule, outcome.state, outcome.history)
    _, state = change_state(
        meta,
        "busy",
        lambda r, s: acknowledge(r, s, who.name, T0),
        actor=who,
        action="alert.acknowledge",
    )
    assert state.acknowledged_by == who.name
    until = T0 + dt.timedelta(hours=2)
    _, state = change_state(
        meta,
        "busy",
        lambda r, s: silence(r, s, until, who.name, T0),
        actor=who,
        action="alert.silence",
    )
    (view,) = rule_views(meta)
    assert view.state.silenced_until == until and view.state.status == "firing"
    shown = view.as_json(T0)
    assert shown["silenced_until"] == "2026-11-02T12:00:00Z"
    assert shown["acknowledged_by"] == who.name
    kinds = [(e.kind, e.actor) for e in list_history(meta, rule="busy")]
    assert kinds[:2] == [("silenced", who.name), ("acknowledged", who.name)]
    assert list_entries(meta, action="alert.silence")
    with pytest.raises(InvalidInputError, match="future"):
        change_state(
            meta,
            "busy",
            lambda r, s: silence(r, s, T0, who.name, T0),
            actor=who,
            action="alert.silence",
        )


def test_deleting_a_site_deletes_its_rules_and_keeps_their_history(meta: sa.Engine) -> None:
    rule = add_rule(
        meta,
        name="busy",
        site="example.com",
        metric="visitors",
        comparison="above",
        threshold=5,
        window_minutes=10,
        channels=HOOK,
    )
    outcome = evaluate(rule, rule_views(meta)[0].state, Measurement(9), T0)
    with meta.begin() as conn:
        save_state(conn, rule, outcome.state, outcome.history)
    delete_site(meta, "example.com")
    assert rule_views(meta) == []
    assert [e.kind for e in list_history(meta, rule="busy")][-1] == "pending"


def test_one_holder_at_a_time_takes_the_lease(meta: sa.Engine) -> None:
    assert take_lease(meta, "alerts", "a:1", now=T0, seconds=60)
    assert not take_lease(meta, "alerts", "b:2", now=T0 + dt.timedelta(seconds=30), seconds=60)
    assert take_lease(meta, "alerts", "a:1", now=T0 + dt.timedelta(seconds=30), seconds=60)
    # Its holder stopped renewing: another takes over once it runs out.
    assert take_lease(meta, "alerts", "b:2", now=T0 + dt.timedelta(seconds=91), seconds=60)
    release_lease(meta, "alerts", "b:2")
    assert take_lease(meta, "alerts", "a:1", now=T0 + dt.timedelta(seconds=92), seconds=60)


def test_history_is_pruned(tmp_path: Path, meta: sa.Engine) -> None:
    from footfall.meta.alerts import HISTORY_DAYS, prune_history

    rule = add_rule(
        meta,
        name="busy",
        site="example.com",
        metric="visitors",
        comparison="above",
        threshold=5,
        window_minutes=10,
        channels=HOOK,
    )
    state = rule_views(meta)[0].state
    for minute in (0, 1):
        outcome = evaluate(
            rule, state, Measurement(9 if minute == 0 else 0), T0 + dt.timedelta(minutes=minute)
        )
        state = outcome.state
        with meta.begin() as conn:
            save_state(conn, rule, state, outcome.history)
    assert prune_history(meta, T0 + dt.timedelta(days=HISTORY_DAYS + 1)) == 5
    assert list_history(meta) == []


def test_the_state_of_a_rule_deleted_meanwhile_is_not_kept(meta: sa.Engine) -> None:
    rule = add_rule(
        meta,
        name="gone",
        site="example.com",
        metric="visitors",
        comparison="above",
        threshold=5,
        window_minutes=10,
        channels=HOOK,
    )
    outcome = evaluate(rule, rule_views(meta)[0].state, Measurement(9), T0)
    delete_rule(meta, "gone")
    with meta.begin() as conn:
        assert not save_state(conn, rule, outcome.state, outcome.history)
    assert list_history(meta, rule="gone") == []
