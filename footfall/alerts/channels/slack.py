"""Slack-compatible webhooks (Slack, Mattermost, Rocket.Chat, Discord's /slack endpoint).

An incoming webhook takes ``{"text": ...}``; the text says what fired, where and its value,
with a link to the alerts page when footfall knows its public address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ICONS = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}


def slack_text(notice: Mapping[str, Any]) -> str:
    """The message of a notice (its JSON) in Slack's mrkdwn."""
    state = str(notice.get("state"))
    icon = _ICONS.get(state, "")
    test = "[test] " if notice.get("test") else ""
    where = f" on *{notice['site']}*" if notice.get("site") else ""
    unit = notice.get("unit") or ""
    value = notice.get("value")
    shown = "no value" if value is None else f"{value:g}" if isinstance(value, float) else value
    suffix = f" {unit}" if unit and unit != notice.get("metric") else ""
    lines = [
        f"{icon} {test}*{notice.get('alert')}* is {state.upper()}{where}".strip(),
        f"{notice.get('metric')} = {shown}{suffix} ({notice.get('condition')})",
        f"severity {notice.get('severity')} · {notice.get('at')}",
    ]
    if notice.get("url"):
        lines.append(f"<{notice['url']}|Open the alerts page>")
    return "\n".join(lines)


def slack_body(notice: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body posted to a Slack-compatible webhook."""
    return {"text": slack_text(notice)}
