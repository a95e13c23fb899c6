"""The shape of stored events and sessions, shared by the ingest core and every event store.

Plausible's ClickHouse schema (`events_v2`, `sessions_v2`) is the model: visit attributes are
taken from a session's first event and copied onto every event of that session, so that the Stats
API can answer visit filters from either table without a join.
"""

from __future__ import annotations

# Visit attributes, in stored order. Empty string means "not set" (0 for city).
VISIT_COLUMNS: tuple[str, ...] = (
    "referrer",
    "referrer_source",
    "channel",
    "utm_medium",
    "utm_source",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "click_id_param",
    "country",
    "region",
    "city",
    "device",
    "browser",
    "browser_version",
    "os",
    "os_version",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "site_id",
    "timestamp",
    "name",
    "hostname",
    "pathname",
    "visitor_id",
    # Not in Plausible's schema: a dense number per (site_id, visitor_id), see
    # docs/adr/0007-dense-visitor-numbers.md.
    "visitor",
    "session_id",
    "props_keys",
    "props_values",
    "scroll_depth",
    "engagement_time",
    # Not in Plausible's schema: kept so sessions (bounces) can be rebuilt from events alone.
    "interactive",
    *VISIT_COLUMNS,
)

SESSION_COLUMNS: tuple[str, ...] = (
    "site_id",
    "session_id",
    "visitor_id",
    "visitor",
    "start",
    "timestamp",
    "duration",
    "pageviews",
    "events",
    "is_bounce",
    "entry_page",
    "exit_page",
    "hostname",
    "exit_hostname",
    "entry_props_keys",
    "entry_props_values",
    *VISIT_COLUMNS,
)

# Plausible stores 255 for "no scroll depth measured".
NO_SCROLL_DEPTH = 255
