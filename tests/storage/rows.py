"""Event and session rows for the conformance suite, built from the stored schema's columns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from footfall.storage.schema import (
    EVENT_COLUMNS,
    EVENT_TYPES,
    NO_SCROLL_DEPTH,
    SESSION_COLUMNS,
    SESSION_TYPES,
    VISIT_COLUMNS,
)

T0 = dt.datetime(2026, 11, 2, 10, 0)


def _blank(arrow_type: Any) -> Any:
    text = str(arrow_type)
    if text == "string":
        return ""
    if text.startswith("list"):
        return []
    if text == "bool":
        return False
    return 0


def event(
    *,
    site_id: int = 1,
    at: dt.datetime = T0,
    name: str = "pageview",
    pathname: str = "/",
    visitor_id: int = 1,
    visitor: int = 1,
    session_id: int = 1,
    props: dict[str, str] | None = None,
    **visit: Any,
) -> tuple[Any, ...]:
    """One event row in `EVENT_COLUMNS` order; unnamed columns blank."""
    values: dict[str, Any] = {column: _blank(EVENT_TYPES[column]) for column in EVENT_COLUMNS}
    values.update(
        site_id=site_id,
        timestamp=at,
        name=name,
        hostname="example.com",
        pathname=pathname,
        visitor_id=visitor_id,
        visitor=visitor,
        session_id=session_id,
        props_keys=list((props or {}).keys()),
        props_values=list((props or {}).values()),
        scroll_depth=NO_SCROLL_DEPTH,
        interactive=True,
    )
    assert set(visit) <= set(VISIT_COLUMNS), visit
    values.update(visit)
    return tuple(values[c] for c in EVENT_COLUMNS)


def session(
    *,
    site_id: int = 1,
    session_id: int = 1,
    visitor_id: int = 1,
    visitor: int = 1,
    start: dt.datetime = T0,
    last: dt.datetime = T0,
    pageviews: int = 1,
    entry_page: str = "/",
    exit_page: str = "/",
    **visit: Any,
) -> tuple[Any, ...]:
    """One session row in `SESSION_COLUMNS` order; unnamed columns blank."""
    values: dict[str, Any] = {column: _blank(SESSION_TYPES[column]) for column in SESSION_COLUMNS}
    values.update(
        site_id=site_id,
        session_id=session_id,
        visitor_id=visitor_id,
        visitor=visitor,
        start=start,
        timestamp=last,
        duration=int((last - start).total_seconds()),
        pageviews=pageviews,
        events=pageviews,
        is_bounce=pageviews < 2,
        entry_page=entry_page,
        exit_page=exit_page,
        hostname="example.com",
        exit_hostname="example.com",
    )
    values.update(visit)
    return tuple(values[c] for c in SESSION_COLUMNS)
