"""Rate limits on ingest and the Stats API, counted by the `limits` library.

Counts live in process memory by default, or in Redis when ``FOOTFALL_REDIS_URL`` is set, so
that every footfall process behind one address shares them. A Redis failure never refuses a
request: the limiter fails open, counts the error and logs at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

import limits
import redis
from limits.errors import StorageError
from limits.storage import RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from footfall.errors import ConfigError
from footfall.settings import Settings

log = logging.getLogger(__name__)

_ERROR_LOG_INTERVAL_S = 60.0
# After a Redis failure, requests are let through without asking Redis for this long, so an
# unreachable server costs one timeout a second instead of one per request.
_BACKOFF_S = 1.0
_KEY_PREFIX = "footfall:rl"
# Expired windows are dropped from memory at most this often (a sweep visits every key).
_SWEEP_INTERVAL_S = 1.0


class Decision(NamedTuple):
    """The outcome of counting one request against a limit (a tuple: cheap to build).

    Attributes:
        allowed: The request is within the limit (or the counter store failed).
        limit: Requests allowed per window.
        remaining: Requests still allowed in the current window.
        reset: When the current window ends, in epoch seconds.
    """

    allowed: bool
    limit: int
    remaining: int
    reset: float


def rate_limit_headers(decision: Decision, now: float | None = None) -> dict[str, str]:
    """The ``RateLimit-*`` headers for `decision`, plus ``Retry-After`` when it refuses.

    Args:
        decision: What `RateLimiter.hit` returned.
        now: Current epoch seconds (defaults to the wall clock).

    Returns:
        Header names and values; ``RateLimit-Reset`` and ``Retry-After`` are whole seconds
        until the window ends (``Retry-After`` at least 1).
    """
    wait = max(0, math.ceil(decision.reset - (time.time() if now is None else now)))
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(wait),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, wait))
    return headers


class FixedWindowMemoryStorage(Storage):
    """In-process fixed-window counters for `limits`: one dict entry per key and window.

    limits' own ``memory://`` storage runs a timer thread every 10 ms that visits every key,
    which cost ingest about a tenth of its throughput at a few thousand client IPs; here
    expired windows are swept from the request path at most once a second instead.
    """

    STORAGE_SCHEME = None

    def __init__(self) -> None:
        super().__init__(wrap_exceptions=True)
        self._lock = threading.Lock()
        # key -> [window end in epoch seconds, count]
        self._windows: dict[str, list[float]] = {}
        self._next_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        """Nothing here fails but bugs; they are wrapped like a backend's failures."""
        return ArithmeticError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Adds `amount` to the count of `key`, starting a window of `expiry` seconds."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            window = self._windows.get(key)
            if window is None or window[0] <= now:
                self._windows[key] = [now + expiry, amount]
                return amount
            window[1] += amount
            return int(window[1])

    def get(self, key: str) -> int:
        """The count of `key` in its current window (0 when none)."""
        window = self._windows.get(key)
        return int(window[1]) if window is not None and window[0] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        """When the window of `key` ends, in epoch seconds (now when it has none)."""
        window = self._windows.get(key)
        return window[0] if window is not None else time.time()

    def check(self) -> bool:
        """Always healthy."""
        return True

    def reset(self) -> int | None:
        """Forgets every count; returns how many keys there were."""
        with self._lock:
            count = len(self._windows)
            self._windows.clear()
        return count

    def clear(self, key: str) -> None:
        """Forgets the count of `key`."""
        with self._lock:
            self._windows.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + _SWEEP_INTERVAL_S
        expired = [key for key, window in self._windows.items() if window[0] <= now]
        for key in expired:
            del self._windows[key]


class RateLimiter:
    """Counts requests per key against `limits` rate limits, in memory or in Redis.

    Uses the fixed-window strategy: one counter per key and window, so a hit is a single
    increment (one ``INCR``-like script in Redis) and memory does not grow with the limit, unlike
    a moving window that stores one timestamp per request. The price is that a client may send
    up to twice the limit across a window boundary, which is acceptable for abuse protection
    and is what Plausible does.
    """

    def __init__(self, redis_url: str | None = None, *, socket_timeout: float = 0.25) -> None:
        """Creates the limiter; no Redis connection is made until the first hit.

        Args:
            redis_url: A redis://, rediss:// or unix:// URL; None keeps the counts in memory.
            socket_timeout: Seconds to wait for connecting to Redis and for each reply.

        Raises:
            ValueError: The URL is malformed (the message does not repeat it).
        """
        self.errors = 0
        self._lock = threading.Lock()
        self._last_logged = -_ERROR_LOG_INTERVAL_S
        self._down_until = 0.0
        self._client: redis.Redis | None = None
        self._prefixes: dict[limits.RateLimitItem, str] = {}
        storage: Storage
        if redis_url:
            # Our own client, configured like the query cache's: it understands unix:// URLs,
            # times out quickly and never retries.
            self._client = redis.Redis.from_url(
                redis_url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                retry=Retry(NoBackoff(), 0),
            )
            storage = RedisStorage(
                "redis://",
                connection_pool=self._client.connection_pool,
                key_prefix=_KEY_PREFIX,
                wrap_exceptions=True,
            )
        else:
            storage = FixedWindowMemoryStorage()
        self._storage = storage
        self._strategy = FixedWindowRateLimiter(storage)
        #: True when a hit makes a network round trip: async callers should run it in a thread.
        self.remote = self._client is not None

    def hit(self, limit: limits.RateLimitItem, *keys: str) -> Decision:
        """Counts one request against `limit` for the identity `keys`.

        Args:
            limit: The limit, as parsed by ``limits.parse``.
            keys: What the limit is per (for example an endpoint name and a client IP).

        Returns:
            Whether the request is allowed, with the numbers for the headers. When the counter
            store fails the request is allowed and the error counted.
        """
        amount = limit.amount
        if self._down_until and time.monotonic() < self._down_until:
            return Decision(True, amount, amount, time.time() + limit.get_expiry())
        # limit.key_for(*keys) costs about a microsecond; its limit-specific part is cached.
        prefix = self._prefixes.get(limit)
        if prefix is None:
            prefix = self._prefixes[limit] = limit.key_for() + "/"
        key = prefix + "/".join(keys)
        try:
            # Not FixedWindowRateLimiter.hit, which would increment then read the counter
            # again: the increment already returns the count.
            count = self._storage.incr(key, limit.get_expiry())
            reset = self._storage.get_expiry(key)
        except StorageError as exc:
            self._failed(exc.storage_error)
            return Decision(True, amount, amount, time.time() + limit.get_expiry())
        return Decision(count <= amount, amount, max(0, amount - count), reset)

    async def hit_async(self, limit: limits.RateLimitItem, *keys: str) -> Decision:
        """`hit` for the event loop: in a worker thread when it makes a network round trip."""
        if self.remote:
            return await asyncio.to_thread(self.hit, limit, *keys)
        return self.hit(limit, *keys)

    def clear(self, limit: limits.RateLimitItem, *keys: str) -> None:
        """Forgets the count of `keys` under `limit` (the next hit starts a new window)."""
        self._strategy.clear(limit, *keys)

    def close(self) -> None:
        """Closes the Redis connections, if any."""
        if self._client is not None:
            self._client.close()

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self.errors += 1
            self._down_until = now + _BACKOFF_S
            if now - self._last_logged < _ERROR_LOG_INTERVAL_S:
                return
            self._last_logged = now
            errors = self.errors
        # redis-py's messages name the host and port, never the password in the URL.
        log.warning(
            "rate limiter: Redis failed (%s: %s); allowing requests unchecked, %d failures so far",
            type(exc).__name__,
            exc,
            errors,
        )


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limiter and the limits the settings ask for, parsed once at start-up.

    Attributes:
        limiter: Where requests are counted.
        ingest: Per client IP on ``POST /api/event``; None when disabled.
        stats_api: Per API key on the Stats API; None when disabled.
        login_ip: Sign-in attempts per client IP; None when disabled.
        login_account: Sign-in attempts per email address; None when disabled.
        shared_link: Password attempts per shared link, from every address together (a
            per-link lockout that rotating addresses cannot get around); None when disabled.
    """

    limiter: RateLimiter
    ingest: limits.RateLimitItem | None
    stats_api: limits.RateLimitItem | None
    login_ip: limits.RateLimitItem | None = None
    login_account: limits.RateLimitItem | None = None
    shared_link: limits.RateLimitItem | None = None


def open_rate_limits(settings: Settings) -> RateLimits:
    """Builds the limiter and parses the limits.

    Args:
        settings: Uses ``redis_url``, ``ingest_rate_limit``, ``stats_api_hourly_limit``,
            ``login_rate_limit``, ``login_account_rate_limit`` and ``shared_link_rate_limit``.

    Returns:
        The limits; the limiter counts in Redis when a Redis URL is set, else in memory.

    Raises:
        ConfigError: The Redis URL is malformed.
    """
    try:
        limiter = RateLimiter(settings.redis_url)
    except ValueError as exc:
        # The URL may hold a password, so the message names the variable, not the value.
        raise ConfigError(f"FOOTFALL_REDIS_URL: {exc}") from None
    hourly = settings.stats_api_hourly_limit
    return RateLimits(
        limiter=limiter,
        ingest=_parse(settings.ingest_rate_limit),
        stats_api=limits.RateLimitItemPerHour(hourly) if hourly else None,
        login_ip=_parse(settings.login_rate_limit),
        login_account=_parse(settings.login_account_rate_limit),
        shared_link=_parse(settings.shared_link_rate_limit),
    )


def _parse(text: str) -> limits.RateLimitItem | None:
    return limits.parse(text) if text else None
