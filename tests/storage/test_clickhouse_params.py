"""The ``$n`` placeholders as typed ClickHouse parameters (pure: no engine needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from footfall.storage.clickhouse.params import bind


def test_each_value_gets_its_type_and_travels_apart() -> None:
    aware = dt.datetime(2026, 11, 2, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    sql, values = bind(
        "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $2",
        [True, 7, 2**64 - 1, 0.5, "a'b", aware, dt.date(2026, 1, 2), None, (1, 2)],
    )
    assert sql == (
        "SELECT {p1:Bool}, {p2:Int64}, {p3:UInt64}, {p4:Float64}, {p5:String}, "
        "{p6:DateTime64(6, 'UTC')}, {p7:Date}, {p8:Nullable(String)}, {p9:Array(Int64)}, "
        "{p2:Int64}"
    )
    assert values["p5"] == "a'b"
    assert values["p6"] == dt.datetime(2026, 11, 2, 10, 0)  # the same instant, naive UTC
    assert values["p9"] == [1, 2]


def test_a_placeholder_without_a_value_or_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\$3 has no value"):
        bind("SELECT $3", [1])
    with pytest.raises(TypeError, match="no ClickHouse type"):
        bind("SELECT $1", [object()])
    assert bind("SELECT $1", [[]])[0] == "SELECT {p1:Array(String)}"
