"""Answers that used to differ from Plausible's: percentages, case, negated props, behaviour.

Expected answers are worked out by hand from Plausible's rules; each test names the file the
rule comes from. Every scenario has its own day on one site (UTC), loaded through
`POST /api/import`, and is asked through the public Stats API (v1 and v2 where both apply):

    day    visitors and their events
    11-01  a: /a        b: /b        c: /b
    11-02  d: / then Signup {author: John}      e: /
    11-03  f: / {author: John}   g: / {author: Jane}   h: / (no properties)
    11-04  one visitor each: {tier: large-1}, {tier: small-1}, {tier: small-1},
           {tier: small-2}, no properties
    11-05  i: / then Signup      j: /      k: /pricing

All in November 2026; the site has one goal, the custom event `Signup`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from footfall.meta.goals import add_goal
from footfall.meta.keys import create_key
from footfall.services import open_meta
from tests.stats_harness import StatsHarness, prepare_site, serve

NOW = dt.datetime(2026, 11, 10, 12, 0)


def _line(stamp: str, path: str, visitor: str, **extra: Any) -> str:
    body = {
        "timestamp": f"2026-{stamp}Z",
        "name": "pageview",
        "url": f"https://example.com{path}",
        "visitor_id": visitor,
        **extra,
    }
    return json.dumps(body)


LINES = [
    _line("11-01T10:00:00", "/a", "a"),
    _line("11-01T10:00:00", "/b", "b"),
    _line("11-01T11:00:00", "/b", "c"),
    _line("11-02T10:00:00", "/", "d"),
    _line("11-02T10:01:00", "/", "d", name="Signup", props={"author": "John"}),
    _line("11-02T10:00:00", "/", "e"),
    _line("11-03T10:00:00", "/", "f", props={"author": "John"}),
    _line("11-03T10:00:00", "/", "g", props={"author": "Jane"}),
    _line("11-03T10:00:00", "/", "h"),
    _line("11-04T10:00:00", "/", "t1", props={"tier": "large-1"}),
    _line("11-04T10:00:00", "/", "t2", props={"tier": "small-1"}),
    _line("11-04T10:00:00", "/", "t3", props={"tier": "small-1"}),
    _line("11-04T10:00:00", "/", "t4", props={"tier": "small-2"}),
    _line("11-04T10:00:00", "/", "t5"),
    _line("11-05T10:00:00", "/", "i"),
    _line("11-05T10:02:00", "/", "i", name="Signup"),
    _line("11-05T10:00:00", "/", "j"),
    _line("11-05T10:00:00", "/pricing", "k"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatsHarness]:
    settings, registered, key = prepare_site(tmp_path_factory.mktemp("answers") / "data")
    meta = open_meta(settings)
    _, importer = create_key(meta, name="importer", scopes=("events:import",))
    add_goal(meta, registered.id, event_name="Signup")
    with serve(settings, key, now=NOW) as h:
        response = h.client.post(
            "/api/import?site_id=example.com",
            content="\n".join(LINES) + "\n",
            headers={"authorization": f"Bearer {importer}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == len(LINES)
        yield h


def _v1(h: StatsHarness, date: str, filters: Any, metrics: str = "visitors") -> dict[str, Any]:
    """v1 aggregate values on `date`; list filters are sent as JSON, as Plausible's v1 accepts."""
    text = filters if isinstance(filters, str) else json.dumps(filters)
    status, body = h.get("aggregate", period="day", date=date, metrics=metrics, filters=text)
    assert status == 200, body
    return {name: value["value"] for name, value in body["results"].items()}


def _v2(h: StatsHarness, date: str, **query: Any) -> list[dict[str, Any]]:
    status, body = h.v2(date_range=[date, date], **query)
    assert status == 200, body
    rows: list[dict[str, Any]] = body["results"]
    return rows


def _v2_error(h: StatsHarness, **query: Any) -> str:
    status, body = h.v2(date_range=["2026-11-05", "2026-11-05"], metrics=["visitors"], **query)
    assert status == 400, body
    message: str = body["error"]
    return message


# -- percentage ------------------------------------------------------------------------------


def test_percentage_has_one_decimal(site: StatsHarness) -> None:
    """Three visitors split 1/2 are 33.3 % and 66.7 %, not 33.33 and 66.67.

    Plausible's `lib/plausible/stats/sql/special_metrics.ex` rounds `percentage` to one
    decimal (its query tests expect 33.3 and 16.7), unlike `conversion_rate` (two).
    """
    rows = _v2(site, "2026-11-01", metrics=["visitors", "percentage"], dimensions=["event:page"])
    assert rows == [
        {"metrics": [2, 66.7], "dimensions": ["/b"]},
        {"metrics": [1, 33.3], "dimensions": ["/a"]},
    ]


# -- case_sensitive: false -------------------------------------------------------------------


def test_case_insensitive_goal_filter(site: StatsHarness) -> None:
    """`signup` with `case_sensitive: false` selects the goal `Signup`: one conversion.

    Plausible's `lib/plausible/stats/goals.ex` compares goal names case-insensitively under
    the modifier, and `lib/plausible/stats/query_builder.ex` (`validate_filtered_goals_exist`)
    checks only plain `is` goal filters, so this one is not refused.
    """
    cond = ["is", "event:goal", ["signup"], {"case_sensitive": False}]
    rows = _v2(site, "2026-11-02", metrics=["visitors", "events"], filters=[cond])
    assert rows == [{"metrics": [1, 1], "dimensions": []}]
    assert _v1(site, "2026-11-02", [cond], metrics="visitors,events") == {
        "visitors": 1,
        "events": 1,
    }


@pytest.mark.parametrize(("op", "value"), [("is", "john"), ("contains", "JOH"), ("is_not", "JANE")])
def test_case_insensitive_custom_property_filter(site: StatsHarness, op: str, value: str) -> None:
    """The modifier applies to custom properties too: `john` finds `John`'s visitor.

    Plausible's `lib/plausible/stats/sql/where_builder.ex` (`filter_custom_prop`) lower-cases
    both sides under `case_sensitive: false`. On 11-03: f (John), g (Jane), h (none); `is_not`
    also takes the visitor without the property.
    """
    cond = [op, "event:props:author", [value], {"case_sensitive": False}]
    expected = 2 if op == "is_not" else 1
    assert _v2(site, "2026-11-03", metrics=["visitors"], filters=[cond]) == [
        {"metrics": [expected], "dimensions": []}
    ]
    assert _v1(site, "2026-11-03", [cond]) == {"visitors": expected}


# -- negated filters on custom properties ----------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value"), [("contains_not", "ohn"), ("matches_not", "^Jo"), ("is_not", "John")]
)
def test_negated_custom_property_filters(site: StatsHarness, op: str, value: str) -> None:
    """`contains_not` and `matches_not` need the property; only `is_not` takes events without it.

    Plausible's `test/plausible_web/controllers/api/external_stats_controller/aggregate_test.exs`
    ("contains_not custom event property", "not matches_wildcard custom event property") and
    `lib/plausible/stats/sql/where_builder.ex` (`filter_custom_prop`). On 11-03: f (John),
    g (Jane), h (no property): contains_not `ohn` → g; is_not `John` → g and h.
    """
    expected = 2 if op == "is_not" else 1
    cond = [op, "event:props:author", [value]]
    assert _v2(site, "2026-11-03", metrics=["visitors"], filters=[cond]) == [
        {"metrics": [expected], "dimensions": []}
    ]
    assert _v1(site, "2026-11-03", [cond]) == {"visitors": expected}


def test_negated_wildcard_in_the_v1_string_form_needs_the_property(site: StatsHarness) -> None:
    """`event:props:author!=*ohn*` is a wildcard negation: the visitor without props is left out.

    Plausible's `lib/plausible/stats/filters/legacy_stats_api_filter_parser.ex` turns it into
    `matches_wildcard_not`, which like `contains_not` needs the property.
    """
    assert _v1(site, "2026-11-03", "event:props:author!=*ohn*") == {"visitors": 1}


# -- wildcards in v1 JSON filters ------------------------------------------------------------


@pytest.mark.parametrize(("op", "expected"), [("matches_wildcard", 3), ("matches_wildcard_not", 1)])
def test_v1_json_wildcard_filters_on_custom_properties(
    site: StatsHarness, op: str, expected: int
) -> None:
    """v1 accepts `matches_wildcard` and `matches_wildcard_not` in JSON filters.

    Plausible's `test/plausible_web/controllers/api/external_stats_controller/aggregate_test.exs`
    ("matches custom event property", "not matches_wildcard custom event property"): of
    large-1, small-1, small-1, small-2 and one event without the property, `small*` matches
    three visitors and its negation one (the event without the property is in neither).
    """
    assert _v1(site, "2026-11-04", [[op, "event:props:tier", ["small*"]]]) == {"visitors": expected}


# -- behavioural filters ---------------------------------------------------------------------


@pytest.mark.parametrize(("op", "expected"), [("has_done", [1, 1]), ("has_not_done", [2, 2])])
def test_has_done_a_goal(site: StatsHarness, op: str, expected: list[int]) -> None:
    """`has_done` keeps the visits with a matching event, `has_not_done` the others.

    Plausible's `lib/plausible/stats/sql/where_builder.ex` (`add_filter(_, _, [:has_done, f])`):
    the sessions whose events in range match. On 11-05 i viewed a page and signed up; j and k
    each viewed a page and did not.
    """
    cond = [op, ["is", "event:goal", ["Signup"]]]
    rows = _v2(site, "2026-11-05", metrics=["visitors", "pageviews"], filters=[cond])
    assert rows == [{"metrics": expected, "dimensions": []}]


def test_has_done_inside_a_logical_filter(site: StatsHarness) -> None:
    """A behavioural filter may sit inside `and`/`or`, next to ordinary filters.

    Plausible's `lib/plausible/stats/filters/filters.ex` (`traverse`) walks into them; on
    11-05 the visitors who viewed `/pricing` or converted are k and i.
    """
    cond = [
        "or",
        [["has_done", ["is", "event:goal", ["Signup"]]], ["is", "event:page", ["/pricing"]]],
    ]
    assert _v2(site, "2026-11-05", metrics=["visitors"], filters=[cond]) == [
        {"metrics": [2], "dimensions": []}
    ]


def test_has_done_refuses_visit_filters(site: StatsHarness) -> None:
    """Plausible's `lib/plausible/stats/query_builder.ex` (`validate_behavioral_filters`)."""
    message = _v2_error(site, filters=[["has_done", ["is", "visit:browser", ["Chrome"]]]])
    assert message == (
        "Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with "
        "event dimension filters."
    )


def test_has_done_refuses_nesting(site: StatsHarness) -> None:
    """Plausible's `lib/plausible/stats/query_builder.ex` (`validate_behavioral_filters`)."""
    nested = ["has_done", ["has_not_done", ["is", "event:page", ["/"]]]]
    assert _v2_error(site, filters=[nested]) == (
        "Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested."
    )


def test_has_done_still_checks_goal_names(site: StatsHarness) -> None:
    """Goals inside behavioural filters must be configured too (`validate_filtered_goals_exist`
    reads every leaf, `lib/plausible/stats/query_builder.ex`)."""
    message = _v2_error(site, filters=[["has_done", ["is", "event:goal", ["Nope"]]]])
    assert message.startswith("Invalid filters. The goal `Nope` is not configured")
