"""Job leases in Redis: a background job that must run once per cluster runs where it is held.

``SET key holder NX PX ttl`` takes a free lease; the holder renews it well before it expires
and gives it back when it stops. A holder that dies (or loses Redis) simply stops renewing:
after `ttl` another worker takes the lease over. Renewal and release check the holder inside a
script, so a worker never extends or drops a lease another one has taken since.
"""

from __future__ import annotations

import logging
import os
import secrets

import redis

log = logging.getLogger(__name__)

PREFIX = "footfall:lease:"
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLeases:
    """Leases on named jobs (`footfall.jobs.runner.Leases`), held by this process."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: float = 30.0) -> None:
        self.ttl_seconds = ttl_seconds
        self.holder = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._client = client
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl_seconds * 1000))

    def acquire(self, name: str) -> bool:
        """Takes the lease if it is free (or already ours); False otherwise or on failure."""
        try:
            if self._client.set(PREFIX + name, self.holder, nx=True, px=self._ttl_ms()):
                return True
            return bool(self._renew(keys=[PREFIX + name], args=[self.holder, self._ttl_ms()]))
        except redis.RedisError as exc:
            log.warning("taking the %s job lease failed: %s", name, exc)
            return False

    def renew(self, name: str) -> bool:
        """Extends the lease while we hold it; False when it was lost (or Redis failed)."""
        try:
            return bool(self._renew(keys=[PREFIX + name], args=[self.holder, self._ttl_ms()]))
        except redis.RedisError as exc:
            log.warning("renewing the %s job lease failed: %s", name, exc)
            return False

    def release(self, name: str) -> None:
        """Gives the lease back if we hold it, so that another worker need not wait."""
        try:
            self._release(keys=[PREFIX + name], args=[self.holder])
        except redis.RedisError as exc:
            log.warning("releasing the %s job lease failed: %s", name, exc)
