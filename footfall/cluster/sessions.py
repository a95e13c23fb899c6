"""Live sessions in Redis: one atomic script per visitor event, shared by every worker.

`RedisSessions` implements `footfall.sessions.store.SessionStore`. Each event runs one Lua
script (`_TRACK`), which Redis executes atomically, so two workers receiving the same
visitor's events at the same moment still build one session. The script applies Plausible's
rule exactly as `footfall.sessions.rule` does in memory — continue when at most 30 whole
minutes passed since the last sign of life, else start a new session under the current salt's
hash; entry and exit pages from pageviews; a bounce until a second pageview or an interactive
custom event — and in the same step:

* numbers a new session with a cluster-wide counter (``INCR``) and gives it the visitor's
  number, allocating the next one from another counter the first time a hash is seen that day;
* counts a version per change, and returns the state it replaced, which the writer stores as
  ClickHouse's cancel row (`footfall.storage.versions`).

Keys (prefix ``footfall:``): ``session:<site>:<hash>`` a hash per live session, expiring 35
minutes after its last event; ``visitor:<site>:<hash>`` the visitor number of a hash, kept for
the two days a salt can be in use; ``seq:session`` and ``seq:visitor`` the counters.
The immutable part of a session (visit attributes and entry props) is stored as one JSON value
the script never reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import redis

from footfall.errors import StoreError
from footfall.sessions.rule import Session
from footfall.sessions.store import Hit, Opening, SessionFigures, Tracked

PREFIX = "footfall:"
SESSION_COUNTER = PREFIX + "seq:session"
VISITOR_COUNTER = PREFIX + "seq:visitor"
# A session's key outlives its last event by more than the 30 minutes it may continue for.
SESSION_TTL_MS = 35 * 60 * 1000
# A hash is looked up for new sessions on the day of its salt only; two days is ample.
NUMBER_TTL_MS = 50 * 3600 * 1000
_EPOCH = dt.datetime(1970, 1, 1)
_REMEMBER_CHUNK = 5000

# KEYS: current hash's session, previous hash's session (or ""), the session counter, the
# current hash's visitor number, the visitor counter.
# ARGV: timestamp (epoch seconds), name, hostname, pathname, interactive (1/0), session TTL,
# number TTL, the new session's immutable part (JSON).
# Returns {0} for an engagement event without a session, else {which key (1 or 2), created
# (1/0), state} or {which, 0, state, replaced state}; a state is the values of FIELDS.
_TRACK = """
local FIELDS = {'sid', 'vn', 'start', 'o', 'last', 'seen', 'pv', 'ev', 'bounce', 'entry',
                'exit', 'host', 'xhost', 'ver'}
local ts = tonumber(ARGV[1])
local name = ARGV[2]
local function load(key)
  if key == '' then return nil end
  local values = redis.call('HMGET', key, unpack(FIELDS))
  if not values[1] then return nil end
  return values
end
local function continues(s)
  local seen = tonumber(s[6])
  local last = tonumber(s[5])
  if seen < last then seen = last end
  return math.floor((ts - seen) / 60) <= 30
end
local key = KEYS[1]
local which = 1
local s = load(KEYS[1])
if s == nil then
  local p = load(KEYS[2])
  if p ~= nil and continues(p) then
    s, key, which = p, KEYS[2], 2
  end
elseif not continues(s) then
  s = nil
end
if s ~= nil then
  if name == 'engagement' then
    s[6] = ts
    redis.call('HSET', key, 'seen', ts)
    redis.call('PEXPIRE', key, ARGV[6])
    return {which, 0, s}
  end
  local old = {unpack(s)}
  if ts > tonumber(s[5]) then s[5] = ts end
  s[8] = tonumber(s[8]) + 1
  local pv = tonumber(s[7])
  if name == 'pageview' then
    pv = pv + 1
    s[7] = pv
    s[11] = ARGV[4]
    s[13] = ARGV[3]
    if s[10] == '' then
      s[10] = ARGV[4]
      s[12] = ARGV[3]
    end
  end
  if s[9] == '1' and (pv >= 2 or (name ~= 'pageview' and ARGV[5] == '1')) then s[9] = '0' end
  s[14] = tonumber(s[14]) + 1
  redis.call('HSET', key, 'last', s[5], 'pv', s[7], 'ev', s[8], 'bounce', s[9],
             'entry', s[10], 'exit', s[11], 'host', s[12], 'xhost', s[13], 'ver', s[14])
  redis.call('PEXPIRE', key, ARGV[6])
  return {which, 0, s, old}
end
if name == 'engagement' then return {0} end
local sid = redis.call('INCR', KEYS[3])
local vn = redis.call('GET', KEYS[4])
if not vn then
  vn = redis.call('INCR', KEYS[5])
  redis.call('SET', KEYS[4], vn, 'PX', ARGV[7])
end
local pageview = name == 'pageview'
local bounce = '0'
if pageview or ARGV[5] ~= '1' then bounce = '1' end
local entry, host = '', ''
if pageview then entry, host = ARGV[4], ARGV[3] end
s = {sid, vn, ts, ARGV[8], ts, ts, pageview and 1 or 0, 1, bounce, entry, entry, host, host, 1}
local kv = {}
for i, field in ipairs(FIELDS) do
  kv[#kv + 1] = field
  kv[#kv + 1] = s[i]
end
redis.call("HSET", KEYS[1], unpack(kv))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {1, 1, s}
"""

# Raises a counter to at least ARGV[1]; returns 1 when the counter did not exist.
_RAISE = """
local found = redis.call('GET', KEYS[1])
if not found or tonumber(found) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
if found then return 0 end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(value: Any) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=int(value))


def session_key(site_id: int, visitor_id: int) -> str:
    """The Redis key of a visitor's live session."""
    return f"{PREFIX}session:{site_id}:{visitor_id}"


def number_key(site_id: int, visitor_id: int) -> str:
    """The Redis key of a visitor hash's number."""
    return f"{PREFIX}visitor:{site_id}:{visitor_id}"


class RedisSessions:
    """Live sessions, session ids and visitor numbers in Redis (see the module docstring)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._track = client.register_script(_TRACK)
        self._raise = client.register_script(_RAISE)
        # The immutable part of recent sessions, decoded once: (visit, entry props).
        self._openings: dict[bytes, tuple[tuple[Any, ...], tuple[tuple[str, str], ...]]] = {}

    def track(
        self,
        site_id: int,
        visitor_ids: Sequence[int],
        hit: Hit,
        opening: Callable[[], Opening],
    ) -> Tracked | None:
        """Applies one event to its visitor's session in one atomic script.

        Raises:
            StoreError: Redis failed; nothing was changed, or the change is unknown.
        """
        opened = opening() if hit.name != "engagement" else Opening((), ())
        current = visitor_ids[0]
        previous = visitor_ids[1] if len(visitor_ids) > 1 else None
        keys = [
            session_key(site_id, current),
            "" if previous is None else session_key(site_id, previous),
            SESSION_COUNTER,
            number_key(site_id, current),
            VISITOR_COUNTER,
        ]
        args: list[bytes | str | int] = [
            int((hit.timestamp - _EPOCH).total_seconds()),
            hit.name,
            hit.hostname,
            hit.pathname,
            1 if hit.interactive else 0,
            SESSION_TTL_MS,
            NUMBER_TTL_MS,
            orjson.dumps([opened.visit, opened.props]),
        ]
        try:
            found = self._track(keys=keys, args=args)
        except redis.RedisError as exc:
            raise StoreError(f"the session store (Redis) failed: {exc}") from None
        if found[0] == 0:
            return None
        visitor_id = current if found[0] == 1 else visitor_ids[1]
        session = self._session(site_id, visitor_id, found[2])
        if hit.name == "engagement":
            return Tracked(session, None)
        version = int(found[2][13])
        if found[1] == 1:
            return Tracked(session, (session.as_row(), version, None))
        replaced = self._session(site_id, visitor_id, found[3])
        return Tracked(session, (session.as_row(), version, replaced.as_row()))

    def _session(self, site_id: int, visitor_id: int, state: list[Any]) -> Session:
        sid, vn, start, blob, last, seen, pv, ev, bounce, entry, exit_, host, xhost, _ = state
        opening = self._openings.get(blob)
        if opening is None:
            visit, props = orjson.loads(blob)
            opening = (tuple(visit), tuple((str(k), str(v)) for k, v in props))
            if len(self._openings) >= 10_000:
                self._openings.clear()
            self._openings[blob] = opening
        return Session(
            site_id=site_id,
            session_id=int(sid),
            visitor_id=visitor_id,
            visitor=int(vn),
            start=_time(start),
            last=_time(last),
            pageviews=int(pv),
            events=int(ev),
            is_bounce=_text(bounce) == "1",
            entry_page=_text(entry),
            exit_page=_text(exit_),
            hostname=_text(host),
            exit_hostname=_text(xhost),
            entry_props=opening[1],
            visit=opening[0],
            seen=_time(seen),
        )

    def raise_counters(self, *, session_id: int, visitor: int) -> bool:
        """Raises the id counters to at least the stored maxima; True if Redis had none.

        Raises:
            StoreError: Redis failed.
        """
        try:
            fresh = self._raise(keys=[SESSION_COUNTER], args=[session_id])
            self._raise(keys=[VISITOR_COUNTER], args=[visitor])
        except redis.RedisError as exc:
            raise StoreError(f"the session store (Redis) failed: {exc}") from None
        return bool(fresh)

    def remember_visitors(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """Stores the numbers of visitors the event store has, where Redis has none yet."""
        pipe = self._client.pipeline(transaction=False)
        for count, (site_id, visitor_id, number) in enumerate(rows, start=1):
            pipe.set(number_key(site_id, visitor_id), number, px=NUMBER_TTL_MS, nx=True)
            if count % _REMEMBER_CHUNK == 0:
                pipe.execute()
        pipe.execute()

    def housekeep(self, now: dt.datetime, salt_created: dt.datetime) -> None:
        """Nothing to do: Redis expires ended sessions and retired numbers itself."""

    def figures(self) -> SessionFigures:
        """None held in this process: they live in Redis."""
        return SessionFigures(0, 0, 0)


class RedisAllocator:
    """Increasing ids from a Redis counter (``INCRBY``): unique across every process."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._client = client
        self._key = key

    def next(self) -> int:
        """One new id."""
        return self.reserve(1)

    def reserve(self, count: int) -> int:
        """Reserves `count` consecutive ids and returns the first.

        Raises:
            StoreError: Redis failed.
        """
        try:
            last = int(self._client.incrby(self._key, count))
        except redis.RedisError as exc:
            raise StoreError(f"the id counter (Redis) failed: {exc}") from None
        return last - count + 1
