"""A panel's details view (Plausible's "Details"): every row, searchable, 100 to a page.

The search and the page are in the URL like the rest of the dashboard's state. A search is a
``contains`` filter on the panel's property, case-insensitive as in Plausible; countries are
searched by name, as the panel shows them, through the codes whose names match.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from footfall.meta.sites import Site
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Goal, StatsQueryError
from footfall.stats.periods import utc_bounds
from footfall.web.pages.dashboard_data import (
    Panel,
    breakdown,
    breakdown_rows,
    range_label,
    resolve_range,
)
from footfall.web.pages.dashboard_state import (
    GOALS_TAB,
    PANELS,
    PROPS_PREFIX,
    DashboardState,
    Tab,
    columns,
)
from footfall.web.pages.places import matching_countries

PAGE_ROWS = 100
MAX_PAGE = 1000
MAX_SEARCH_CHARS = 200
PANEL_KEYS = (*PANELS, "goals", "props")


@dataclass(slots=True)
class Details:
    """What the details view shows."""

    panel: Panel | None
    range_label: str = ""
    search: str = ""
    page: int = 1
    has_next: bool = False
    prop_names: tuple[str, ...] = ()
    error: str | None = None


def read_paging(params: Any) -> tuple[str, int]:
    """The search text and page number of a details URL (bad values become the defaults)."""
    search = str(params.get("q") or "").strip()[:MAX_SEARCH_CHARS]
    try:
        page = int(params.get("page") or 1)
    except ValueError:
        page = 1
    return search, min(max(page, 1), MAX_PAGE)


def search_filters(prop: str, search: str) -> list[list[Any]] | None:
    """The filters a search adds; None when nothing can match."""
    if not search:
        return []
    if prop == "visit:country":
        codes = matching_countries(search)
        return [["is", prop, codes]] if codes else None
    return [["contains", prop, [search], {"case_sensitive": False}]]


def _tab(
    stats: StatsEngine, site: Site, state: DashboardState, key: str, now: dt.datetime
) -> tuple[str, tuple[Tab, ...], Tab, tuple[str, ...]]:
    if key == "goals":
        return GOALS_TAB.title, (GOALS_TAB,), GOALS_TAB, ()
    if key == "props":
        start, end = utc_bounds(resolve_range(state, now), site.timezone)
        names = tuple(stats.property_names(site.id, start, end))
        if not names:
            raise LookupError(key)
        name = state.prop if state.prop in names else names[0]
        tab = Tab("props", f"{PROPS_PREFIX}{name}", name)
        return "Properties", (tab,), tab, names
    title, tabs = PANELS[key]
    return title, tabs, state.tab(key), ()


def build_details(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    key: str,
    *,
    search: str = "",
    page: int = 1,
) -> Details:
    """The rows of page `page` of panel `key`'s active tab, matching `search`.

    Raises:
        LookupError: `key` names no panel (or the site has no custom properties).
    """
    if key not in PANEL_KEYS:
        raise LookupError(key)
    try:
        date_range = resolve_range(state, now)
        title, tabs, tab, names = _tab(stats, site, state, key, now)
        cols = columns(tab.prop, state.kind, detailed=True)
        details = Details(None, range_label(state, date_range), search, page, prop_names=names)
        extra = search_filters(tab.prop, search)
        rows: tuple[Any, ...] = ()
        if extra is not None:
            asked = {"limit": PAGE_ROWS, "page": page, "extra_filters": extra}
            rows = breakdown(stats, site, goals, state, now, tab.prop, cols, **asked)
            if len(rows) == PAGE_ROWS:
                # Is there a row after this page? Ask for that one row only.
                following = breakdown_rows(
                    stats,
                    site,
                    goals,
                    state,
                    now,
                    tab.prop,
                    ("visitors",),
                    limit=1,
                    page=page * PAGE_ROWS + 1,
                    extra_filters=extra,
                )
                details.has_next = bool(following)
        details.panel = Panel(key, title, tabs, tab, rows, cols)
    except StatsQueryError as exc:
        return Details(None, error=exc.message)
    return details
