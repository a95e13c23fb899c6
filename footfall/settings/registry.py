"""The registry: every setting footfall has, with its default, help text, parser and checks."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import limits

ENV_PREFIX = "FOOTFALL_"
REDACTED = "********"


def _parse_int(raw: str) -> int:
    return int(raw.strip())


def _parse_float(raw: str) -> float:
    value = float(raw.strip())
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def _parse_optional(raw: str) -> str | None:
    # An empty variable means "not set", so a blank line in an env file cannot enable a backend.
    return raw.strip() or None


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


EVENT_STORE_SCHEMES = ("duckdb", "chdb", "clickhouse", "http", "https")


def redact_url(url: str) -> str:
    """The URL with the password of its user part replaced by `REDACTED` (for display)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:{REDACTED}@{host}").geturl()


def _check_events_url(value: str | None) -> None:
    """Accepts an empty value (DuckDB in the data dir) or a URL of a known event store."""
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in EVENT_STORE_SCHEMES:
        raise ValueError(
            "expected clickhouse://USER:PASS@HOST:8123/DB, https://USER:PASS@HOST:8443/DB, "
            "chdb:///PATH or duckdb:///PATH"
        )
    if parts.scheme in ("chdb", "duckdb"):
        if parts.netloc or not parts.path or parts.path == "/":
            raise ValueError(f"expected {parts.scheme}:///PATH (an absolute path, no host)")
        return
    try:
        port = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise ValueError("the port is not a number") from None
    if not parts.hostname or port == 0:
        raise ValueError("a ClickHouse URL needs a host")
    if parts.path.strip("/") and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parts.path[1:]):
        raise ValueError("the database name may hold letters, digits and underscores only")


def _parse_origins(raw: str) -> str:
    """Comma-separated browser origins, checked and normalised (lower case, no blanks)."""
    origins: list[str] = []
    for item in raw.split(","):
        origin = item.strip().lower()
        if not origin:
            continue
        parts = urlsplit(origin)
        # A browser sends exactly scheme://host[:port]; anything more would never match.
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.port == 0  # reading it raises ValueError for a malformed port
            or "@" in parts.netloc
            or parts.path
            or parts.query
            or parts.fragment
            or origin.endswith(("?", "#"))
        ):
            raise ValueError(f"{item.strip()!r} is not an origin such as https://app.example.com")
        origins.append(origin)
    return ",".join(origins)


def _check_rate_limit(value: str) -> None:
    """A limit in the `limits` notation (``100/second``, ``10 per minute``); empty disables."""
    if not value:
        return
    items = list(limits.parse_many(value))  # raises ValueError on malformed text
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError("expected one limit such as 100/second (or empty to disable)")


# Values published in docs, examples and other projects' quick starts: a key anyone can read
# signs nothing. Compared lower-cased.
KNOWN_SECRET_KEYS = frozenset(
    (  # noqa: SIM905 -- one string keeps the list short
        "changeme change-me change_me please-change-me secret secret-key secret_key secretkey "
        "footfall development dev insecure password test your-secret-key your_secret_key "
        "replace-me"
    ).split()
)
MIN_SECRET_KEY_CHARS = 32


def check_secret_key(value: str) -> None:
    """Refuses a secret key that is short, a published default or barely varied.

    The message never repeats the value.
    """
    if not value:
        return
    if value.strip().lower() in KNOWN_SECRET_KEYS:
        raise ValueError("this is a published default, which signs nothing; generate a new key")
    if len(value) < MIN_SECRET_KEY_CHARS:
        raise ValueError(
            f"a secret key needs at least {MIN_SECRET_KEY_CHARS} characters (this one has "
            f"{len(value)}); generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    if len(set(value)) < 8:
        raise ValueError("the secret key repeats a few characters; generate a random one")


def _check_fallback_keys(value: str) -> None:
    for item in value.split(","):
        if item.strip():
            check_secret_key(item.strip())


def _check_header_name(value: str) -> None:
    if value and not re.fullmatch(r"[A-Za-z0-9-]+", value):
        raise ValueError("expected an HTTP header name such as CF-Connecting-IP")


def _check_proxies(value: str) -> None:
    for item in value.split(","):
        if item.strip():
            ipaddress.ip_network(item.strip(), strict=False)  # raises ValueError


@dataclass(frozen=True, slots=True)
class Setting:
    """One entry of the registry.

    Attributes:
        name: Attribute name on `Settings`; the environment variable is FOOTFALL_<NAME>.
        default: Value used when neither a flag nor the environment sets it.
        help: One sentence shown by ``footfall settings`` and in the docs.
        parse: Turns the raw environment string into a typed value (raises ValueError).
        secret: Never printed; may be read from FOOTFALL_<NAME>_FILE.
        choices: Allowed values, when the setting is an enumeration.
        minimum: Smallest allowed value for numbers.
        maximum: Largest allowed value for numbers.
        greater_than: Exclusive lower bound for numbers (for durations that must be positive).
        check: Further validation of the typed value (raises ValueError).
        shown: How a secret's value is displayed (e.g. a URL without its password); a secret
            without it is shown fully redacted.
    """

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    greater_than: float | None = None
    check: Callable[[Any], None] | None = None
    shown: Callable[[Any], str] | None = None

    @property
    def env_var(self) -> str:
        """The environment variable that sets this value."""
        return ENV_PREFIX + self.name.upper()

    def validate(self, value: Any) -> Any:
        """Checks a typed value against the setting's bounds, returning it unchanged."""
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError("expected a finite number")
            if self.greater_than is not None and value <= self.greater_than:
                raise ValueError(f"must be greater than {self.greater_than:g}")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"must be at most {self.maximum}")
        if self.check is not None:
            self.check(value)
        return value


REGISTRY: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        Path("footfall-data"),
        "Directory holding the event store, the metadata database (by default) and other state.",
        parse=Path,
    ),
    Setting("host", "127.0.0.1", "Interface the HTTP server listens on."),
    Setting(
        "port",
        8000,
        "TCP port the HTTP server listens on.",
        parse=_parse_int,
        minimum=1,
        maximum=65535,
    ),
    Setting(
        "workers",
        1,
        "Server processes sharing the port; more than one needs a ClickHouse server, PostgreSQL "
        "and Redis (the embedded stores open in one process only).",
        parse=_parse_int,
        minimum=1,
        maximum=64,
    ),
    Setting(
        "database_url",
        "",
        "SQLAlchemy URL of the metadata database; empty means a SQLite "
        "file in the data directory. Use postgresql+psycopg://... for PostgreSQL.",
        secret=True,
    ),
    Setting(
        "events_url",
        None,
        "Event store: unset for the DuckDB file in the data directory; "
        "clickhouse://USER:PASS@HOST:8123/DB (or https://USER:PASS@HOST:8443/DB) for a "
        "ClickHouse server or cluster; chdb:///PATH for ClickHouse in-process. The password "
        "is never shown.",
        parse=_parse_optional,
        secret=True,
        check=_check_events_url,
        shown=redact_url,
    ),
    Setting(
        "log_level",
        "info",
        "Minimum level of log lines written to stderr.",
        choices=("debug", "info", "warning", "error"),
    ),
    Setting(
        "ingest_queue_size",
        50_000,
        "Events waiting for the writer before POST /api/event "
        "answers 503 with Retry-After instead of growing memory.",
        parse=_parse_int,
        minimum=100,
    ),
    Setting(
        "commit_max_batch",
        20_000,
        "Journalled events that make the apply thread move them into the event store before "
        "its interval is up.",
        parse=_parse_int,
        minimum=1,
    ),
    Setting(
        "commit_max_wait_ms",
        0,
        "Extra time, in milliseconds, a journal commit waits for more requests to share its "
        "fsync (0: commit once the requests that arrived together have been read).",
        parse=_parse_int,
        minimum=0,
        maximum=1000,
    ),
    Setting(
        "apply_interval_ms",
        1000,
        "How long journalled events may wait before they are moved into the event store in one "
        "batch (they are durable before the 202).",
        parse=_parse_int,
        minimum=0,
        maximum=10_000,
    ),
    Setting(
        "session_flush_ms",
        5000,
        "How often changed sessions are written, in milliseconds (events are durable before "
        "each 202; sessions follow within this delay, like Plausible's 5-second write buffer).",
        parse=_parse_int,
        minimum=10,
        maximum=60_000,
    ),
    Setting(
        "session_cache_size",
        500_000,
        "Most live sessions held in memory; the least recently "
        "active are evicted first (an evicted visitor returning within 30 minutes starts a "
        "new session).",
        parse=_parse_int,
        minimum=1000,
    ),
    Setting(
        "ua_cache_size",
        50_000,
        "Parsed User-Agent strings kept in memory.",
        parse=_parse_int,
        minimum=100,
    ),
    Setting(
        "max_body_bytes",
        1_000_000,
        "Largest request body accepted on ingest endpoints; "
        "larger bodies get 413 before they are read whole.",
        parse=_parse_int,
        minimum=1024,
    ),
    Setting(
        "access_log",
        False,
        "Write one log line per HTTP request (not for POST /api/event, the ingest endpoint).",
        parse=_parse_bool,
    ),
    Setting(
        "redis_url",
        None,
        "Redis URL (redis://, rediss:// or unix://) of a Stats API query cache and rate-limit "
        "counters shared by all footfall processes; unset keeps both in each process's memory.",
        parse=_parse_optional,
        secret=True,
    ),
    Setting(
        "query_cache_entries",
        2000,
        "Stats API results kept in the in-process LRU query cache when no Redis URL is set "
        "(0 disables caching).",
        parse=_parse_int,
        minimum=0,
    ),
    Setting(
        "query_cache_live_ttl_s",
        5.0,
        "Seconds a cached Stats API result is reused when its date range reaches the present, "
        "so new events show up within this delay.",
        parse=_parse_float,
        greater_than=0,
        maximum=60,
    ),
    Setting(
        "query_cache_past_ttl_s",
        86_400.0,
        "Seconds a cached Stats API result is reused when its date range lies entirely in the "
        "past.",
        parse=_parse_float,
        greater_than=0,
    ),
    Setting(
        "query_timeout_ms",
        10_000,
        "Longest a Stats API query may run, in milliseconds, before it is interrupted and "
        "answered with an error.",
        parse=_parse_int,
        minimum=100,
    ),
    Setting(
        "cors_origins",
        "",
        "Comma-separated browser origins (https://app.example.com) allowed to call the JSON "
        "APIs cross-origin; empty allows none. POST /api/event always allows every origin.",
        parse=_parse_origins,
    ),
    Setting(
        "ingest_rate_limit",
        "100/second",
        "Events accepted per client IP on POST /api/event before it answers 429, written like "
        "100/second or 6000/minute (counted in Redis when a Redis URL is set); empty disables "
        "the limit.",
        parse=str.strip,
        check=_check_rate_limit,
    ),
    Setting(
        "stats_api_hourly_limit",
        1_000_000,
        "Stats API requests allowed per API key per hour before it answers 429 (0 disables "
        "the limit).",
        parse=_parse_int,
        minimum=0,
    ),
    Setting(
        "environment",
        "auto",
        "production requires FOOTFALL_SECRET_KEY; development (also set by serve --demo) "
        "generates one into the data directory; auto is production unless the server listens "
        "only on a loopback address.",
        choices=("auto", "production", "development"),
    ),
    Setting(
        "secret_key",
        "",
        "Random text of at least 32 characters that signs session cookies and form tokens; "
        "required in production (known defaults are refused).",
        secret=True,
        check=check_secret_key,
    ),
    Setting(
        "secret_key_fallbacks",
        "",
        "Comma-separated earlier secret keys, still accepted for signatures (never used to "
        "sign), so that the key can rotate without signing everyone out.",
        secret=True,
        check=_check_fallback_keys,
    ),
    Setting(
        "trusted_proxies",
        "127.0.0.1,::1",
        "Comma-separated addresses or networks of reverse proxies. Only a request whose socket "
        "peer is one of them has its X-Forwarded-For believed, read from the right past the "
        "trusted proxies, for rate limits, the audit and access logs and /metrics (visitor ids "
        "read Plausible's headers from anyone, like Plausible).",
        check=_check_proxies,
    ),
    Setting(
        "client_ip_header",
        "",
        "A header your trusted proxy sets to the client address (e.g. CF-Connecting-IP or "
        "X-Real-IP), used instead of X-Forwarded-For; empty reads X-Forwarded-For.",
        check=_check_header_name,
    ),
    Setting(
        "shared_link_rate_limit",
        "10/minute",
        "Password attempts allowed per shared link from all addresses together, written like "
        "10/minute; empty disables.",
        check=_check_rate_limit,
    ),
    Setting(
        "session_hours",
        336,
        "How long a sign-in lasts, in hours, before the user must sign in again.",
        parse=_parse_int,
        minimum=1,
        maximum=24 * 366,
    ),
    Setting(
        "login_rate_limit",
        "20/minute",
        "Sign-in attempts allowed per client IP, written like 20/minute; empty disables.",
        parse=str.strip,
        check=_check_rate_limit,
    ),
    Setting(
        "login_account_rate_limit",
        "10/minute",
        "Sign-in attempts allowed per email address, written like 10/minute; empty disables.",
        parse=str.strip,
        check=_check_rate_limit,
    ),
    Setting(
        "login_lockout_after",
        10,
        "Consecutive failed sign-ins that lock an account (from the third, each failure makes "
        "the next attempt wait twice as long).",
        parse=_parse_int,
        minimum=3,
    ),
    Setting(
        "login_lockout_minutes",
        15,
        "How long a locked account refuses sign-ins, in minutes.",
        parse=_parse_int,
        minimum=1,
    ),
    Setting(
        "log_format",
        "json",
        "Format of log lines on stderr: json (one object a line) or text (for humans).",
        choices=("json", "text"),
    ),
    Setting(
        "metrics_token",
        "",
        "Token that opens GET /metrics to any client sending it as a Bearer Authorization "
        "header; empty means only metrics_allow peers may scrape.",
        secret=True,
    ),
    Setting(
        "metrics_allow",
        "127.0.0.1,::1",
        "Comma-separated addresses or networks whose direct (not proxied) connections may "
        "read GET /metrics without the token; empty allows none.",
        check=_check_proxies,
    ),
    Setting(
        "store_memory_mb",
        0,
        "Most memory, in MiB, the embedded DuckDB event store may use (block cache and query "
        "work) before it spills to <data-dir>/events.duckdb.tmp; 0: DuckDB's own limit, 80% "
        "of memory (backup, export and restore then run with 128).",
        parse=_parse_int,
        minimum=0,
    ),
    Setting(
        "min_free_disk_mb",
        500,
        "Free space, in MiB, the data directory's disk must keep for GET /readyz to answer "
        "ready; 0 disables the check.",
        parse=_parse_int,
        minimum=0,
    ),
    Setting(
        "cache_warming",
        True,
        "After each flush of new events, recompute the live Stats API and dashboard results "
        "asked at least twice in the last 5 minutes before their cache entries expire, so "
        "dashboard users find them cached.",
        parse=_parse_bool,
    ),
    Setting(
        "cache_warming_budget_ms",
        2000,
        "The most time, in milliseconds, one cache warming round may spend recomputing "
        "results; the most asked are recomputed first.",
        parse=_parse_int,
        minimum=10,
        maximum=60_000,
    ),
    Setting(
        "ops_sample_seconds",
        10.0,
        "Seconds between two samples of footfall's own figures (latency, memory, CPU, ...) "
        "for the ops dashboards; they keep 6 hours of samples and 7 days of 5-minute means.",
        parse=_parse_float,
        greater_than=0,
        maximum=300,
    ),
    Setting(
        "header_timeout_s",
        10,
        "Seconds a client has to send complete request headers, from opening its connection "
        "(or from the first byte of a later request on it); slower connections are closed.",
        parse=_parse_int,
        minimum=1,
        maximum=600,
    ),
    Setting(
        "body_timeout_s",
        30,
        "Seconds a request body may go without a byte arriving before the connection is closed.",
        parse=_parse_int,
        minimum=1,
        maximum=3600,
    ),
    Setting(
        "keep_alive_timeout_s",
        5,
        "Seconds an idle keep-alive connection is kept open for the client's next request "
        "(behind a load balancer, make it longer than the balancer's idle timeout).",
        parse=_parse_int,
        minimum=1,
        maximum=3600,
    ),
    Setting(
        "max_connections",
        1000,
        "Most HTTP connections open at once; a new one beyond it closes the connection that has "
        "waited longest for a request, or is closed at once when every connection is serving "
        "one. The process's file descriptor limit is raised to fit, or the cap lowered.",
        parse=_parse_int,
        minimum=1,
        maximum=1_000_000,
    ),
)
