"""Live sessions in Redis, shared by every worker: one atomic script per journalled event.

`RedisSessions` implements `footfall.sessions.store.SharedSessions`. Workers journal events
first and decide their sessions afterwards, in batches (`footfall.ingest.deferred`); each event
runs one Lua script (`_TRACK`), which Redis executes atomically, so two workers applying the
same visitor's events at the same moment still build one session. The script applies
Plausible's rule as `footfall.sessions.rule` does in memory — continue when at most 30 whole
minutes passed since the last sign of life, else start a new session under the current salt's
hash; entry and exit pages from pageviews; a bounce until a second pageview or an interactive
custom event — ordered by time rather than arrival (see `footfall.sessions.store`), and in the
same step:

* numbers a new session with a cluster-wide counter and gives it the visitor's number,
  allocating the next one from another counter the first time a hash is seen that day;
* counts a version per change, and returns the state it replaced, which the writer stores as
  ClickHouse's cancel row (`footfall.storage.versions`);
* keeps its outcome under the event's id — journal stream, entry and position — until the
  writer has stored it: applied again (a retried write, a replay after a crash), the event
  returns the same outcome instead of counting twice.

Keys (prefix ``footfall:``): ``session:<site>:<hash>`` a hash per live session, expiring 35
minutes after its last event; ``visitor:<site>:<hash>`` the visitor number of a hash, kept for
the two days a salt can be in use; ``seq:session`` and ``seq:visitor`` the counters;
``result:<stream>:<entry>`` the outcomes of one journal entry's events. The immutable part of
a session (visit attributes and entry props) is one JSON value the script never reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import redis

from footfall.errors import StoreError
from footfall.sessions.rule import Session
from footfall.sessions.store import Deferred, SessionFigures, Tracked

PREFIX = "footfall:"
SESSION_COUNTER = PREFIX + "seq:session"
VISITOR_COUNTER = PREFIX + "seq:visitor"
# A session's key outlives its last event by more than the 30 minutes it may continue for.
SESSION_TTL_MS = 35 * 60 * 1000
# A hash is looked up for new sessions on the day of its salt only; two days is ample.
NUMBER_TTL_MS = 50 * 3600 * 1000
# Outcomes wait for the writer; a worker that never comes back leaves them for a week.
RESULT_TTL_MS = 7 * 24 * 3600 * 1000
_EPOCH = dt.datetime(1970, 1, 1)
# Commands sent in one round trip.
_CHUNK = 2000

# KEYS: the current hash's session, the previous hash's session (or ""), the session counter,
# the current hash's visitor number, the visitor counter, the entry's outcomes.
# ARGV: position in the entry, timestamp (epoch seconds), name, hostname, pathname,
# interactive (1/0), session TTL, number TTL, outcome TTL, the immutable part (JSON).
# Returns the outcome as JSON: [0] for an engagement event without a session, else
# [which key (1 or 2), created (1/0), state, replaced state or false, immutable part]; a state
# lists the first 13 FIELDS. fpv and lpv are the times of the entry and exit pageviews.
_TRACK = """
local FIELDS = {'sid', 'vn', 'start', 'last', 'seen', 'pv', 'ev', 'bounce', 'entry', 'exit',
                'host', 'xhost', 'ver', 'fpv', 'lpv', 'o'}
local done = redis.call('HGET', KEYS[6], ARGV[1])
if done then return done end
local ts = tonumber(ARGV[2])
local name = ARGV[3]
local function finish(outcome)
  local out = cjson.encode(outcome)
  redis.call('HSET', KEYS[6], ARGV[1], out)
  redis.call('PEXPIRE', KEYS[6], ARGV[9])
  return out
end
local function load(key)
  if key == '' then return nil end
  local values = redis.call('HMGET', key, unpack(FIELDS))
  if not values[1] then return nil end
  return values
end
local function continues(s)
  local seen = math.max(tonumber(s[5]), tonumber(s[4]))
  return math.floor((ts - seen) / 60) <= 30
end
local function view(s)
  return {s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13]}
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
    if ts > tonumber(s[5]) then
      s[5] = ts
      redis.call('HSET', key, 'seen', ts)
    end
    redis.call('PEXPIRE', key, ARGV[7])
    return finish({which, 0, view(s), false, s[16]})
  end
  local old = view(s)
  s[3] = math.min(tonumber(s[3]), ts)
  s[4] = math.max(tonumber(s[4]), ts)
  s[7] = tonumber(s[7]) + 1
  local pv = tonumber(s[6])
  if name == 'pageview' then
    pv = pv + 1
    s[6] = pv
    if s[14] == '' or ts < tonumber(s[14]) then
      s[9], s[11], s[14] = ARGV[5], ARGV[4], ts
    end
    if s[15] == '' or ts >= tonumber(s[15]) then
      s[10], s[12], s[15] = ARGV[5], ARGV[4], ts
    end
  end
  if s[8] == '1' and (pv >= 2 or (name ~= 'pageview' and ARGV[6] == '1')) then s[8] = '0' end
  s[13] = tonumber(s[13]) + 1
  redis.call('HSET', key, 'start', s[3], 'last', s[4], 'pv', s[6], 'ev', s[7], 'bounce', s[8],
             'entry', s[9], 'exit', s[10], 'host', s[11], 'xhost', s[12], 'ver', s[13],
             'fpv', s[14], 'lpv', s[15])
  redis.call('PEXPIRE', key, ARGV[7])
  return finish({which, 0, view(s), old, s[16]})
end
if name == 'engagement' then return finish({0}) end
local sid = redis.call('INCR', KEYS[3])
local vn = redis.call('GET', KEYS[4])
if not vn then
  vn = redis.call('INCR', KEYS[5])
  redis.call('SET', KEYS[4], vn, 'PX', ARGV[8])
end
local bounce, entry, host, at = '1', '', '', ''
if name ~= 'pageview' and ARGV[6] == '1' then bounce = '0' end
if name == 'pageview' then entry, host, at = ARGV[5], ARGV[4], ts end
s = {sid, vn, ts, ts, ts, 0, 1, bounce, entry, entry, host, host, 1, at, at, ARGV[10]}
if name == 'pageview' then s[6] = 1 end
local kv = {}
for i, field in ipairs(FIELDS) do
  kv[#kv + 1] = field
  kv[#kv + 1] = s[i]
end
redis.call('HSET', KEYS[1], unpack(kv))
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return finish({1, 1, view(s), false, s[16]})
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


def _time(value: Any) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=int(value))


def session_key(site_id: int, visitor_id: int) -> str:
    """The Redis key of a visitor's live session."""
    return f"{PREFIX}session:{site_id}:{visitor_id}"


def number_key(site_id: int, visitor_id: int) -> str:
    """The Redis key of a visitor hash's number."""
    return f"{PREFIX}visitor:{site_id}:{visitor_id}"


def result_key(stream: int, seq: int) -> str:
    """The Redis key of the outcomes of one journal entry's events."""
    return f"{PREFIX}result:{stream}:{seq}"


class RedisSessions:
    """Live sessions, session ids and visitor numbers in Redis (see the module docstring)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._track = client.register_script(_TRACK)
        self._raise = client.register_script(_RAISE)
        # The immutable part of recent sessions, decoded once: (visit, entry props).
        self._openings: dict[str, tuple[tuple[Any, ...], tuple[tuple[str, str], ...]]] = {}

    def track_batch(self, stream: int, events: Sequence[Deferred]) -> list[Tracked | None]:
        """Applies journalled events in order, a few thousand per round trip.

        Raises:
            StoreError: Redis failed; asking again with the same events is safe.
        """
        outcomes: list[Any] = []
        try:
            for first in range(0, len(events), _CHUNK):
                pipe = self._client.pipeline(transaction=False)
                for event in events[first : first + _CHUNK]:
                    self._script_call(pipe, stream, event)
                outcomes.extend(pipe.execute())
        except redis.RedisError as exc:
            raise StoreError(f"the session store (Redis) failed: {exc}") from None
        return [self._tracked(e, orjson.loads(o)) for e, o in zip(events, outcomes, strict=True)]

    def _script_call(self, pipe: Any, stream: int, event: Deferred) -> None:
        ids = event.visitor_ids
        hit = event.hit
        opening = b""
        if hit.name != "engagement":
            opening = orjson.dumps([event.opening.visit, event.opening.props])
        keys = [
            session_key(event.site_id, ids[0]),
            session_key(event.site_id, ids[1]) if len(ids) > 1 else "",
            SESSION_COUNTER,
            number_key(event.site_id, ids[0]),
            VISITOR_COUNTER,
            result_key(stream, event.seq),
        ]
        args: list[bytes | str | int] = [
            event.index,
            int((hit.timestamp - _EPOCH).total_seconds()),
            hit.name,
            hit.hostname,
            hit.pathname,
            1 if hit.interactive else 0,
            SESSION_TTL_MS,
            NUMBER_TTL_MS,
            RESULT_TTL_MS,
            opening,
        ]
        self._track(keys=keys, args=args, client=pipe)

    def _tracked(self, event: Deferred, outcome: list[Any]) -> Tracked | None:
        if outcome[0] == 0:
            return None
        visitor_id = event.visitor_ids[outcome[0] - 1]
        session = self._session(event.site_id, visitor_id, outcome[2], outcome[4])
        if event.hit.name == "engagement":
            return Tracked(session, None)
        version = int(outcome[2][12])
        if not outcome[3]:
            return Tracked(session, (session.as_row(), version, None))
        replaced = self._session(event.site_id, visitor_id, outcome[3], outcome[4])
        return Tracked(session, (session.as_row(), version, replaced.as_row()))

    def _session(self, site_id: int, visitor_id: int, state: list[Any], blob: str) -> Session:
        sid, vn, start, last, seen, pv, ev, bounce, entry, exit_, host, xhost, _ = state
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
            is_bounce=str(bounce) == "1",
            entry_page=str(entry),
            exit_page=str(exit_),
            hostname=str(host),
            exit_hostname=str(xhost),
            entry_props=opening[1],
            visit=opening[0],
            seen=_time(seen),
        )

    def forget(self, stream: int, seqs: Iterable[int]) -> None:
        """Drops the kept outcomes of journal entries the event store now holds.

        A failure is not raised: the outcomes expire on their own.
        """
        keys = [result_key(stream, seq) for seq in seqs]
        try:
            for first in range(0, len(keys), _CHUNK):
                self._client.delete(*keys[first : first + _CHUNK])
        except redis.RedisError:
            pass

    def forget_stored(self, stream: int, applied: int) -> None:
        """Drops the outcomes of a stream's entries up to `applied` (left by a crash)."""
        pattern = f"{PREFIX}result:{stream}:*"
        try:
            stale = [
                key
                for key in self._client.scan_iter(match=pattern, count=1000)
                if int(key.rsplit(b":", 1)[1]) <= applied
            ]
            for first in range(0, len(stale), _CHUNK):
                self._client.delete(*stale[first : first + _CHUNK])
        except redis.RedisError:
            pass

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
            if count % _CHUNK == 0:
                pipe.execute()
        pipe.execute()

    def forget_site(self, site_id: int) -> int:
        """Deletes a site's live sessions from Redis (its events were deleted); how many.

        Raises:
            StoreError: Redis failed.
        """
        try:
            keys = list(
                self._client.scan_iter(match=session_key(site_id, 0)[:-1] + "*", count=1000)
            )
            for first in range(0, len(keys), _CHUNK):
                self._client.delete(*keys[first : first + _CHUNK])
        except redis.RedisError as exc:
            raise StoreError(f"the session store (Redis) failed: {exc}") from None
        return len(keys)

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
