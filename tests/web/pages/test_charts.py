"""The dashboard's SVG charts: what a reader sees, hovers and hears, under a strict CSP."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from footfall.web.pages.charts import (
    bar_svg,
    compact_number,
    format_number,
    line_chart,
    nice_ticks,
    sparkline,
    x_label_indices,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(\"x\")</script> & 'q'"
_COMMAND = re.compile(r"([MLZ])\s*(?:(-?[\d.]+),(-?[\d.]+))?")
_NUMERIC = ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height")


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [element for element in root.iter() if name in classes(element)]


def subpaths(d: str) -> list[list[tuple[float, float]]]:
    """The vertices of a path's M/L commands, one list per subpath (Z adds none)."""
    runs: list[list[tuple[float, float]]] = []
    for command, x, y in _COMMAND.findall(d):
        if command == "M":
            runs.append([])
        if command in "ML":
            runs[-1].append((float(x), float(y)))
    return runs


def main_line(root: ET.Element) -> ET.Element:
    (line,) = [e for e in by_class(root, "ff-line") if "ff-line-compare" not in classes(e)]
    return line


def compare_line(root: ET.Element) -> ET.Element:
    (line,) = by_class(root, "ff-line-compare")
    return line


def tooltips(root: ET.Element) -> list[str]:
    return [point.findtext(f"{SVG}title") or "" for point in by_class(root, "ff-point")]


def y_tick_labels(root: ET.Element) -> list[str]:
    return [e.text or "" for e in by_class(root, "ff-tick-y")]


def x_tick_labels(root: ET.Element) -> list[ET.Element]:
    return by_class(root, "ff-tick-x")


def series(*values: float | None) -> list[tuple[str, float | None]]:
    return [(f"day {index + 1}", value) for index, value in enumerate(values)]


def assert_csp_safe(root: ET.Element) -> None:
    """Nothing the Content-Security-Policy would block: no style or script, no handlers."""
    for element in root.iter():
        assert element.tag not in (f"{SVG}style", f"{SVG}script", "style", "script")
        for name in element.attrib:
            assert name != "style"
            assert not name.startswith("on")


def assert_finite_geometry(root: ET.Element) -> None:
    for element in root.iter():
        for name in _NUMERIC:
            if name in element.attrib:
                assert math.isfinite(float(element.attrib[name])), (name, element.attrib)
        for run in subpaths(element.get("d", "")):
            assert all(math.isfinite(x) and math.isfinite(y) for x, y in run)


def compact_value(text: str) -> float:
    units = {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
    if text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


# The line -------------------------------------------------------------------------------------


def test_one_vertex_per_value_and_higher_values_are_drawn_higher() -> None:
    values = [10, 50, 30, 0, 100, 75]
    root = parse(line_chart(series(*values), title="Visitors"))

    (run,) = subpaths(main_line(root).get("d", ""))
    assert len(run) == len(values)
    xs = [x for x, _ in run]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    by_value = [y for _, y in sorted(zip(values, (y for _, y in run), strict=True))]
    assert by_value == sorted(by_value, reverse=True)  # more visitors, smaller y
    assert len(by_class(root, "ff-area")) == 1


def test_a_future_bucket_breaks_the_line_and_is_not_drawn() -> None:
    root = parse(line_chart(series(5, 8, None, 3, 4, None, None), title="Visitors"))

    runs = subpaths(main_line(root).get("d", ""))
    assert [len(run) for run in runs] == [2, 2]
    assert len(by_class(root, "ff-dot")) == 4
    assert len(tooltips(root)) == 4  # no hover target for buckets with nothing to say
    area_runs = subpaths(by_class(root, "ff-area")[0].get("d", ""))
    assert len(area_runs) == 2


def test_comparison_is_a_separate_dashed_line_aligned_by_index() -> None:
    now = series(10, 20, 30, 40, 50)
    root = parse(line_chart(now, compare=series(5, 15, 25), title="Visitors"))

    dashed = compare_line(root)
    assert dashed.get("stroke-dasharray")
    assert main_line(root).get("stroke-dasharray") is None
    (main_run,) = subpaths(main_line(root).get("d", ""))
    (compare_run,) = subpaths(dashed.get("d", ""))
    assert len(compare_run) == 3
    assert [x for x, _ in compare_run] == [x for x, _ in main_run[:3]]


def test_a_longer_previous_period_extends_the_chart() -> None:
    before = [(f"Oct {day}", float(day)) for day in range(1, 5)]
    root = parse(line_chart(series(1, 2), compare=before, title="Visitors"))

    (main_run,) = subpaths(main_line(root).get("d", ""))
    (compare_run,) = subpaths(compare_line(root).get("d", ""))
    assert len(main_run) == 2 and len(compare_run) == 4
    assert compare_run[-1][0] > main_run[-1][0]
    assert tooltips(root)[-1] == "Oct 4: no data (previous: 4)"
    assert [label.text for label in x_tick_labels(root)] == ["day 1", "day 2"]


# Axes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (1000, [0, 250, 500, 750, 1000]),
        (999, [0, 250, 500, 750, 1000]),
        (1234, [0, 500, 1000, 1500]),
        (3, [0, 1, 2, 3]),
        (0.3, [0, 0.1, 0.2, 0.3]),
    ],
)
def test_nice_ticks(maximum: float, expected: list[float]) -> None:
    assert nice_ticks(maximum) == pytest.approx(expected)


@pytest.mark.parametrize("maximum", [0, 1, 2, 5, 7, 9, 10, 11, 99, 1000, 1001, 56_789, 3.4e6])
def test_count_ticks_are_whole_and_nice_and_cover_the_maximum(maximum: float) -> None:
    ticks = nice_ticks(maximum, integer=True)

    assert 3 <= len(ticks) <= 5
    assert ticks[0] == 0 and ticks[-1] >= maximum
    step = ticks[1]
    assert all(tick.is_integer() for tick in ticks)
    assert ticks == pytest.approx([index * step for index in range(len(ticks))])
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert mantissa in (1, 2, 2.5, 5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (250, "250"),
        (0.25, "0.25"),
        (1000, "1k"),
        (1234, "1.2k"),
        (999_960, "1M"),
        (3_400_000, "3.4M"),
        (2.5e9, "2.5B"),
        (-1500, "-1.5k"),
        (1e15, "1e+15"),
        (math.inf, "inf"),
    ],
)
def test_compact_number(value: float, text: str) -> None:
    assert compact_number(value) == text


def test_format_number() -> None:
    assert [format_number(v) for v in (1234, 1234.5, 0.125, 0, -0.001)] == [
        "1,234",
        "1,234.5",
        "0.12",
        "0",
        "0",
    ]


@pytest.mark.parametrize("peak", [1, 7, 980, 1234, 56_789, 3_400_000])
def test_y_axis_labels_are_compact_start_at_zero_and_cover_the_peak(peak: int) -> None:
    root = parse(line_chart(series(0, peak // 2, peak), title="Visitors"))

    labels = y_tick_labels(root)
    assert 3 <= len(labels) <= 5
    assert labels[0] == "0"
    assert compact_value(labels[-1]) >= peak
    assert all(len(label) <= 4 for label in labels)
    baseline = by_class(root, "ff-baseline")[0]
    (run,) = subpaths(main_line(root).get("d", ""))
    assert run[0][1] == float(baseline.get("y1", "nan"))  # 0 sits on the baseline


@pytest.mark.parametrize("count", [1, 2, 7, 12, 24, 30, 31, 91, 365])
def test_x_axis_shows_at_most_seven_spread_out_labels(count: int) -> None:
    root = parse(line_chart(series(*range(count)), title="Visitors"))

    labels = x_tick_labels(root)
    assert 1 <= len(labels) <= 7
    assert len(labels) >= min(count, 4)
    assert labels[0].text == "day 1"
    xs = [float(label.get("x", "nan")) for label in labels]
    if len(xs) > 1:
        assert min(b - a for a, b in itertools.pairwise(xs)) >= 800 / 8


def test_x_label_indices() -> None:
    assert x_label_indices(31) == [0, 5, 10, 15, 20, 25, 30]
    assert x_label_indices(24) == [0, 4, 8, 12, 16, 20]
    assert x_label_indices(12) == [0, 2, 4, 6, 8, 10]
    assert x_label_indices(0) == []


def test_long_axis_labels_are_shortened_but_tooltips_are_not() -> None:
    path = "/blog/2025/a-very-long-article-slug"
    root = parse(line_chart([(path, 3)], title="Visitors"))

    (label,) = x_tick_labels(root)
    assert label.text is not None and len(label.text) <= 16 and label.text.endswith("…")
    assert tooltips(root) == [f"{path}: 3 visitors"]


# Tooltips and accessibility ------------------------------------------------------------------


def test_tooltips_carry_formatted_values_and_the_previous_period() -> None:
    days = {"2025-11-03": "Mon 3 Nov", "2025-11-04": "Tue 4 Nov"}
    root = parse(
        line_chart(
            [("2025-11-03", 1234), ("2025-11-04", None)],
            compare=[("2025-10-27", 1100), ("2025-10-28", 980)],
            title="Visitors",
            label_formatter=days.__getitem__,
        )
    )

    assert tooltips(root) == [
        "Mon 3 Nov: 1,234 visitors (previous: 1,100)",
        "Tue 4 Nov: no data (previous: 980)",
    ]
    assert [label.text for label in x_tick_labels(root)] == ["Mon 3 Nov", "Tue 4 Nov"]


def test_custom_metric_and_formatters() -> None:
    root = parse(
        line_chart(
            series(41.5, 60),
            title="Bounce rate",
            metric="",
            value_formatter=lambda v: f"{v:g}%",
            tick_formatter=lambda v: f"{v:g}%",
            axis_label_formatter=str.upper,
        )
    )

    assert tooltips(root) == ["day 1: 41.5%", "day 2: 60%"]
    assert y_tick_labels(root)[-1].endswith("%")
    assert x_tick_labels(root)[0].text == "DAY 1"


def test_chart_is_an_image_named_by_its_title_and_described_by_its_peak() -> None:
    root = parse(line_chart(series(3, 1234, 7), compare=series(1, 2, 3), title="Visitors"))

    assert root.get("role") == "img"
    assert root.get("viewBox") == "0 0 800 250"
    assert root.get("preserveAspectRatio")
    assert "ff-chart" in classes(root)
    ids = root.get("aria-labelledby", "").split()
    assert len(ids) == 2
    title, desc = (root.find(f".//*[@id='{ident}']") for ident in ids)
    assert title is not None and title.tag == f"{SVG}title" and title.text == "Visitors"
    assert desc is not None and desc.tag == f"{SVG}desc"
    assert desc.text == (
        "3 data points from day 1 to day 3. Peak 1,234 visitors at day 2; sum 1,244. "
        "Previous period: peak 3, sum 6."
    )


def test_two_charts_on_a_page_never_share_ids_and_output_is_deterministic() -> None:
    first = line_chart(series(1, 2, 3), title="Visitors")
    second = line_chart(series(1, 2, 4), title="Visitors")
    third = line_chart(series(1, 2, 3), title="Pageviews")

    page = ET.fromstring(f"<div>{first}{second}{third}</div>")
    ids = [element.get("id") for element in page.iter() if element.get("id")]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert line_chart(series(1, 2, 3), title="Visitors") == first
    chosen = parse(line_chart(series(1), title="Visitors", chart_id="main-graph"))
    assert chosen.get("aria-labelledby") == "main-graph-title main-graph-desc"


def test_text_is_escaped_everywhere() -> None:
    hostile_label = "<b>&\"'"
    markup = line_chart(
        [(hostile_label, 1), (HOSTILE, 2)],
        compare=[(HOSTILE, 3)],
        title=HOSTILE,
        metric="<i>",
        chart_id='x"><script>',
    )
    root = parse(markup)

    assert "<script" not in str(markup) and "<b>" not in str(markup)
    assert_csp_safe(root)
    assert root.findtext(f"{SVG}title") == HOSTILE
    assert tooltips(root)[0] == f"{hostile_label}: 1 <i> (previous: 3)"
    assert x_tick_labels(root)[0].text == hostile_label
    assert HOSTILE in (root.findtext(f"{SVG}desc") or "")


def test_characters_xml_forbids_are_dropped() -> None:
    root = parse(line_chart([("/a\x00b\x1b", 1)], title="T\x0c"))

    assert root.findtext(f"{SVG}title") == "T"
    assert tooltips(root) == ["/ab: 1 visitor"]


# Edge cases ----------------------------------------------------------------------------------


def test_no_buckets_shows_an_empty_state() -> None:
    root = parse(line_chart([], title="Visitors", empty_text="Nothing yet"))

    assert root.get("role") == "img"
    assert [e.text for e in by_class(root, "ff-empty")] == ["Nothing yet"]
    assert not by_class(root, "ff-line") and not by_class(root, "ff-point")
    assert root.findtext(f"{SVG}desc") == "No data."
    assert parse(line_chart([], compare=[], title="Visitors")).get("role") == "img"


def test_all_zero_is_a_flat_line_on_the_baseline() -> None:
    root = parse(line_chart(series(0, 0, 0, 0), compare=series(0, 0), title="Visitors"))

    (run,) = subpaths(main_line(root).get("d", ""))
    baseline = float(by_class(root, "ff-baseline")[0].get("y1", "nan"))
    assert {y for _, y in run} == {baseline}
    labels = y_tick_labels(root)
    assert labels[0] == "0" and 3 <= len(labels) <= 5
    assert_finite_geometry(root)


def test_only_future_buckets_draw_axes_but_no_line() -> None:
    root = parse(line_chart(series(None, None, None), title="Visitors"))

    assert not by_class(root, "ff-line") and not by_class(root, "ff-area")
    assert not by_class(root, "ff-point")
    assert len(x_tick_labels(root)) == 3
    assert "No data yet." in (root.findtext(f"{SVG}desc") or "")


def test_one_bucket_is_a_centred_dot() -> None:
    root = parse(line_chart(series(42), title="Visitors"))

    (dot,) = by_class(root, "ff-dot")
    assert float(dot.get("cx", "nan")) == pytest.approx((44 + 788) / 2)
    assert tooltips(root) == ["day 1: 42 visitors"]


def test_non_finite_values_are_not_drawn() -> None:
    root = parse(line_chart(series(1, math.nan, math.inf, 2), title="Visitors"))

    assert [len(run) for run in subpaths(main_line(root).get("d", ""))] == [1, 1]
    assert_finite_geometry(root)


def test_huge_values_stay_finite() -> None:
    root = parse(line_chart(series(1.7e308, 1e308), compare=series(1.7e308), title="Big"))

    assert_finite_geometry(root)


def test_too_small_a_drawing_is_refused() -> None:
    with pytest.raises(ValueError):
        line_chart(series(1), title="Visitors", width=50)


# Sparkline and bar ---------------------------------------------------------------------------


def test_sparkline_scales_to_its_peak() -> None:
    root = parse(sparkline([0, 5, 10, 5], label="Visitors, 24 h: 20"))

    assert root.get("role") == "img" and root.get("aria-label") == "Visitors, 24 h: 20"
    assert root.get("viewBox") == "0 0 100 24"
    (run,) = subpaths(by_class(root, "ff-spark-line")[0].get("d", ""))
    ys = [y for _, y in run]
    assert len(run) == 4
    assert ys[2] < ys[1] == ys[3] < ys[0]
    assert run[0][0] == 0 and run[-1][0] == 100


@pytest.mark.parametrize(
    "values", [[], [7], [0, 0, 0], [math.nan, -3, math.inf], [1e308, 1.7e308, 5e-324]]
)
def test_sparkline_edge_cases_draw_a_line(values: list[float]) -> None:
    root = parse(sparkline(values, label=HOSTILE, width=60, height=20))

    assert root.get("aria-label") == HOSTILE
    (run,) = subpaths(by_class(root, "ff-spark-line")[0].get("d", ""))
    assert len(run) >= 2
    assert all(0 <= y <= 20 for _, y in run)
    assert_finite_geometry(root)
    assert_csp_safe(root)


@pytest.mark.parametrize(
    ("fraction", "width"),
    [(0.425, 42.5), (0, 0), (1, 100), (-0.5, 0), (7, 100), (math.nan, 0), (math.inf, 100)],
)
def test_bar_fills_its_clamped_fraction(fraction: float, width: float) -> None:
    root = parse(bar_svg(fraction, HOSTILE))

    assert root.get("viewBox") == "0 0 100 1"
    assert root.get("preserveAspectRatio") == "none"
    assert root.get("role") == "img" and root.get("aria-label") == HOSTILE
    (fill,) = by_class(root, "ff-bar-fill")
    assert float(fill.get("width", "nan")) == width
    assert_csp_safe(root)


# Properties ----------------------------------------------------------------------------------

values = st.lists(
    st.one_of(st.none(), st.floats(min_value=0, allow_nan=False, allow_infinity=False)),
    max_size=40,
)


@given(
    main=values,
    previous=st.one_of(st.none(), values),
    label=st.text(max_size=20),
)
def test_any_series_gives_well_formed_finite_svg(
    main: list[float | None], previous: list[float | None] | None, label: str
) -> None:
    points = [(f"{label}{index}", value) for index, value in enumerate(main)]
    compare = None if previous is None else [(label, value) for value in previous]
    root = parse(line_chart(points, compare=compare, title=label))

    assert_csp_safe(root)
    assert_finite_geometry(root)
    assert len(x_tick_labels(root)) <= 7
    if any(value is not None for value in main):
        runs = subpaths(main_line(root).get("d", ""))
        assert sum(len(run) for run in runs) == sum(value is not None for value in main)
        drawn = [value for value in main if value is not None]
        ys = [y for run in runs for _, y in run]
        by_value = [y for _, y in sorted(zip(drawn, ys, strict=True), key=lambda pair: pair[0])]
        assert by_value == sorted(by_value, reverse=True)  # more is never drawn lower


@given(st.lists(st.floats(), max_size=30), st.floats())
def test_any_sparkline_and_bar_are_well_formed(series_: list[float], fraction: float) -> None:
    for markup in (sparkline(series_, label="s"), bar_svg(fraction, "b")):
        root = parse(markup)
        assert_csp_safe(root)
        assert_finite_geometry(root)
