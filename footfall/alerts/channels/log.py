"""The log channel: a notification becomes one log line (for setups that ship logs to alerting)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("footfall.alerts")


def log_notice(notice: Mapping[str, Any]) -> None:
    """Logs a notice: a warning while firing, info when resolved or a test."""
    level = (
        logging.WARNING
        if notice.get("state") == "firing" and not notice.get("test")
        else logging.INFO
    )
    log.log(
        level,
        "alert %s %s: %s=%s (%s)",
        notice.get("alert"),
        notice.get("state"),
        notice.get("metric"),
        notice.get("value"),
        notice.get("condition"),
        extra={"alert": dict(notice)},
    )
