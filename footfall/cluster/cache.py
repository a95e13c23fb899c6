"""The query cache in Redis, shared by every footfall process pointed at the same server."""

from __future__ import annotations

import logging
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from footfall.stats.cache import CacheCounters

log = logging.getLogger(__name__)

# A failing Redis is logged at most this often.
_ERROR_LOG_INTERVAL_S = 60.0


class RedisCache:
    """A cache in Redis, shared by every footfall process pointed at the same server.

    Keys are ``prefix + key`` and expire through Redis (``SET ... PX``). Any `redis.RedisError`
    is counted in `counters.errors`, logged at most once a minute, and turns a lookup into a miss
    and a store or clear into a no-op, so a Redis outage slows queries down but never fails them.
    """

    def __init__(
        self, url: str, *, prefix: str = "footfall:q:", socket_timeout: float = 0.25
    ) -> None:
        """Creates the client; no connection is made until the first command.

        Args:
            url: A redis://, rediss:// or unix:// URL, as redis-py's ``from_url`` accepts.
            prefix: Put before every key, so `clear` leaves other applications' keys alone.
            socket_timeout: Seconds to wait for connecting and for each reply.

        Raises:
            ValueError: The URL is malformed (the message does not repeat it).
        """
        self.prefix = prefix
        self.counters = CacheCounters()
        # No retries: a slow or absent Redis should cost one short timeout, not several.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._log_lock = threading.Lock()
        self._last_logged = -_ERROR_LOG_INTERVAL_S

    def get(self, key: str) -> bytes | None:
        """The value under `key`, or None when absent, expired or Redis failed."""
        try:
            value = self._client.get(self.prefix + key)
        except redis.RedisError as exc:
            self._failed("GET", exc)
            value = None
        # Replies are bytes (the client does not decode them); anything else is absent.
        if not isinstance(value, bytes):
            self.counters.count_miss()
            return None
        self.counters.count_hit()
        return value

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Stores `value` for `ttl` seconds (at least 1 ms); a Redis failure is ignored."""
        if ttl <= 0:
            return
        try:
            self._client.set(self.prefix + key, value, px=max(1, round(ttl * 1000)))
        except redis.RedisError as exc:
            self._failed("SET", exc)

    def clear(self) -> None:
        """Deletes the keys under this cache's prefix (SCAN + DEL), leaving all others."""
        pattern = _escape_glob(self.prefix) + "*"
        try:
            batch: list[bytes] = []
            for name in self._client.scan_iter(match=pattern, count=500):
                batch.append(name)
                if len(batch) >= 500:
                    self._client.delete(*batch)
                    batch.clear()
            if batch:
                self._client.delete(*batch)
        except redis.RedisError as exc:
            self._failed("clear", exc)

    def close(self) -> None:
        """Closes the client's connections."""
        self._client.close()

    def _failed(self, what: str, exc: redis.RedisError) -> None:
        self.counters.count_error()
        now = time.monotonic()
        with self._log_lock:
            if now - self._last_logged < _ERROR_LOG_INTERVAL_S:
                return
            self._last_logged = now
        # redis-py's messages name the host and port, never the password in the URL.
        log.warning(
            "query cache: Redis %s failed (%s: %s); serving uncached, %d failures so far",
            what,
            type(exc).__name__,
            exc,
            self.counters.errors,
        )


def _escape_glob(text: str) -> str:
    # SCAN MATCH uses glob patterns; a prefix must match itself literally.
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)
