"""Charts drawn on the server as inline SVG: the dashboard graph, sparklines and bars.

The dashboard's Content-Security-Policy forbids inline style and script, so charts are neither
drawn in the browser nor sized with style attributes. These functions return SVG markup for a
template to embed as it is; ``footfall.css`` styles it through the ``ff-*`` classes. Hover
tooltips are SVG ``<title>`` elements, which browsers show without JavaScript.

Every text is escaped (labels can be page paths, which visitors control), every coordinate is
finite, and the output depends only on the arguments.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from footfall.text.quantities import noun

Point = tuple[str, float | None]
"""One bucket of a series: its label and its value (None for a bucket not reached yet)."""

MAX_X_LABELS = 7
"""The most labels the x axis shows, however many buckets there are."""

_SVG_NS = "http://www.w3.org/2000/svg"
_MAX_VALUE = 1e300  # larger values are drawn at this height; their text stays exact
_MIN_SCALE = 1e-9  # a chart whose largest value is below this is drawn as all zero
_AXIS_LABEL_CHARS = 16
# Characters XML 1.0 forbids; escaping cannot make them valid, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_UNITS = ((1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T"))


def format_number(value: float) -> str:
    """`value` with thousands separators and at most two decimals: ``1,234``, ``12.5``."""
    text = f"{value:,.2f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def compact_number(value: float) -> str:
    """`value` shortened for an axis: ``750``, ``1k``, ``1.2k``, ``3.4M``, ``0.25``."""
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    if size >= 1e15:
        return f"{value:.3g}"
    # The smallest unit that keeps the number below 1000 after rounding: 999,960 is 1M.
    for unit, suffix in _UNITS:
        scaled = round(size / unit, 1 if suffix else 2)
        if scaled < 1000:
            break
    text = f"{scaled:.2f}".rstrip("0").rstrip(".")
    if text == "0":
        return "0"
    return f"{'-' if value < 0 else ''}{text}{suffix}"


def nice_ticks(maximum: float, *, integer: bool = False) -> list[float]:
    """Three to five evenly spaced round values from 0 up to at least `maximum`.

    Args:
        maximum: The largest value the axis must show. Zero, negative and non-finite values
            give a default axis.
        integer: The values are counts, so a step is never a fraction.

    Returns:
        The tick values, 0 first, such as ``[0, 250, 500, 750, 1000]``.
    """
    if not maximum > _MIN_SCALE:  # also catches NaN
        maximum = 1.0
    maximum = min(maximum, _MAX_VALUE)
    raw = maximum / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = 10 * magnitude
    for factor in (1.0, 2.0, 2.5, 5.0):
        if integer and factor == 2.5 and magnitude < 10:
            continue
        if factor * magnitude >= raw * (1 - 1e-12):
            step = factor * magnitude
            break
    if integer and step < 1:
        step = 1.0
    intervals = max(2, math.ceil(maximum / step - 1e-6))
    digits = max(0, 3 - math.floor(math.log10(step)))
    return [round(index * step, digits) for index in range(intervals + 1)]


def x_label_indices(count: int, limit: int = MAX_X_LABELS) -> list[int]:
    """The buckets, out of `count`, whose labels the x axis shows: evenly spaced, first first."""
    if count <= 0:
        return []
    every = math.ceil(count / max(1, limit))
    return list(range(0, count, every))


def edge_label_indices(count: int) -> list[int]:
    """The first, middle and last of `count` buckets: labels that cannot overlap.

    The first label starts at the left edge, the last ends at the right one and the middle
    one is centred, so any three labels up to a third of the plot's width each fit side by side.
    """
    return sorted({0, count // 2, count - 1}) if count > 0 else []


def line_chart(
    points: Sequence[Point],
    *,
    compare: Sequence[Point] | None = None,
    title: str,
    metric: str = "visitors",
    label_formatter: Callable[[str], str] = str,
    axis_label_formatter: Callable[[str], str] | None = None,
    value_formatter: Callable[[float], str] = format_number,
    tick_formatter: Callable[[float], str] = compact_number,
    empty_text: str = "No data for this period",
    chart_id: str | None = None,
    width: int = 800,
    height: int = 250,
) -> Markup:
    """The dashboard's main graph: a series over time, optionally against a previous period.

    The series is a solid line over a light area; `compare` is a dashed line, matched to
    `points` by index (either may be longer). A None value (a bucket still in the future)
    is not drawn and breaks the line. Each bucket has a hover target whose tooltip reads
    ``Mon 3 Nov: 1,234 visitors (previous: 1,100)``.

    Args:
        points: The buckets in order, as (label, value).
        compare: The previous period's buckets, if comparing.
        title: The chart's accessible name.
        metric: The unit after a value in tooltips and the description ("" for none).
        label_formatter: Turns a bucket label into the text tooltips show.
        axis_label_formatter: Turns a bucket label into the x axis text; defaults to
            `label_formatter`. Long results are shortened.
        value_formatter: Turns a value into tooltip text.
        tick_formatter: Turns a y axis tick value into text.
        empty_text: What the chart says when there are no buckets at all.
        chart_id: The prefix of the ids of the chart's title and description. By default it
            is derived from the arguments, so two different charts on a page never clash.
        width: The width of the drawing in user units (it scales to its container).
        height: The height of the drawing in user units.

    Returns:
        An ``<svg>`` element with ``role="img"``, safe to embed in HTML as it is.

    Raises:
        ValueError: The drawing is too small to hold the axes.
    """
    if width < 160 or height < 80:
        raise ValueError("a line chart needs at least 160 x 80 user units")
    axis_format = axis_label_formatter or label_formatter
    main = _values(points)
    previous = _values(compare) if compare is not None else []
    count = max(len(main), len(previous))
    ident = chart_id or _chart_id(points, compare, title, metric, width, height)
    shown = [value for value in (*main, *previous) if value is not None]
    parts = [_svg_open(ident, width, height, empty=count == 0)]
    parts.append(f'<title id="{_text(ident)}-title">{_text(title)}</title>')
    description = _describe(
        points,
        main,
        previous if compare is not None else None,
        metric=metric,
        label_formatter=label_formatter,
        value_formatter=value_formatter,
    )
    parts.append(f'<desc id="{_text(ident)}-desc">{_text(description)}</desc>')
    if count == 0:
        parts.append(
            f'<text class="ff-empty" x="{_n(width / 2)}" y="{_n(height / 2)}" '
            f'text-anchor="middle">{_text(empty_text)}</text>'
        )
        parts.append("</svg>")
        return _markup(parts)

    ticks, frame = _scaled_frame(shown, count, width, height, top=10.0)
    # The axis names this period's buckets; past its end only tooltips name the previous one's.
    axis_points = points or compare or ()
    _draw_axes(parts, frame, ticks, [p[0] for p in axis_points], axis_format, tick_formatter)

    main_segments = _segments(main)
    if main_segments:
        parts.append(f'<path class="ff-area" d="{_area_path(frame, main_segments)}"/>')
    previous_segments = _segments(previous)
    if previous_segments:
        parts.append(
            f'<path class="ff-line ff-line-compare" fill="none" stroke-dasharray="6 4" '
            f'd="{_line_path(frame, previous_segments)}"/>'
        )
    if main_segments:
        parts.append(f'<path class="ff-line" fill="none" d="{_line_path(frame, main_segments)}"/>')

    band = (frame.right - frame.left) / max(1, count - 1) if count > 1 else frame.right - frame.left
    for index in range(count):
        value = main[index] if index < len(main) else None
        before = previous[index] if index < len(previous) else None
        if value is None and before is None:
            continue
        label = _label_at(points, compare, index)
        tip = f"{label_formatter(label)}: "
        tip += _with_unit(value, value_formatter(value), metric) if value is not None else "no data"
        if before is not None:
            tip += f" (previous: {value_formatter(before)})"
        x = frame.x(index)
        parts.append(
            f'<g class="ff-point"><title>{_text(tip)}</title>'
            f'<rect class="ff-hover" fill="transparent" x="{_n(max(frame.left, x - band / 2))}" '
            f'y="{_n(frame.top)}" width="{_n(_band_width(frame, x, band))}" '
            f'height="{_n(frame.bottom - frame.top)}"/>'
        )
        if before is not None:
            parts.append(
                f'<circle class="ff-dot ff-dot-compare" cx="{_n(x)}" '
                f'cy="{_n(frame.y(before))}" r="2.5"/>'
            )
        if value is not None:
            parts.append(f'<circle class="ff-dot" cx="{_n(x)}" cy="{_n(frame.y(value))}" r="3"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return _markup(parts)


def _scaled_frame(
    shown: Sequence[float], count: int, width: int, height: int, *, top: float, left: float = 44.0
) -> tuple[list[float], _Frame]:
    """The y ticks for the values shown and the plot area they scale to."""
    integer = all(value.is_integer() for value in shown)
    ticks = nice_ticks(max(shown, default=0.0), integer=integer)
    frame = _Frame(
        left=left, top=top, right=width - 12.0, bottom=height - 26.0, count=count, ceiling=ticks[-1]
    )
    return ticks, frame


def _draw_axes(
    parts: list[str],
    frame: _Frame,
    ticks: list[float],
    labels: Sequence[str],
    axis_format: Callable[[str], str],
    tick_formatter: Callable[[float], str],
    label_indices: Callable[[int], list[int]] = x_label_indices,
) -> None:
    """Appends the y axis with its grid and the x axis labels of a line chart."""
    parts.append('<g class="ff-axis ff-axis-y">')
    for tick in ticks:
        y = _n(frame.y(tick))
        grid = "ff-grid ff-baseline" if tick == 0 else "ff-grid"
        parts.append(
            f'<line class="{grid}" x1="{_n(frame.left)}" x2="{_n(frame.right)}" '
            f'y1="{y}" y2="{y}"/>'
            f'<text class="ff-tick ff-tick-y" x="{_n(frame.left - 6)}" y="{y}" dy="0.32em" '
            f'text-anchor="end">{_text(tick_formatter(tick))}</text>'
        )
    parts.append('</g><g class="ff-axis ff-axis-x">')
    count = frame.count
    for index in label_indices(count):
        if index >= len(labels):
            continue
        anchor = "start" if index == 0 and count > 1 else "middle"
        if index == count - 1 and count > 1:
            anchor = "end"
        parts.append(
            f'<text class="ff-tick ff-tick-x" x="{_n(frame.x(index))}" '
            f'y="{_n(frame.bottom + 18.0)}" text-anchor="{anchor}">'
            f"{_text(_shorten(axis_format(labels[index])))}</text>"
        )
    parts.append("</g>")


def multi_line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    unit: str = "",
    value_formatter: Callable[[float], str] = format_number,
    tick_formatter: Callable[[float], str] = compact_number,
    empty_text: str = "No samples yet",
    width: int = 800,
    height: int = 200,
    legend: bool = True,
    compact_axis: bool = False,
) -> Markup:
    """Several series over shared buckets, each a line of its own colour with a legend.

    For the ops dashboards (p50, p95 and p99 of a route; GC collections per generation). A
    bucket's tooltip names every series' value: ``12:00:10: p50 3 ms, p95 9 ms, p99 20 ms``.
    Series ``n`` is drawn with the class ``ff-series-<n % 4>``, which also colours a legend
    drawn outside the chart.

    Args:
        labels: The buckets' labels (x axis and tooltips), in order.
        series: (name, values) pairs; values are matched to `labels` by index, None is a gap.
        title: The chart's accessible name.
        unit: Written after each value in tooltips ("" for none).
        value_formatter: Turns a value into tooltip text.
        tick_formatter: Turns a y axis tick value into text.
        empty_text: What the chart says when there are no buckets.
        width: The width of the drawing in user units.
        height: The height of the drawing in user units.
        legend: Name the series above the plot; without it the caller shows a legend.
        compact_axis: For a drawing shown small with large text: label only the first,
            middle and last buckets (`edge_label_indices`) and widen the room for y labels.

    Returns:
        An ``<svg>`` element with ``role="img"``, safe to embed in HTML as it is.
    """
    if width < 160 or height < 80:
        raise ValueError("a line chart needs at least 160 x 80 user units")
    count = len(labels)
    ident = _chart_id(labels, series, title, unit, width, height)
    parts = [_svg_open(ident, width, height, empty=count == 0)]
    parts.append(f'<title id="{_text(ident)}-title">{_text(title)}</title>')
    names = ", ".join(name for name, _ in series)
    parts.append(f'<desc id="{_text(ident)}-desc">{_text(f"{count} samples of {names}")}</desc>')
    shown = [v for _, values in series for v in values[:count] if v is not None]
    if count == 0 or not series:
        parts.append(
            f'<text class="ff-empty" x="{_n(width / 2)}" y="{_n(height / 2)}" '
            f'text-anchor="middle">{_text(empty_text)}</text></svg>'
        )
        return _markup(parts)
    ticks, frame = _scaled_frame(
        shown,
        count,
        width,
        height,
        top=22.0 if legend else 10.0,  # room for the legend
        left=56.0 if compact_axis else 44.0,
    )
    indices = edge_label_indices if compact_axis else x_label_indices
    _draw_axes(parts, frame, ticks, labels, str, tick_formatter, indices)
    suffix = f" {unit}" if unit else ""
    for number, (name, values) in enumerate(series):
        kind = f"ff-series ff-series-{number % 4}"
        if legend:
            parts.append(
                f'<text class="ff-legend {kind}" x="{_n(frame.left + 90 * number)}" y="12">'
                f"{_text(name)}</text>"
            )
        segments = _segments(list(values[:count]))
        if segments:
            parts.append(
                f'<path class="ff-line {kind}" fill="none" d="{_line_path(frame, segments)}"/>'
            )
        for (index, value), *rest in segments:
            if not rest:  # a lone value between gaps draws no line: mark it with a dot
                parts.append(
                    f'<circle class="ff-dot {kind}" cx="{_n(frame.x(index))}" '
                    f'cy="{_n(frame.y(value))}" r="2.5"/>'
                )
    band = (frame.right - frame.left) / max(1, count - 1) if count > 1 else frame.right - frame.left
    for index in range(count):
        known = [
            (name, values[index])
            for name, values in series
            if index < len(values) and values[index] is not None
        ]
        if not known:
            continue
        tip = ", ".join(
            f"{name} {value_formatter(v)}{suffix}" for name, v in known if v is not None
        )
        x = frame.x(index)
        parts.append(
            f'<g class="ff-point"><title>{_text(f"{labels[index]}: {tip}")}</title>'
            f'<rect class="ff-hover" fill="transparent" x="{_n(max(frame.left, x - band / 2))}" '
            f'y="{_n(frame.top)}" width="{_n(_band_width(frame, x, band))}" '
            f'height="{_n(frame.bottom - frame.top)}"/></g>'
        )
    parts.append("</svg>")
    return _markup(parts)


def sparkline(values: Sequence[float], *, label: str, width: int = 100, height: int = 24) -> Markup:
    """A tiny line of recent values (the sites list's last 24 hours), scaled to its peak.

    Args:
        values: The values in order. Negative and non-finite values are drawn as 0.
        label: The accessible name, such as "Visitors in the last 24 hours: 1,234".
        width: The width in CSS pixels.
        height: The height in CSS pixels.

    Returns:
        An ``<svg>`` element with ``role="img"``; a flat line when there is nothing to show.
    """
    clean = [value if math.isfinite(value) and value > 0 else 0.0 for value in values]
    if len(clean) < 2:
        clean = clean * 2 or [0.0, 0.0]
    peak = max(clean)
    pad = 2.0
    span = height - 2 * pad

    def y(value: float) -> float:
        return height - pad - (value / peak * span if peak > 0 else 0.0)

    step = width / (len(clean) - 1)
    vertices = [f"{_n(index * step)},{_n(y(value))}" for index, value in enumerate(clean)]
    line = "M" + " L".join(vertices)
    area = f"M0,{_n(height)} L" + " L".join(vertices) + f" L{_n(width)},{_n(height)} Z"
    return _markup(
        f'<svg xmlns="{_SVG_NS}" class="ff-sparkline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{_text(label)}">'
        f'<path class="ff-spark-area" d="{area}"/>'
        f'<path class="ff-spark-line" fill="none" d="{line}"/></svg>'
    )


def bar_svg(fraction: float, label: str) -> Markup:
    """A horizontal bar filled to `fraction` of its width, drawn behind a breakdown row.

    CSS cannot size the bar (no style attributes), so the fill's width is part of the SVG: the
    drawing is 100 units wide and stretches to its container.

    Args:
        fraction: How full the bar is; clamped to [0, 1], NaN counts as 0.
        label: The accessible name, such as "42% of visitors".

    Returns:
        An ``<svg>`` element with ``role="img"``.
    """
    if math.isnan(fraction):
        fraction = 0.0
    fraction = min(max(fraction, 0.0), 1.0)
    return _markup(
        f'<svg xmlns="{_SVG_NS}" class="ff-bar" viewBox="0 0 100 1" preserveAspectRatio="none" '
        f'role="img" aria-label="{_text(label)}">'
        f'<rect class="ff-bar-fill" x="0" y="0" width="{_n(fraction * 100)}" height="1"/></svg>'
    )


@dataclass(frozen=True)
class _Frame:
    """The plot area inside a chart, and how values map onto it."""

    left: float
    top: float
    right: float
    bottom: float
    count: int
    ceiling: float

    def x(self, index: int) -> float:
        if self.count <= 1:
            return (self.left + self.right) / 2
        return self.left + (self.right - self.left) * index / (self.count - 1)

    def y(self, value: float) -> float:
        share = min(max(min(value, _MAX_VALUE) / self.ceiling, 0.0), 1.0)
        return self.bottom - (self.bottom - self.top) * share


def _values(points: Sequence[Point]) -> list[float | None]:
    return [
        float(value) if value is not None and math.isfinite(value) else None for _, value in points
    ]


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The runs of consecutive values that are not None, as (index, value)."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((index, value))
    if current:
        runs.append(current)
    return runs


def _line_path(frame: _Frame, segments: list[list[tuple[int, float]]]) -> str:
    commands = []
    for run in segments:
        for position, (index, value) in enumerate(run):
            command = "M" if position == 0 else "L"
            commands.append(f"{command}{_n(frame.x(index))},{_n(frame.y(value))}")
    return " ".join(commands)


def _area_path(frame: _Frame, segments: list[list[tuple[int, float]]]) -> str:
    commands = []
    for run in segments:
        first, last = frame.x(run[0][0]), frame.x(run[-1][0])
        commands.append(f"M{_n(first)},{_n(frame.bottom)}")
        commands.extend(f"L{_n(frame.x(index))},{_n(frame.y(value))}" for index, value in run)
        commands.append(f"L{_n(last)},{_n(frame.bottom)} Z")
    return " ".join(commands)


def _band_width(frame: _Frame, x: float, band: float) -> float:
    return min(frame.right, x + band / 2) - max(frame.left, x - band / 2)


def _label_at(points: Sequence[Point], compare: Sequence[Point] | None, index: int) -> str:
    """The label of bucket `index`: the series', or past its end the previous period's."""
    source = points if index < len(points) else compare or ()
    return source[index][0] if index < len(source) else ""


def _describe(
    points: Sequence[Point],
    main: list[float | None],
    previous: list[float | None] | None,
    *,
    metric: str,
    label_formatter: Callable[[str], str],
    value_formatter: Callable[[float], str],
) -> str:
    """The chart's text description: its span, its peak and sums, and the previous period's."""
    if not main and not previous:
        return "No data."
    sentences = []
    if points:
        first, last = label_formatter(points[0][0]), label_formatter(points[-1][0])
        span = f"from {first} to {last}" if len(points) > 1 else f"for {first}"
        sentences.append(f"{len(points)} data points {span}.")
    shown = [(value, index) for index, value in enumerate(main) if value is not None]
    if shown:
        peak, at = max(shown, key=lambda pair: (pair[0], -pair[1]))
        total = sum(value for value, _ in shown)
        peak_text = _with_unit(peak, value_formatter(peak), metric)
        sentences.append(
            f"Peak {peak_text} at {label_formatter(points[at][0])}; sum {value_formatter(total)}."
        )
    elif main:
        sentences.append("No data yet.")
    before = [value for value in previous or () if value is not None]
    if before:
        peak_text, sum_text = value_formatter(max(before)), value_formatter(sum(before))
        sentences.append(f"Previous period: peak {peak_text}, sum {sum_text}.")
    return " ".join(sentences)


def _chart_id(*arguments: object) -> str:
    digest = hashlib.sha256(repr(arguments).encode("utf-8", "surrogatepass")).hexdigest()
    return f"ff-chart-{digest[:12]}"


def _svg_open(ident: str, width: int, height: int, *, empty: bool) -> str:
    classes = "ff-chart ff-chart-empty" if empty else "ff-chart"
    ident = _text(ident)
    return (
        f'<svg xmlns="{_SVG_NS}" class="{classes}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
    )


def _with_unit(value: float, text: str, metric: str) -> str:
    """``1,234 visitors``; ``1 visitor`` (`metric` is the plural noun, as callers pass it)."""
    if not metric:
        return text
    return f"{text} {noun(value, metric.removesuffix('s'), metric)}"


def _shorten(label: str) -> str:
    if len(label) <= _AXIS_LABEL_CHARS:
        return label
    return label[: _AXIS_LABEL_CHARS - 1] + "…"


def _markup(parts: Iterable[str]) -> Markup:
    """`parts` joined and marked safe: the one place trusting markup this module built.

    Every text in it went through `_text`; the rest is fixed tags, class names and numbers.
    """
    return Markup("".join(parts))  # noqa: S704  # nosec


def _text(value: str) -> str:
    """`value` escaped for XML text and attributes, without the characters XML forbids."""
    return str(escape(_NOT_XML.sub("", value)))


def _n(value: float) -> str:
    """A coordinate, with at most two decimals."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
