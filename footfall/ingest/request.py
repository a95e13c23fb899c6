"""Parsing and validating a `POST /api/event` body, with Plausible's exact error messages.

Follows `Plausible.Ingestion.Request` (see docs/plausible-compat.md): short keys win over long
ones, every failing field is reported together, and nothing here touches the network or a store.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

MAX_NAME_CHARS = 120
MAX_URL_BYTES = 2000
MAX_REFERRER_CHARS = 2000
MAX_PROPS = 30
MAX_PROP_KEY_BYTES = 300
MAX_PROP_VALUE_BYTES = 2000
MAX_ENGAGEMENT_MS = 30 * 24 * 3600 * 1000
# Events whose props get the page path filled in when the client did not send one.
GOALS_WITH_PATH = frozenset({"404", "WP Form Completions", "Form: Submission"})

PROPS_ERROR = "keys should have at most 300 bytes and values 2000 bytes"
ENGAGEMENT_ERROR = (
    "engagement event requires a valid integer value for at least one of 'sd' or 'e' fields"
)
BODY_ERROR = "Unable to parse request body as json"

Errors = dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class EventRequest:
    """A validated event as the client described it, before enrichment."""

    name: str
    url: str
    domains: tuple[str, ...]
    referrer: str | None
    props: tuple[tuple[str, str], ...]
    hash_mode: bool
    interactive: bool
    scroll_depth: int | None
    engagement_time: int | None


class BodyError(ValueError):
    """The body is not a JSON object (the caller picks the response format)."""


def decode_body(body: bytes) -> dict[str, Any]:
    """Decodes a request body that must hold one JSON object.

    Raises:
        BodyError: Not JSON, or JSON that is not an object.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(BODY_ERROR) from exc
    if not isinstance(value, dict):
        raise BodyError(BODY_ERROR)
    return value


def decode_json_body(body: bytes) -> dict[str, Any]:
    """Decodes an `application/json` body the way Plug does.

    An empty body is an empty object and a value that is not an object is wrapped as
    ``{"_json": value}``, so both fail later with field errors.

    Raises:
        BodyError: The body is not JSON at all.
    """
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(BODY_ERROR) from exc
    return value if isinstance(value, dict) else {"_json": value}


def _first(body: dict[str, Any], *keys: str) -> Any:
    # Elixir's `a || b`: only null and false fall through to the next key.
    for key in keys:
        value = body.get(key)
        if value is not None and value is not False:
            return value
    return None


def _stringify(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    return None


def parse_props(raw: Any) -> tuple[tuple[tuple[str, str], ...], bool]:
    """Cleans custom properties; returns them and whether any key or value is too long."""
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raw = {}
    if not isinstance(raw, dict):
        return (), False
    props: list[tuple[str, str]] = []
    too_long = False
    for key, value in raw.items():
        text = _stringify(value)
        if text is None or not str(key).lstrip() or not text.lstrip():
            continue
        if len(props) >= MAX_PROPS:
            break
        if len(key.encode()) > MAX_PROP_KEY_BYTES or len(text.encode()) > MAX_PROP_VALUE_BYTES:
            too_long = True
        props.append((key, text))
    return tuple(props), too_long


def _parse_name(body: dict[str, Any], errors: Errors) -> str:
    name = _first(body, "n", "name")
    if isinstance(name, int) and not isinstance(name, bool):
        try:
            name = str(name)
        except ValueError:  # beyond Python's int-to-text limit: no name is that long anyway
            errors["event_name"] = [f"should be at most {MAX_NAME_CHARS} character(s)"]
            return ""
    if name is None or name == "":
        errors["event_name"] = ["can't be blank"]
        return ""
    if not isinstance(name, str):
        errors["event_name"] = ["is invalid"]
        return ""
    if len(name) > MAX_NAME_CHARS:
        errors["event_name"] = [f"should be at most {MAX_NAME_CHARS} character(s)"]
    return name


def _parse_url(body: dict[str, Any], errors: Errors) -> tuple[str, str]:
    """Returns the URL and its host (empty when it has none)."""
    url = _first(body, "u", "url")
    if url is None:
        errors["url"] = ["is required"]
        return "", ""
    if not isinstance(url, str) or len(url.encode()) > MAX_URL_BYTES:
        errors["url"] = ["must be a valid url"]
        return "", ""
    checked = _scheme_and_host(url)
    if checked is None:
        errors["url"] = ["must be a valid url"]
        return "", ""
    scheme, host = checked
    if scheme == "data":
        errors["url"] = ["scheme is not allowed"]
    return url, host


@functools.lru_cache(maxsize=16_384)
def _scheme_and_host(url: str) -> tuple[str, str] | None:
    # Pages recur, so the split is cached; None when the URL cannot be parsed at all.
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), parts.hostname or ""
    except ValueError:
        return None


def _parse_domains(body: dict[str, Any], url_host: str, errors: Errors) -> tuple[str, ...]:
    raw = _first(body, "d", "domain")
    if raw is None:
        host = url_host.strip().lower().removeprefix("www.")
        if not host:
            errors["domain"] = ["can't be blank"]
            return ()
        return (host,)
    if not isinstance(raw, str):
        errors["domain"] = ["is invalid"]
        return ()
    domains = tuple(
        dict.fromkeys(
            part.strip().lower().removeprefix("www.") for part in raw.split(",") if part.strip()
        )
    )
    if not domains:
        errors["domain"] = ["can't be blank"]
    return domains


def _parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _parse_hash_mode(body: dict[str, Any], errors: Errors) -> bool:
    value = _first(body, "h", "hashMode")
    if value is None:
        return False
    parsed = _parse_int(value)
    if parsed is None:
        errors["hash_mode"] = ["is invalid"]
        return False
    return parsed == 1


def _parse_engagement(body: dict[str, Any], errors: Errors) -> tuple[int | None, int | None]:
    depth = _parse_int(body.get("sd"))
    engaged = _parse_int(body.get("e"))
    if depth is None and engaged is None:
        errors["event_name"] = [ENGAGEMENT_ERROR]
        return None, None
    if depth is not None:
        depth = min(depth, 100) if depth >= 0 else None
    if engaged is not None and not 0 <= engaged < MAX_ENGAGEMENT_MS:
        engaged = 0
    return depth, engaged if engaged is not None else 0


def parse_event(body: dict[str, Any]) -> EventRequest | Errors:
    """Validates a decoded body.

    Args:
        body: The JSON object the client sent.

    Returns:
        The event, or Plausible's error map (field → messages) when anything is invalid.
    """
    errors: Errors = {}
    name = _parse_name(body, errors)
    url, host = _parse_url(body, errors)
    domains = _parse_domains(body, host, errors)
    referrer = _first(body, "r", "referrer")
    referrer = referrer[:MAX_REFERRER_CHARS] if isinstance(referrer, str) else None
    props, too_long = parse_props(_first(body, "m", "meta", "p", "props"))
    if too_long:
        errors["props"] = [PROPS_ERROR]
    hash_mode = _parse_hash_mode(body, errors)
    # Both spellings are honoured; the tracker sends `i: false` for non-interactive events.
    interactive_raw = body.get("i", body.get("interactive"))
    interactive = interactive_raw if isinstance(interactive_raw, bool) else True
    depth = engaged = None
    if name == "engagement":
        depth, engaged = _parse_engagement(body, errors)
    if errors:
        return errors
    return EventRequest(
        name=name,
        url=url,
        domains=domains,
        referrer=referrer,
        props=props,
        hash_mode=hash_mode,
        interactive=interactive,
        scroll_depth=depth,
        engagement_time=engaged,
    )
