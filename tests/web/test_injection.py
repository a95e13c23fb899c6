"""SQL-injection probes on every input that reaches SQL, through the interfaces users have.

Classic and DuckDB- or PostgreSQL-specific payloads go into ingest (`POST /api/event`,
`POST /api/import`), the Stats API (v1 parameters, v2 bodies), the Sites API goal endpoints, the
audit API, the bearer key itself and the command line. For each probe: no 500 and no traceback;
a refusal says why; nothing already stored changes; an accepted value is stored and comes back
verbatim; a filter value matches exactly the events holding that literal value (checked
against an independent count of what was sent); nothing reaches the file system.

The module shares one app holding baseline traffic plus every probe sent live and imported (with
both NDJSON readers). Event-store probes run on it with SQLite metadata; probes of inputs that
reach the metadata store run on SQLite and on PostgreSQL. Every test ends by checking that
the sites are unchanged, earlier keys, goals and users are all still there, and the stored
events still count exactly as before.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from psycopg import sql
from starlette.testclient import TestClient

from footfall.cli import main as cli_main
from footfall.clock import FixedClock
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.meta.tables import api_keys, goals, sites, users
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from footfall.web.api.auth import INVALID_KEY, MISSING_KEY
from footfall.web.app import create_app
from tests.conftest import CHROME_UA

DOMAIN = "example.com"
LIVE_DAY = "2026-11-01"
# Imports of the same probes, one per NDJSON reader (a blank line forces the careful one).
WHOLE_FILE_DAY = "2026-10-31"
LINE_BY_LINE_DAY = "2026-10-30"
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
# Files a successful COPY or ATTACH payload would create.
CANARIES = (Path("/tmp/footfall-injection.csv"), Path("/tmp/footfall-injection.db"))

PAYLOADS: dict[str, str] = {
    "or-true": "' OR '1'='1",
    "drop-sites": "'; DROP TABLE sites; --",
    "drop-events": "'); DROP TABLE events; --",
    "stacked": "1; SELECT 1",
    "double-quotes": '" OR ""="',
    "backslash-quote": "\\'",
    "backslashes": "C:\\temp\\x\\\\",
    "dollar-param": "$1",
    "dollar-quote": "$$; DROP TABLE sites; $$",
    "qmark": "?",
    "percent": "%",
    "underscore": "_",
    "star": "*",
    "union": "1) UNION SELECT name, pathname FROM events --",
    "comment": "x/* c */--",
    "read-csv": "' || (SELECT string_agg(column0, ',') FROM read_csv('/etc/passwd')) || '",
    "read-csv-plain": "read_csv('/etc/passwd')",
    "getenv": "getenv('HOME')",
    "getenv-concat": "' || getenv('HOME') || '",
    "copy": "'; COPY events TO '/tmp/footfall-injection.csv'; --",
    "attach": "'; ATTACH '/tmp/footfall-injection.db' AS x; --",
    "unicode-quotes": "\u2019 OR \u20181\u2019=\u20181",
    "fullwidth-quote": "\uff07 OR \uff071\uff07=\uff071",
    "modifier-apostrophe": "\u02bc; DROP TABLE sites; --",
    "regex-meta": "^.*(a|b)+[x]{2}$\\d",
    "regex-flags": "(?i)PAGE",
    "json": '{"$ne": null}',
    "nul": "a\x00b",
    "newline": "line1\nline2\r\n--",
    "emoji": "\U0001f986'--",
    "quotes-120": "'" * 120,
}
VERY_LONG = "' OR 1=1 -- " * 1_500


def _control(text: str) -> bool:
    return any(ord(c) < 32 or c == "\x7f" for c in text)


PROBES = [pytest.param(value, id=name) for name, value in PAYLOADS.items()]
# HTTP headers and command-line arguments cannot carry control characters.
PRINTABLE = [p for p in PROBES if not _control(str(p.values[0]))]


def legacy_safe(text: str) -> bool:
    """True when v1's ``key==value;...`` form can carry `text` as one plain value."""
    return (
        text == text.strip()
        and not _control(text)
        and not any(s in text for s in (";", "|", "*", "==", "!="))
    )


def referrer_safe(text: str) -> bool:
    """True when ``https://ref.example/<text>`` keeps `text` as the referrer's raw path."""
    return (
        text == text.strip()
        and not _control(text)
        and not any(s in text for s in "?#%")
        and not text.endswith("/")
    )


def re2_literal(text: str) -> str:
    """An RE2 pattern matching `text` literally."""
    return "".join("\\" + c if c in "\\.+*?()|[]{}^$" else c for c in text)


def wildcard_matches(pattern: str, value: str) -> bool:
    """Plausible's page wildcards for patterns without ``|``: ``*`` matches anything."""
    return (
        re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), value, re.S) is not None
    )


# -- the shared app ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One event as it was sent: the oracle that filter results are checked against."""

    name: str
    page: str
    visitor: str
    props: dict[str, str] = field(default_factory=dict)
    utm_campaign: str = ""
    referrer: str = ""


@dataclass
class World:
    """The app in-process on one metadata backend, its keys, and everything sent to it."""

    client: TestClient
    settings: Settings
    meta: sa.Engine
    env: dict[str, str]
    keys: dict[str, str]
    live: list[Sent]
    baseline: dict[str, set[tuple[Any, ...]]]
    imports: dict[str, dict[str, Any]]
    cli: CliRunner = field(default_factory=CliRunner)

    def auth(self, role: str = "reader") -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[role]}"}

    def v1(self, endpoint: str, **params: Any) -> httpx.Response:
        params.setdefault("site_id", DOMAIN)
        return self.client.get(f"/api/v1/stats/{endpoint}", params=params, headers=self.auth())

    def v2(self, **body: Any) -> httpx.Response:
        body.setdefault("site_id", DOMAIN)
        return self.client.post("/api/v2/query", json=body, headers=self.auth())

    def rows(self, day: str, filters: list[Any], dimensions: list[str]) -> list[Any]:
        """v2 rows ``[dimensions, [visitors, events]]`` of `day`, sorted."""
        response = self.v2(
            metrics=["visitors", "events"],
            date_range=[day, day],
            filters=filters,
            dimensions=dimensions,
        )
        assert response.status_code == 200, response.text
        return sorted([r["dimensions"], r["metrics"]] for r in response.json()["results"])

    def run(self, *args: str, stdin: str | None = None) -> Result:
        """Runs the real command line in-process on this world's data; never a traceback."""
        result = self.cli.invoke(
            cli_main, [*args, "--data-dir", str(self.settings.data_dir)], input=stdin, env=self.env
        )
        assert result.exit_code in (0, 1, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output and "unexpected" not in result.stderr
        if result.exit_code:
            assert result.stderr.strip(), "a refusal must say why"
        return result


def _meta_rows(engine: sa.Engine) -> dict[str, set[tuple[Any, ...]]]:
    picks = {
        "sites": sa.select(sites.c.id, sites.c.domain, sites.c.timezone),
        "keys": sa.select(
            api_keys.c.id,
            api_keys.c.name,
            api_keys.c.key_hash,
            api_keys.c.scopes,
            api_keys.c.revoked_at,
        ),
        "goals": sa.select(goals.c.id, goals.c.event_name, goals.c.page_path, goals.c.display_name),
        "users": sa.select(users.c.id, users.c.email, users.c.role, users.c.password_hash),
    }
    with engine.connect() as conn:
        return {name: {tuple(row) for row in conn.execute(query)} for name, query in picks.items()}


def _send(client: TestClient, clock: FixedClock, at: dt.datetime, sent: Sent) -> None:
    clock.set(at)
    query = f"?utm_campaign={quote(sent.utm_campaign, safe='')}" if sent.utm_campaign else ""
    body: dict[str, Any] = {
        "name": sent.name,
        "url": f"https://{DOMAIN}{quote(sent.page, safe='/')}{query}",
        "domain": DOMAIN,
    }
    if sent.props:
        body["props"] = sent.props
    if sent.referrer:
        body["referrer"] = f"https://{sent.referrer}"
    response = client.post(
        "/api/event", json=body, headers={"user-agent": CHROME_UA, "x-forwarded-for": sent.visitor}
    )
    assert response.status_code == 202, response.text
    assert "x-plausible-dropped" not in response.headers, sent


def _probe_events(value: str, index: int) -> list[Sent]:
    """A pageview and a custom event carrying the payload in every field that holds text."""
    ip = f"10.1.{index // 200}.{index % 200 + 1}"
    page = "/inj/" + value
    referrer = "ref.example/" + value if referrer_safe(value) else ""
    return [
        Sent("pageview", page, ip, utm_campaign=value, referrer=referrer),
        Sent(value, page, ip, {"probe": value, value: "v"}, utm_campaign=value, referrer=referrer),
    ]


def _ndjson(day: str, *, careful: bool) -> str:
    lines = []
    for index, value in enumerate(PAYLOADS.values()):
        line = {
            "timestamp": f"{day}T10:{index:02d}:00Z",
            "name": value,
            "url": f"https://{DOMAIN}/imp/{quote(value, safe='')}",
            "user_agent": CHROME_UA,
            "ip": f"10.2.0.{index + 1}",
            "props": {"probe": value, value: "v"},
        }
        # The same payload as every other field, and as a timestamp (refused).
        odd = {
            "timestamp": f"{day}T11:{index:02d}:00Z",
            "name": "pageview",
            "url": f"https://{DOMAIN}/",
            "referrer": value,
            "user_agent": value,
            "ip": value,
            "visitor_id": value,
        }
        bad_time = {**line, "timestamp": value}
        lines += [json.dumps(x) for x in (line, odd, bad_time)]
    lines.append(json.dumps({**json.loads(lines[0]), "name": "'" * 121}))
    if careful:
        lines += ["", "'; DROP TABLE events; --", "[\"' OR '1'='1\"]"]
    return "\n".join(lines) + "\n"


@contextmanager
def _postgres_database(server: str) -> Iterator[str]:
    """A fresh database on the shared PostgreSQL server, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    conninfo = sa.make_url(server).set(drivername="postgresql", database="postgres")
    admin_url = conninfo.render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server}{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def _open_world(tmp_dir: Path, database_url: str = "") -> Iterator[World]:
    """The app with baseline traffic, every probe ingested live and imported twice."""
    flags: dict[str, Any] = {
        "data_dir": tmp_dir / "data",
        "ingest_rate_limit": "",
        "stats_api_hourly_limit": 0,
        "database_url": database_url,
    }
    # For the command line, which reads the environment: the same store whatever the shell has.
    env = {"FOOTFALL_DATABASE_URL": database_url}
    settings = load_settings(flags, environ={})
    meta = open_meta(settings)
    add_site(meta, domain=DOMAIN, timezone="UTC")
    add_site(meta, domain="other.example", timezone="UTC")
    roles = {
        "reader": ("stats:read",),
        "importer": ("events:import",),
        "writer": ("sites:write",),
        "admin": ("admin",),
    }
    keys = {role: create_key(meta, name=role, scopes=scopes)[1] for role, scopes in roles.items()}
    clock = FixedClock(NOW)
    start = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    live = [
        Sent("pageview", path, f"10.0.0.{i}") for i, path in enumerate(["/"] * 3 + ["/about"] * 2)
    ]
    live.append(Sent("Signup", "/", "10.0.0.0", {"plan": "pro"}))
    for index, value in enumerate(PAYLOADS.values()):
        live += _probe_events(value, index)
    try:
        with TestClient(create_app(settings, clock=clock)) as client:
            for minute, sent in enumerate(live):
                _send(client, clock, start + dt.timedelta(minutes=minute), sent)
            clock.set(NOW)
            imports = {}
            for day, careful in ((WHOLE_FILE_DAY, False), (LINE_BY_LINE_DAY, True)):
                response = client.post(
                    f"/api/import?site_id={DOMAIN}",
                    content=_ndjson(day, careful=careful),
                    headers={"authorization": f"Bearer {keys['importer']}"},
                )
                assert response.status_code == 200, response.text
                imports[day] = response.json()
            assert client.app.state.footfall.writer.flush_sessions()  # type: ignore[attr-defined]
            yield World(client, settings, meta, env, keys, live, _meta_rows(meta), imports)
    finally:
        meta.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The shared app on SQLite: event-store probes need only one metadata backend."""
    with _open_world(tmp_path_factory.mktemp("injection-sqlite")) as opened:
        yield opened


@pytest.fixture(scope="module")
def postgres_world(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The same app with its metadata in PostgreSQL."""
    with (
        _postgres_database(postgres_server) as url,
        _open_world(tmp_path_factory.mktemp("injection-postgresql"), url) as opened,
    ):
        yield opened


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def meta_world(request: pytest.FixtureRequest) -> World:
    """The shared app on each metadata backend, for probes of inputs that reach that store."""
    name = "world" if request.param == "sqlite" else "postgres_world"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def assert_intact(world: World) -> None:
    """Nothing stored before a probe was changed or lost, and no payload touched the disk."""
    now = _meta_rows(world.meta)
    assert now["sites"] == world.baseline["sites"]
    for table in ("keys", "goals", "users"):
        assert world.baseline[table] <= now[table], table
    pages = world.rows(LIVE_DAY, [["is", "event:page", ["/", "/about"]]], [])
    assert pages == [[[], [5, 6]]]
    everything = world.rows(LIVE_DAY, [], [])
    assert everything == [[[], [len({e.visitor for e in world.live}), len(world.live)]]]
    for day, report in world.imports.items():
        assert world.rows(day, [], [])[0][1][1] == report["stored"]
    for canary in CANARIES:
        assert not canary.exists()


def assert_refused(response: httpx.Response, *statuses: int) -> str:
    """A 4xx answer with a JSON error message; returns the message."""
    assert response.status_code in statuses, (response.status_code, response.text)
    message = response.json()["error"]
    assert isinstance(message, str) and message
    return message


# -- ingest: values come back verbatim ----------------------------------------------------------


@pytest.mark.parametrize("value", PROBES)
def test_live_event_fields_come_back_verbatim(world: World, value: str) -> None:
    name_filter = [["is", "event:name", [value]]]
    page = "/inj/" + value
    dims = ["event:name", "event:page", "event:props:probe", f"event:props:{value}"]
    assert world.rows(LIVE_DAY, name_filter, dims) == [[[value, page, value, "v"], [1, 1]]]
    referrer = "ref.example/" + value if referrer_safe(value) else "Direct / None"
    visit = world.rows(LIVE_DAY, name_filter, ["visit:utm_campaign", "visit:referrer"])
    assert visit == [[[value, referrer], [1, 1]]]
    # v1 shows a custom property under its own name.
    breakdown = world.v1(
        "breakdown",
        period="day",
        date=LIVE_DAY,
        property=f"event:props:{value}",
        metrics="visitors,events",
        filters=json.dumps(name_filter),
    )
    assert breakdown.status_code == 200, breakdown.text
    assert breakdown.json()["results"] == [{value: "v", "visitors": 1, "events": 1}]
    by_name = world.v1(
        "breakdown",
        period="day",
        date=LIVE_DAY,
        property="event:name",
        filters=json.dumps([["is", "event:page", [page]]]),
    )
    assert by_name.status_code == 200, by_name.text
    assert {r["name"] for r in by_name.json()["results"]} == {"pageview", value}
    assert_intact(world)


@pytest.mark.parametrize("day", [WHOLE_FILE_DAY, LINE_BY_LINE_DAY])
@pytest.mark.parametrize("value", PROBES)
def test_imported_fields_come_back_verbatim(world: World, value: str, day: str) -> None:
    dims = ["event:page", "event:props:probe", f"event:props:{value}"]
    rows = world.rows(day, [["is", "event:name", [value]]], dims)
    assert rows == [[["/imp/" + value, value, "v"], [1, 1]]]
    assert_intact(world)


def test_import_reports_account_for_every_probe_line(world: World) -> None:
    count = len(PAYLOADS)
    for day, extra_bad in ((WHOLE_FILE_DAY, 0), (LINE_BY_LINE_DAY, 2)):
        report = world.imports[day]
        # Per payload: the event, the odd line (stored or dropped) and the bad timestamp.
        assert report["lines"] == 3 * count + 1 + extra_bad
        assert report["stored"] + report["dropped"] == 2 * count
        assert report["rejected"] == count + 1 + extra_bad
        reasons = {e["error"] for e in report["errors"]}
        assert reasons >= {
            "timestamp is not an ISO-8601 date-time",
            "name should be at most 120 characters",
        }
        if extra_bad:
            assert "not a JSON object" in reasons
    assert_intact(world)


def test_too_long_values_are_refused_with_a_reason(world: World) -> None:
    def post(**body: Any) -> httpx.Response:
        sent = {"name": "pageview", "url": f"https://{DOMAIN}/", "domain": DOMAIN, **body}
        return world.client.post("/api/event", json=sent, headers={"user-agent": CHROME_UA})

    assert post(name="'" * 121).json() == {
        "errors": {"event_name": ["should be at most 120 character(s)"]}
    }
    assert post(url=f"https://{DOMAIN}/" + quote(VERY_LONG)).json() == {
        "errors": {"url": ["must be a valid url"]}
    }
    assert "props" in post(props={"k": VERY_LONG}).json()["errors"]
    assert "props" in post(props={VERY_LONG[:400]: "v"}).json()["errors"]
    # A long value elsewhere matches nothing rather than failing.
    for op in ("is", "contains", "matches"):
        assert world.rows(LIVE_DAY, [[op, "event:page", [VERY_LONG]]], []) == [[[], [0, 0]]]
    assert_refused(world.v1("aggregate", site_id=VERY_LONG), 401)
    assert_refused(world.v1("aggregate", metrics=VERY_LONG), 400)
    audit = world.client.get(
        "/api/v1/audit", params={"actor": VERY_LONG}, headers=world.auth("admin")
    )
    assert audit.json() == {"entries": []}
    assert_intact(world)


@pytest.mark.parametrize("value", PROBES)
def test_event_domain_payloads_store_nothing(world: World, value: str) -> None:
    body = {"name": "pageview", "url": f"https://{DOMAIN}/", "domain": value}
    response = world.client.post("/api/event", json=body, headers={"user-agent": CHROME_UA})
    assert response.status_code in (202, 400), response.text
    if response.status_code == 202:
        assert int(response.headers["x-plausible-dropped"]) >= 1
    else:
        assert response.json() == {"errors": {"domain": ["can't be blank"]}}
    assert_intact(world)


# -- stats: filter values match literally -----------------------------------------------------

Predicate = Callable[[Sent], bool]


def _filters(value: str) -> list[tuple[list[Any], Predicate]]:
    page, missing, swapped = "/inj/" + value, "/x" + value, value.swapcase()
    return [
        (["is", "event:page", [page]], lambda e: e.page == page),
        (["is", "event:page", [missing]], lambda e: e.page == missing),
        (["is_not", "event:page", [page]], lambda e: e.page != page),
        (["contains", "event:page", [value]], lambda e: value in e.page),
        (["matches", "event:page", [re2_literal(value)]], lambda e: value in e.page),
        (["is", "event:name", [value]], lambda e: e.name == value),
        (["contains", "event:name", [value]], lambda e: value in e.name),
        (
            ["is", "event:name", [swapped], {"case_sensitive": False}],
            lambda e: e.name.lower() == swapped.lower(),
        ),
        (["is", "event:props:probe", [value]], lambda e: e.props.get("probe") == value),
        (
            ["contains", "event:props:probe", [value]],
            lambda e: "probe" in e.props and value in e.props["probe"],
        ),
        (["is", f"event:props:{value}", ["v"]], lambda e: e.props.get(value) == "v"),
        (["is", "visit:utm_campaign", [value]], lambda e: e.utm_campaign == value),
    ]


def _expected(world: World, predicate: Predicate) -> list[int]:
    """[visitors, events] among the live events `predicate` selects."""
    matched = [e for e in world.live if predicate(e)]
    return [len({e.visitor for e in matched}), len(matched)]


def _v1_counts(world: World, filters: str) -> list[int]:
    response = world.v1(
        "aggregate", period="day", date=LIVE_DAY, metrics="visitors,events", filters=filters
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return [results["visitors"]["value"], results["events"]["value"]]


@pytest.mark.parametrize("value", PROBES)
def test_filter_values_match_only_the_literal_value(world: World, value: str) -> None:
    for index, (condition, predicate) in enumerate(_filters(value)):
        expected = _expected(world, predicate)
        assert world.rows(LIVE_DAY, [condition], []) == [[[], expected]], condition
        if index % 4 == 0:  # v1's JSON form goes through the same parser: a sample suffices
            assert _v1_counts(world, json.dumps([condition])) == expected, condition
    if legacy_safe(value):
        page = "/inj/" + value
        legacy: list[tuple[str, Predicate]] = [
            (f"event:page=={page}", lambda e: e.page == page),
            (f"event:page=={page}*", lambda e: e.page.startswith(page)),
            (f"event:page!={page}", lambda e: e.page != page),
            (f"event:name=={value}", lambda e: e.name == value),
            (f"event:props:probe=={value}", lambda e: e.props.get("probe") == value),
        ]
        for text, predicate in legacy:
            assert _v1_counts(world, text) == _expected(world, predicate), text
    assert_intact(world)


@pytest.mark.parametrize("value", PROBES)
def test_payloads_as_patterns_or_legacy_text_never_fail(world: World, value: str) -> None:
    # As a regular expression: a count, or a refusal naming the pattern.
    response = world.v2(
        metrics=["visitors"],
        date_range=[LIVE_DAY, LIVE_DAY],
        filters=[["matches", "event:page", [value]]],
    )
    if response.status_code != 200:
        assert assert_refused(response, 400).startswith(f"Invalid regular expression `{value}`")
    # In v1's legacy text, whatever its grammar makes of it (wildcards and Plausible's `|`
    # quirk included): a count, or a clear refusal.
    for text in (
        value,
        f"event:page=={value}",
        f"event:page==*{value}*",
        f"event:page!={value}|/",
        f"visit:city=={value}",
        f"visit:country=={value}",
    ):
        legacy = world.v1("aggregate", period="day", date=LIVE_DAY, filters=text)
        if legacy.status_code != 200:
            assert_refused(legacy, 400)
    assert_intact(world)


@pytest.mark.parametrize(
    "value", ["\u00b2", "1\u00b2", "\u0661\u0662", "\uff11", "99999999999999999999999", "-1"]
)
def test_city_filters_take_only_ascii_digits_as_ids(world: World, value: str) -> None:
    # Stored cities are 0 (private addresses): none of these names one.
    assert _v1_counts(world, f"visit:city=={value}") == [0, 0]
    assert _v1_counts(world, f"visit:city!={value}") == _expected(world, lambda e: True)
    assert_intact(world)


V1_PARAMS = ("period", "date", "metrics", "property", "interval", "limit", "page", "compare")
# Parameters an endpoint does not use are ignored, as in Plausible.
V1_IGNORED = {
    "aggregate": {"property", "interval", "limit", "page", "compare"},
    "timeseries": {"property", "limit", "page", "compare"},
    "breakdown": {"interval", "compare"},
}


@pytest.mark.parametrize("value", PROBES)
def test_v1_parameters_are_refused_or_ignored(world: World, value: str) -> None:
    for endpoint, ignored in V1_IGNORED.items():
        for param in V1_PARAMS:
            params = {"period": "day", "date": LIVE_DAY, param: value}
            if endpoint == "breakdown" and param != "property":
                params["property"] = "event:page"
            response = world.v1(endpoint, **params)
            if param in ignored:
                assert response.status_code == 200, (endpoint, param, response.text)
                continue
            message = assert_refused(response, 400)
            if param == "metrics" and "," not in value:
                assert f"The metric `{value}` is not recognized" in message
            if param == "property":
                assert message.startswith(f"Invalid property '{value}'")
    assert_intact(world)


V2_FIELDS: dict[str, Callable[[str], dict[str, Any]]] = {
    "date_range": lambda v: {"date_range": v},
    "date_range_dates": lambda v: {"date_range": [LIVE_DAY, v]},
    "metrics": lambda v: {"metrics": [v]},
    "dimensions": lambda v: {"dimensions": [v]},
    "filter_dimension": lambda v: {"filters": [["is", v, ["x"]]]},
    "filter_operator": lambda v: {"filters": [[v, "event:page", ["/"]]]},
    "filter_value_type": lambda v: {"filters": [["is", "visit:city", [v]]]},
    "order_by_key": lambda v: {"order_by": [[v, "desc"]]},
    "order_by_direction": lambda v: {"order_by": [["visitors", v]]},
    "pagination": lambda v: {"pagination": {"limit": v}},
    "include": lambda v: {"include": {v: True}},
    "extra_key": lambda v: {v: 1},
}


@pytest.mark.parametrize("value", PROBES)
def test_v2_body_fields_are_refused(world: World, value: str) -> None:
    for name, make in V2_FIELDS.items():
        body = {"metrics": ["visitors"], "date_range": [LIVE_DAY, LIVE_DAY], **make(value)}
        response = world.v2(**body)
        message = assert_refused(response, 400)
        if name == "order_by_key":
            assert message.startswith(f"Invalid order_by entry '{value}'")
        if name == "dimensions":
            assert message.startswith("#/dimensions/0: Invalid dimension")
    assert_intact(world)


# -- metadata inputs, on SQLite and PostgreSQL ---------------------------------------------------

META_PROBES = [*PROBES, pytest.param(VERY_LONG, id="very-long")]


@pytest.mark.parametrize("value", META_PROBES)
def test_site_ids_name_no_site(meta_world: World, value: str) -> None:
    world = meta_world
    v1 = world.v1("aggregate", site_id=value)
    assert (v1.status_code, v1.json()) == (401, {"error": INVALID_KEY})
    v2 = world.v2(site_id=value, metrics=["visitors"], date_range="day")
    assert (v2.status_code, v2.json()) == (401, {"error": INVALID_KEY})
    realtime = world.client.get(
        "/api/v1/stats/realtime/visitors", params={"site_id": value}, headers=world.auth()
    )
    assert assert_refused(realtime, 401) == INVALID_KEY
    imported = world.client.post(
        "/api/import", params={"site_id": value}, content=b"{}\n", headers=world.auth("importer")
    )
    assert assert_refused(imported, 401) == INVALID_KEY
    goals_list = world.client.get(
        "/api/v1/sites/goals", params={"site_id": value}, headers=world.auth()
    )
    assert assert_refused(goals_list, 404) == "Site could not be found"
    put = world.client.put(
        "/api/v1/sites/goals",
        json={"site_id": value, "goal_type": "event", "event_name": "x"},
        headers=world.auth("writer"),
    )
    assert assert_refused(put, 404) == "Site could not be found"
    deleted = world.client.request(
        "DELETE", "/api/v1/sites/goals/1", params={"site_id": value}, headers=world.auth("writer")
    )
    assert assert_refused(deleted, 404) == "Site could not be found"
    assert_intact(world)


@pytest.mark.parametrize("value", [*PRINTABLE, pytest.param(VERY_LONG, id="very-long")])
def test_the_bearer_key_is_only_ever_compared(meta_world: World, value: str) -> None:
    world = meta_world
    reader = world.keys["reader"]
    for token in (value, f"{reader}{value}", f"{reader} {value}", f"{value}{reader}"):
        header = {"authorization": f"Bearer {token}".encode()}
        response = world.client.get(
            "/api/v1/stats/aggregate", params={"site_id": DOMAIN}, headers=header
        )
        assert assert_refused(response, 401) in (INVALID_KEY, MISSING_KEY)
    assert_intact(world)


@pytest.mark.parametrize("value", PROBES)
def test_goal_fields_are_stored_verbatim_and_count_conversions(
    meta_world: World, value: str
) -> None:
    world = meta_world
    put = world.auth("writer")
    if "\x00" in value:
        # PostgreSQL cannot store a NUL character: refused on every backend alike.
        for body in ({"event_name": value}, {"event_name": "x", "display_name": value}):
            response = world.client.put(
                "/api/v1/sites/goals",
                json={"site_id": DOMAIN, "goal_type": "event", **body},
                headers=put,
            )
            assert "cannot contain a NUL character" in assert_refused(response, 400)
        assert_intact(world)
        return
    event = world.client.put(
        "/api/v1/sites/goals",
        json={
            "site_id": DOMAIN,
            "goal_type": "event",
            "event_name": value,
            "display_name": value,
            "custom_props": {"probe": value},
        },
        headers=put,
    )
    assert event.status_code == 200, event.text
    assert event.json() | {"id": 0} == {
        "domain": DOMAIN,
        "id": 0,
        "display_name": value,
        "goal_type": "event",
        "event_name": value,
        "page_path": None,
        "custom_props": {"probe": value},
    }
    page_path = "/inj/" + value
    page = world.client.put(
        "/api/v1/sites/goals",
        content=f"site_id={DOMAIN}&goal_type=page&page_path={quote(page_path, safe='')}",
        headers={**put, "content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 200, page.text
    assert (page.json()["page_path"], page.json()["display_name"]) == (
        page_path,
        f"Visit {page_path}",
    )
    try:
        listed = world.client.get(
            "/api/v1/sites/goals", params={"site_id": DOMAIN}, headers=world.auth()
        )
        shown = {
            (g["display_name"], g["event_name"], g["page_path"]) for g in listed.json()["goals"]
        }
        assert shown >= {(value, value, None), (f"Visit {page_path}", None, page_path)}
        rows = world.rows(
            LIVE_DAY, [["is", "event:goal", [value, f"Visit {page_path}"]]], ["event:goal"]
        )
        counted = {name: metrics for (name,), metrics in rows}
        # The event goal needs the name and the custom property: the one probe event.
        assert counted[value] == [1, 1]
        if "|" not in value:  # `|` in a wildcard is Plausible's alternation quirk
            pageviews = [e for e in world.live if e.name == "pageview"]
            matched = [e for e in pageviews if wildcard_matches(page_path, e.page)]
            assert counted[f"Visit {page_path}"] == [
                len({e.visitor for e in matched}),
                len(matched),
            ]
        v1 = world.v1(
            "aggregate",
            period="day",
            date=LIVE_DAY,
            metrics="visitors,conversion_rate",
            filters=json.dumps([["is", "event:goal", [value]]]),
        )
        assert v1.json()["results"]["visitors"]["value"] == 1, v1.text
    finally:
        for goal in (event.json(), page.json()):
            deleted = world.client.request(
                "DELETE",
                f"/api/v1/sites/goals/{goal['id']}",
                params={"site_id": DOMAIN},
                headers=put,
            )
            assert deleted.json() == {"deleted": True}
    missing = world.client.request(
        "DELETE",
        f"/api/v1/sites/goals/{quote(value, safe='')}",
        params={"site_id": DOMAIN},
        headers=put,
    )
    assert missing.status_code == 404
    assert _meta_rows(world.meta)["goals"] == world.baseline["goals"]
    assert_intact(world)


@pytest.mark.parametrize("value", PROBES)
def test_goal_api_refusals_name_the_problem(meta_world: World, value: str) -> None:
    world = meta_world
    attempts = [
        {"goal_type": value, "event_name": "x"},
        {"goal_type": "page", "page_path": value},
        {"goal_type": "event", "event_name": "x", "custom_props": value},
        {"goal_type": "event", "event_name": "x", "custom_props": {value: 1}},
        {
            "goal_type": "event",
            "event_name": value,
            "custom_props": {"a": "1", "b": "2", "c": "3", value: "4"},
        },
    ]
    for body in attempts:
        response = world.client.put(
            "/api/v1/sites/goals", json={"site_id": DOMAIN, **body}, headers=world.auth("writer")
        )
        assert_refused(response, 400)
    for params in ({"limit": value}, {"after": value}, {"before": value}):
        listed = world.client.get(
            "/api/v1/sites/goals", params={"site_id": DOMAIN, **params}, headers=world.auth()
        )
        assert_refused(listed, 400)
    assert_intact(world)


@pytest.mark.parametrize("value", META_PROBES)
def test_audit_filters_match_literally(meta_world: World, value: str) -> None:
    world = meta_world
    admin = world.auth("admin")

    def audit(**params: str) -> httpx.Response:
        return world.client.get("/api/v1/audit", params=params, headers=admin)

    assert audit(actor=value).json() == {"entries": []}
    assert "unknown action" in assert_refused(audit(action=value), 400)
    assert assert_refused(audit(since=value), 400).startswith("Parameter `since`")
    assert_refused(audit(limit=value), 400)
    # A key named after the payload acts: its name comes back verbatim as the actor. (Key
    # names come from the command line, whose arguments cannot hold a NUL character.)
    text = f"audit {value}".replace("\x00", "")
    name, event_name = text[:100], text[:120]
    secret = create_key(world.meta, name=name, scopes=("sites:write",))[1]
    goal = world.client.put(
        "/api/v1/sites/goals",
        json={"site_id": DOMAIN, "goal_type": "event", "event_name": event_name},
        headers={"authorization": f"Bearer {secret}"},
    )
    assert goal.status_code == 200, goal.text
    world.client.request(
        "DELETE",
        f"/api/v1/sites/goals/{goal.json()['id']}",
        params={"site_id": DOMAIN},
        headers=admin,
    )
    entries = audit(actor=f"key:{name}").json()["entries"]
    assert [(e["actor"], e["action"]) for e in entries] == [(f"key:{name}", "goal.add")]
    assert entries[0]["after"]["event_name"] == event_name
    assert_intact(world)


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2026-13-01", "1e999"]
)
def test_audit_since_out_of_range_is_refused(meta_world: World, since: str) -> None:
    response = meta_world.client.get(
        "/api/v1/audit", params={"since": since}, headers=meta_world.auth("admin")
    )
    assert assert_refused(response, 400).startswith("Parameter `since`")
    assert meta_world.run("audit", "--since", since).exit_code == 2


# -- the command line ----------------------------------------------------------------------------


def _cli_probe(world: World, value: str) -> None:
    added = world.run("site", "add", value)
    assert added.exit_code == 1 and added.stderr.startswith("error: invalid domain")

    name = value[:100]
    created = world.run("key", "create", "--name", name, "--scope", "stats:read")
    assert created.stdout.startswith(f"created key {name} (stats:read)"), created.output
    assert world.run("key", "create", "--name", name).exit_code == 1  # the name is taken
    # The key works, and the audit log has its creation under the verbatim name.
    check = world.client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": DOMAIN, "period": "day", "date": LIVE_DAY},
        headers={"authorization": f"Bearer {created.stdout.splitlines()[-1]}"},
    )
    assert check.status_code == 200, check.text
    log = world.run("audit", "--action", "key.create", "--limit", "1", "--json").stdout
    assert json.loads(log)["target"] == name

    event_name = f"cli {value}"[:120]
    goal = world.run(
        "goal", "add", "--site", DOMAIN, "--event", event_name, "--display-name", value
    )
    assert goal.exit_code == 0, goal.output
    goal_id = goal.stdout.split()[1]
    listed = world.run("goal", "list", "--site", DOMAIN).stdout
    assert f"{goal_id}\tevent\t{event_name}\t{value}\n" in listed
    assert world.run("goal", "delete", "--site", DOMAIN, goal_id).exit_code == 0
    assert "must start with /" in world.run("goal", "add", "--site", DOMAIN, "--page", value).stderr
    assert world.run("goal", "add", "--site", value, "--event", "x").stderr.startswith(
        "error: no site"
    )

    user = world.run("user", "add", value, "--role", "viewer", "--password-stdin", stdin="x" * 12)
    assert user.exit_code == 1 and "invalid email address" in user.stderr
    assert world.run("audit", "--actor", value).stdout == "at\tactor\taction\ttarget\tip\tchange\n"
    assert world.run("audit", "--action", value).exit_code == 2
    assert_intact(world)


@pytest.mark.parametrize("value", PRINTABLE)
def test_cli_inputs_are_refused_or_stored_verbatim(world: World, value: str) -> None:
    _cli_probe(world, value)


# Each command opens and migrates the metadata store: a sample keeps PostgreSQL's run short.
POSTGRES_CLI = ["or-true", "drop-sites", "dollar-quote", "backslash-quote", "unicode-quotes"]


@pytest.mark.parametrize("value", [p for p in PRINTABLE if p.id in POSTGRES_CLI])
def test_cli_inputs_on_postgresql(postgres_world: World, value: str) -> None:
    _cli_probe(postgres_world, value)


@pytest.mark.parametrize(
    "email", ["x'or'1'='1@example.com", "'--@example.com", "o'reilly+%_$?{}|~@example.com"]
)
def test_cli_user_emails_with_sql_characters_are_stored_verbatim(
    meta_world: World, email: str
) -> None:
    world = meta_world
    add = ("user", "add", email, "--role", "viewer", "--password-stdin")
    assert world.run(*add, stdin="p" * 12).stdout == f"added user {email} (viewer)\n"
    listed = world.run("user", "list").stdout
    assert [line for line in listed.splitlines() if line.split("\t")[0] == email]
    assert world.run(*add, stdin="p" * 12).exit_code == 1  # the email is taken
    assert_intact(world)
