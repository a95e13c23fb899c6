"""Webhook deliveries: a JSON ``POST``, signed with HMAC-SHA256 when a secret is set.

The signature covers the timestamp and the body: ``X-Footfall-Signature: sha256=<hex>`` is
``HMAC-SHA256(secret, "<X-Footfall-Timestamp>." + body)``. A receiver recomputes it over the raw
body, compares in constant time, and refuses timestamps more than a few minutes old (replays).
``X-Footfall-Delivery`` names the delivery; a retried delivery repeats it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Footfall-Signature"
TIMESTAMP_HEADER = "X-Footfall-Timestamp"
DELIVERY_HEADER = "X-Footfall-Delivery"
USER_AGENT = "footfall-alerts"


class DeliveryError(Exception):
    """A channel did not take a message; the text says why and never holds a secret."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    now: dt.datetime,
    secret: str = "",
    timeout: float = 10.0,
    delivery_id: int | None = None,
) -> None:
    """Posts `body` as JSON to `url`; any 2xx answer counts as delivered.

    Raises:
        DeliveryError: The server could not be reached, timed out, or answered otherwise
            (redirects are not followed). The message never holds the URL, which may be
            secret (a Slack webhook's path is its key).
    """
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, data)
    if delivery_id is not None:
        headers[DELIVERY_HEADER] = str(delivery_id)
    try:
        response = httpx.post(
            url, content=data, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{exc.__class__.__name__}: {_reason(exc)}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"the server answered HTTP {response.status_code}")


def _reason(exc: httpx.HTTPError) -> str:
    # httpx puts the URL into some messages: keep only the part before it.
    text = str(exc) or "no answer"
    return text.split(" for url ")[0].split("http")[0].strip(" :'\"") or "no answer"
