"""The SQL aggregate of each base metric, per table the planner can choose."""

from __future__ import annotations

from footfall.stats.sql.dialect import Dialect


def metric_sql(
    metric: str,
    table: str,
    d: Dialect,
    bounds: tuple[str, str] | None,
    *,
    smear: bool,
    bounce_entry: str | None = None,
) -> str:
    """The SQL aggregate of `metric` over `table` (events, sessions or engagement rows).

    Args:
        metric: A base metric name.
        table: Which table the aggregate reads.
        d: The SQL dialect.
        bounds: The visitor-number bounds for the exact distinct count, if known.
        smear: Sessions may appear once per event (joined), so count them distinctly.
        bounce_entry: A condition on sessions: only those meeting it count for `bounce_rate`.
    """
    if metric == "visitors":
        return d.distinct_visitors(bounds)
    if table == "sessions":
        # Sessions (and their sums) go through the dialect: a backend may hold several
        # versions of one session's row until it merges them.
        sessions = "count(DISTINCT session_id)" if smear else d.session_count()
        bounces = d.session_sum("CAST(is_bounce AS INTEGER)")
        entered = sessions
        if bounce_entry is not None:
            # Only with a page filter, under which every row read is a session's current one.
            bounces = d.aggregate_if("sum", "CAST(is_bounce AS INTEGER)", bounce_entry)
            counted = "DISTINCT session_id" if smear else "*"
            entered = d.aggregate_if("count", counted, bounce_entry)
        return {
            "visits": sessions,
            "pageviews": f"coalesce({d.session_sum('pageviews')}, 0)",
            "events": f"coalesce({d.session_sum('events')}, 0)",
            "bounce_rate": d.round_half_even(f"100 * {bounces} / nullif({entered}, 0)", 0),
            "visit_duration": d.round_half_even(d.session_avg("duration"), 0),
            "views_per_visit": d.round_half_even(
                f"{d.session_sum('pageviews')} / nullif({sessions}, 0)", 2
            ),
        }[metric]
    if table == "engagement":
        return d.round_half_even(
            "sum(engagement_time) / 1000 / nullif(count(DISTINCT session_id), 0)", 0
        )
    return {
        "visits": "count(DISTINCT session_id)",
        "pageviews": d.count_if("name = 'pageview'"),
        "events": "count(*)",
    }[metric]
