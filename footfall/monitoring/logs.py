"""Structured logs: every `logging` record rendered by structlog, one JSON object a line.

footfall's modules, uvicorn and alembic all log through the standard `logging` module; this
module installs one stderr handler on the root logger whose structlog `ProcessorFormatter`
adds the shared fields and renders the line:

- ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``event`` (the message)
- ``request_id`` and anything else bound with `structlog.contextvars` (see
  footfall.web.middleware.requestlog)
- fields passed as ``extra={...}`` (the access log's ``method``, ``path``, ``status``, ...)
- ``exception``: the traceback as one string, when the record carries one

`redact` runs last before rendering: secrets never reach the output.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.types import Processor

REDACTED = "********"
SECRET_KEY_PATTERN = re.compile(r"password|secret|token|authorization|cookie|key", re.IGNORECASE)
API_KEY_PATTERN = re.compile(r"\bff_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")

# Fields some libraries pass as `extra` that only repeat the message (uvicorn's, with ANSI codes).
_DROPPED_EXTRAS = ("color_message",)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return API_KEY_PATTERN.sub("ff_" + REDACTED, value)
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """A structlog processor that masks secrets.

    A field whose name contains password, secret, token, authorization, cookie or key
    (any case) becomes ``"********"``; footfall API keys (``ff_`` and 43 URL-safe characters)
    are masked inside every other string value.

    Args:
        _logger: Unused (structlog's processor signature).
        _method: Unused.
        event_dict: The event being logged; changed in place.

    Returns:
        The same event dict.
    """
    for name in _DROPPED_EXTRAS:
        event_dict.pop(name, None)
    for name, value in event_dict.items():
        if SECRET_KEY_PATTERN.search(name):
            event_dict[name] = REDACTED
        else:
            event_dict[name] = _mask(value)
    return event_dict


def anonymise_ip(address: str | None) -> str | None:
    """The network an address belongs to (/24 for IPv4, /48 for IPv6); None if not an address.

    A raw client address is personal data: only this network is ever logged.
    """
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]


def make_formatter(*, json: bool = True) -> structlog.stdlib.ProcessorFormatter:
    """The `logging.Formatter` that renders records as JSON (or, for humans, as text).

    Args:
        json: One JSON object a line; False renders structlog's ConsoleRenderer text.
    """
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final += [
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(sort_keys=False),
        ]
    else:
        # ConsoleRenderer formats the traceback itself (format_exc_info would make it warn).
        final += [redact, structlog.dev.ConsoleRenderer(colors=False)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(), processors=final
    )


class _FootfallHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs, told apart so a second call replaces it."""


def configure_logging(level: str, *, json: bool = True) -> None:
    """Routes all `logging` output to stderr through structlog. Calling it again replaces it.

    Handlers others installed on the root logger (pytest's capture, for one) are kept.

    Args:
        level: Minimum level name (debug, info, warning, error).
        json: One JSON object a line; False for human-readable text.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _FootfallHandler):
            root.removeHandler(handler)
    handler = _FootfallHandler(sys.stderr)
    handler.setFormatter(make_formatter(json=json))
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.lower() != "debug":
        # Alembic announces its context and, once loaded, its plugins; neither tells an
        # operator anything.
        for name in ("alembic.runtime.migration", "alembic.runtime.plugins"):
            logging.getLogger(name).setLevel(logging.WARNING)
