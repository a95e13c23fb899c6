from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from footfall.errors import ConfigError, ConflictError, InvalidInputError, NotFoundError
from footfall.ingest.salts import SaltKeeper
from footfall.meta import db
from footfall.meta.keys import KeyUsage, authenticate, create_key, list_keys, revoke_key
from footfall.meta.salts import SqlSaltStore, load_salts
from footfall.meta.sites import SiteDirectory, add_site, delete_site, get_site, list_sites


def test_migrations_go_up_and_down(meta_url: str) -> None:
    engine = db.create_engine(meta_url)
    assert db.current_revision(engine) is None
    assert db.migrate(engine) == db.head_revision()
    assert {"sites", "api_keys", "salts"} <= set(sa.inspect(engine).get_table_names())
    assert db.migrate(engine, "base") is None
    assert "sites" not in sa.inspect(engine).get_table_names()
    assert db.migrate(engine) == db.head_revision()
    # A store one revision behind is brought up (opening skips Alembic only at the head).
    previous = db.known_revisions()[-2]
    assert db.migrate(engine, previous) == previous
    assert db.migrate(engine) == db.head_revision()
    engine.dispose()


def test_each_migration_is_named_after_its_revision_so_the_newest_name_is_the_head() -> None:
    files = sorted(p.name[:4] for p in (db.MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert db.known_revisions() == files
    assert db.newest_revision() == db.head_revision() == files[-1]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@db/x", "postgresql://u:***@db/x"),
        ("postgresql://u:p@ss/w:rd@db:5432/x", "postgresql://u:***@db:5432/x"),
        (
            "postgresql://u@db/x?sslmode=require&password=pw",
            "postgresql://u@db/x?sslmode=require&password=***",
        ),
        ("sqlite:////srv/with:colon@at/meta.sqlite3", "sqlite:////srv/with:colon@at/meta.sqlite3"),
        ("not a url", "not a url"),
    ],
)
def test_database_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert db.redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "mysql://u:s3cret@db/x",
            "mysql://u:***@db/x: unsupported, use sqlite:/// or postgresql://",
        ),
        ("postgres://u:s3cret@db/x", "unsupported"),
        ("postgresql://u:s3cret@db:port/x", "postgresql://u:***@db:port/x cannot be parsed"),
        ("postgresql://u:s3@cret@db/x", "postgresql://u:***@db/x cannot be parsed"),
    ],
)
def test_unsupported_or_malformed_database_urls_are_refused(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match="FOOTFALL_DATABASE_URL") as caught:
        db.create_engine(url)
    assert says in str(caught.value)
    assert "s3" not in str(caught.value)


def test_a_bare_postgresql_url_uses_psycopg_3() -> None:
    assert db.database_url("postgresql://u:pw@db/x").drivername == "postgresql+psycopg"
    assert db.database_url("postgresql+psycopg2://u@db/x").drivername == "postgresql+psycopg2"


def test_sites_lifecycle(engine: sa.Engine) -> None:
    site = add_site(engine, domain="WWW.Example.com", timezone="Europe/Berlin")
    assert (site.domain, site.timezone) == ("example.com", "Europe/Berlin")
    add_site(engine, domain="blog.example.org")
    assert [s.domain for s in list_sites(engine)] == ["blog.example.org", "example.com"]
    assert get_site(engine, "www.example.com").id == site.id
    with pytest.raises(ConflictError, match="already exists"):
        add_site(engine, domain="example.com")
    delete_site(engine, "example.com")
    with pytest.raises(NotFoundError, match="footfall site add example"):
        get_site(engine, "example.com")


def test_the_first_event_of_a_site_just_added_elsewhere_finds_it(engine: sa.Engine) -> None:
    directory = SiteDirectory(engine, min_reload_seconds=0)
    # Another process (`footfall site add`) registers the site right after the server loaded.
    added = add_site(engine, domain="new.example")
    assert directory.site_id_for("new.example") == added.id


def test_events_for_an_unknown_domain_do_not_reload_the_sites_each_time(
    engine: sa.Engine,
) -> None:
    directory = SiteDirectory(engine, refresh_seconds=3600, min_reload_seconds=0)
    reads: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: reads.append(args[2]))
    for _ in range(50):
        assert directory.site_id_for("nobody.example") is None
    assert len([sql for sql in reads if "FROM sites" in sql]) == 1
    # Within its wait, a domain that missed is not looked up again; another one is.
    add_site(engine, domain="nobody.example")
    assert directory.site_id_for("nobody.example") is None
    other = add_site(engine, domain="other.example")
    assert directory.site_id_for("other.example") == other.id
    assert directory.site_id_for("nobody.example") is not None  # loaded with other.example


def test_misses_reload_at_most_once_per_interval_whatever_the_domains(engine: sa.Engine) -> None:
    directory = SiteDirectory(engine, min_reload_seconds=3600)
    add_site(engine, domain="late.example")
    assert [directory.site_id_for(f"made-up-{n}.example") for n in range(20)] == [None] * 20
    assert directory.site_id_for("late.example") is None  # until the interval has passed


@pytest.mark.parametrize("domain", ["", "not a domain", "http://x.com", "a..b", "-x.com"])
def test_bad_domains_are_refused(engine: sa.Engine, domain: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid domain"):
        add_site(engine, domain=domain)


def test_bad_timezone_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(InvalidInputError, match="unknown time zone 'Mars/Base'"):
        add_site(engine, domain="example.com", timezone="Mars/Base")


def test_keys_are_stored_hashed_and_authenticate(engine: sa.Engine) -> None:
    _, secret = create_key(engine, name="ci", scopes=("stats:read", "events:import"))
    assert secret.startswith("ff_") and len(secret) > 40
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT * FROM api_keys")).mappings().one()
    assert secret not in str(dict(stored))
    assert stored["prefix"] == secret[:10]
    now = dt.datetime.now(dt.UTC)
    found = authenticate(engine, secret, now=now)
    assert found is not None and found.allows("events:import") and not found.allows("admin")
    assert found.created_at.utcoffset() == dt.timedelta(0) and found.created_at <= now
    # Authenticating only reads; uses are written in batches.
    assert list_keys(engine)[0].last_used_at is None
    assert authenticate(engine, secret + "x", now=now) is None


def test_key_uses_are_written_in_batches_and_kept_when_the_write_fails(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key, _ = create_key(engine, name="ci")
    usage = KeyUsage()
    first = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
    usage.record(key.id, first + dt.timedelta(minutes=5))
    usage.record(key.id, first)  # an older use never moves the time back
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'meta.sqlite3'}")
    with pytest.raises(sa.exc.SQLAlchemyError):
        usage.flush(broken)
    assert len(usage) == 1  # kept for the next round
    assert usage.flush(engine) == 1
    assert list_keys(engine)[0].last_used_at == first + dt.timedelta(minutes=5)
    assert usage.flush(engine) == 0


def test_admin_scope_allows_everything(engine: sa.Engine) -> None:
    key, _ = create_key(engine, name="root", scopes=("admin",))
    assert key.allows("stats:read") and key.allows("events:import")


def test_revoked_and_expired_keys_do_not_authenticate(engine: sa.Engine) -> None:
    _, revoked = create_key(engine, name="old")
    assert revoke_key(engine, "old").revoked_at is not None
    assert revoke_key(engine, "old").revoked_at is not None  # idempotent
    now = dt.datetime.now(dt.UTC)
    assert authenticate(engine, revoked, now=now) is None
    _, expiring = create_key(engine, name="temp", expires_days=1)
    assert authenticate(engine, expiring, now=now) is not None
    assert authenticate(engine, expiring, now=now + dt.timedelta(days=2)) is None


def test_key_rotation_overlaps_until_the_old_key_is_revoked(engine: sa.Engine) -> None:
    _, old = create_key(engine, name="reports-2026", scopes=("stats:read",))
    _, new = create_key(engine, name="reports-2027", scopes=("stats:read",))
    now = dt.datetime.now(dt.UTC)
    # Clients move over while both keys work.
    assert authenticate(engine, old, now=now) is not None
    assert authenticate(engine, new, now=now) is not None
    revoke_key(engine, "reports-2026")
    assert authenticate(engine, old, now=now) is None
    assert authenticate(engine, new, now=now) is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": " "}, "non-empty --name"),
        ({"name": "k" * 101}, "key name is 101 characters long; the limit is 100"),
        ({"name": "k", "scopes": ("stats:write",)}, "unknown scope 'stats:write'"),
        ({"name": "k", "expires_days": 0}, "positive number of days"),
    ],
)
def test_bad_key_requests(engine: sa.Engine, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        create_key(engine, **kwargs)  # type: ignore[arg-type]


def test_duplicate_key_name_and_unknown_revoke(engine: sa.Engine) -> None:
    create_key(engine, name="dup")
    with pytest.raises(ConflictError):
        create_key(engine, name="dup")
    with pytest.raises(NotFoundError):
        revoke_key(engine, "nope")


def test_salts_rotate_at_midnight_and_keep_two(engine: sa.Engine) -> None:
    counter = iter(range(1, 100))
    keeper = SaltKeeper(SqlSaltStore(engine), random_bytes=lambda n: bytes([next(counter)]) * n)
    day1 = dt.datetime(2026, 11, 1, 23, 59, 59, tzinfo=dt.UTC)
    ring1 = keeper.ring(day1)
    assert ring1.current == bytes([1]) * 16 and ring1.previous is None
    assert keeper.ring(day1) is ring1  # no rotation within the day
    ring2 = keeper.ring(day1 + dt.timedelta(seconds=1))
    assert ring2.current == bytes([2]) * 16 and ring2.previous == ring1.current
    ring3 = keeper.ring(day1 + dt.timedelta(days=1, seconds=1))
    assert ring3.previous == ring2.current
    stored = [salt for salt, _ in load_salts(engine)]
    assert stored == [ring3.current, ring2.current]  # the oldest was deleted


def test_salts_survive_a_restart(engine: sa.Engine) -> None:
    now = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    first = SaltKeeper(SqlSaltStore(engine)).ring(now)
    again = SaltKeeper(SqlSaltStore(engine)).ring(now + dt.timedelta(hours=1))
    assert again.current == first.current
    assert again.current_created == now and again.current_created.utcoffset() == dt.timedelta(0)


def test_workers_rotating_at_the_same_midnight_make_one_salt(engine: sa.Engine) -> None:
    """Every worker sees yesterday's salt, then all rotate at once: one salt wins for all."""
    yesterday = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    SaltKeeper(SqlSaltStore(engine)).ring(yesterday)
    workers = 4
    loaded = threading.Barrier(workers)

    class RacingStore(SqlSaltStore):
        def load(self) -> list[tuple[bytes, dt.datetime]]:
            found = super().load()
            if found[0][1] < dt.datetime(2026, 11, 2, tzinfo=dt.UTC):
                loaded.wait(timeout=10)  # everybody decided to rotate before anybody saved
            return found

    rings: list[bytes] = []

    def rotate(n: int) -> None:
        keeper = SaltKeeper(RacingStore(engine), random_bytes=lambda size: bytes([n]) * size)
        rings.append(keeper.ring(dt.datetime(2026, 11, 2, 0, 0, 1, tzinfo=dt.UTC)).current)

    threads = [threading.Thread(target=rotate, args=(n,)) for n in range(1, workers + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(rings) == workers and len(set(rings)) == 1
    assert load_salts(engine)[0][0] == rings[0]
    assert len(load_salts(engine)) == 2  # today's and yesterday's


def test_migrations_build_the_tables_the_code_declares(engine: sa.Engine) -> None:
    """The Alembic history and footfall.meta.tables describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from footfall.meta.tables import metadata

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_key_names_with_nul_are_refused_on_every_store(engine: sa.Engine) -> None:
    with pytest.raises(InvalidInputError, match="NUL"):
        create_key(engine, name="ci\x00; DROP TABLE api_keys")
    assert list_keys(engine) == []
