"""Sign-in: setup page, login/logout, sessions, CSRF, delay and lockout, limits, secret keys."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.testclient import TestClient

from footfall.cli import serve
from footfall.clock import FixedClock
from footfall.errors import ConfigError, ConflictError
from footfall.meta.audit import list_entries
from footfall.meta.logins import (
    LoginPolicy,
    Outcome,
    attempt_login,
    create_first_admin,
    create_session,
    end_session,
    end_user_sessions,
    session_user,
)
from footfall.meta.users import add_user
from footfall.security.signing import DEV_KEY_FILE, Signer, resolve_secret_key
from footfall.services import open_meta
from footfall.settings import Settings, describe, load_settings
from footfall.web.app import create_app
from footfall.web.middleware.clients import request_is_https, trusted_client_ip
from footfall.web.pages.accounts import safe_next
from tests.conftest import FOOTFALL

PASSWORD = "correct horse battery"
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
KEY_A = "a" * 8 + "-first-secret-key-for-the-tests-0123456789"
KEY_B = "b" * 8 + "-second-secret-key-for-the-tests-9876543210"
XSS = '"><script>alert(1)</script>'


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


# -- the delay and lockout policy, sessions, first admin (SQLite and PostgreSQL) --------------


def test_delay_doubles_from_the_third_failure_then_locks() -> None:
    policy = LoginPolicy(lockout_after=8, lockout_minutes=15)
    delays = [policy.delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [0, 0, 1, 2, 4, 8, 16, 900, 900]


def test_failures_delay_then_lock_and_success_resets(engine: sa.Engine) -> None:
    add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    policy = LoginPolicy(lockout_after=4, lockout_minutes=15)

    def attempt(password: str, at: dt.datetime) -> Outcome:
        return attempt_login(
            engine, "Alice@Example.com", password, now=at, policy=policy, ip="192.0.2.1"
        ).outcome

    assert attempt("wrong password!", NOW) is Outcome.FAILED
    assert attempt("wrong password!", NOW) is Outcome.FAILED
    assert attempt("wrong password!", NOW) is Outcome.FAILED  # third: next waits 1 s
    locked = attempt_login(engine, "alice@example.com", PASSWORD, now=NOW, policy=policy)
    assert (locked.outcome, locked.retry_after) == (Outcome.LOCKED, 1)
    later = NOW + dt.timedelta(seconds=2)
    assert attempt("wrong password!", later) is Outcome.FAILED  # fourth: locked 15 minutes
    result = attempt_login(engine, "alice@example.com", PASSWORD, now=later, policy=policy)
    assert result.outcome is Outcome.LOCKED
    assert result.retry_after == 15 * 60
    after_lock = later + dt.timedelta(minutes=15, seconds=1)
    assert attempt(PASSWORD, after_lock) is Outcome.SUCCESS
    # The count starts again: two failures cost nothing.
    assert attempt("wrong password!", after_lock) is Outcome.FAILED
    assert attempt("wrong password!", after_lock) is Outcome.FAILED
    assert attempt(PASSWORD, after_lock) is Outcome.SUCCESS


def test_every_attempt_is_audited_with_its_reason(engine: sa.Engine) -> None:
    add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    policy = LoginPolicy(lockout_after=3, lockout_minutes=1)
    for password in ("nope nope nope", "nope nope nope", "nope nope nope", PASSWORD):
        attempt_login(engine, "alice@example.com", password, now=NOW, policy=policy, ip="::1")
    attempt_login(engine, "nobody@example.com", PASSWORD, now=NOW, policy=policy)
    entries = list(reversed(list_entries(engine)))
    assert [(e.action, e.target, (e.after or {}).get("reason")) for e in entries] == [
        ("login.failure", "alice@example.com", "bad_password"),
        ("login.failure", "alice@example.com", "bad_password"),
        ("login.failure", "alice@example.com", "bad_password"),
        ("login.failure", "alice@example.com", "locked"),
        ("login.failure", "nobody@example.com", "unknown_user"),
    ]
    assert entries[0].ip == "::1" and entries[0].actor == "anonymous"
    assert all(PASSWORD not in str(e.as_json()) for e in entries)
    ok = attempt_login(
        engine, "alice@example.com", PASSWORD, now=NOW + dt.timedelta(minutes=2), policy=policy
    )
    assert ok.outcome is Outcome.SUCCESS
    success = list_entries(engine, action="login.success")
    assert [(e.actor, e.target) for e in success] == [
        ("user:alice@example.com", "alice@example.com")
    ]


def test_a_disabled_user_cannot_sign_in(engine: sa.Engine) -> None:
    user = add_user(engine, email="alice@example.com", role="viewer", password=PASSWORD)
    token = create_session(engine, user.id, now=NOW, lifetime=dt.timedelta(hours=1))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET disabled_at = :at"), {"at": NOW})
    result = attempt_login(engine, "alice@example.com", PASSWORD, now=NOW, policy=LoginPolicy())
    assert result.outcome is Outcome.FAILED
    assert list_entries(engine, action="login.failure")[0].after == {
        "reason": "disabled",
        "failures": 1,
    }
    assert session_user(engine, token, now=NOW) is None


def test_sessions_are_stored_hashed_expire_and_end(engine: sa.Engine) -> None:
    user = add_user(engine, email="alice@example.com", role="admin", password=PASSWORD)
    hour = dt.timedelta(hours=1)
    token = create_session(engine, user.id, now=NOW, lifetime=hour)
    other = create_session(engine, user.id, now=NOW, lifetime=hour)
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(sa.text("SELECT token_hash FROM login_sessions"))]
    assert token not in stored and len(stored) == 2
    found = session_user(engine, token, now=NOW + dt.timedelta(minutes=5))
    assert found is not None and found.email == "alice@example.com"
    assert session_user(engine, token, now=NOW + hour) is None
    assert session_user(engine, "not-a-token", now=NOW) is None
    end_session(engine, token)
    assert session_user(engine, token, now=NOW) is None
    assert session_user(engine, other, now=NOW) is not None
    assert end_user_sessions(engine, user.id) == 1
    assert session_user(engine, other, now=NOW) is None


def test_only_the_first_admin_comes_from_setup(engine: sa.Engine) -> None:
    first = create_first_admin(engine, email="root@example.com", password=PASSWORD)
    assert first.role == "admin"
    with pytest.raises(ConflictError, match="setup is closed"):
        create_first_admin(engine, email="other@example.com", password=PASSWORD)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 1


# -- the pages ------------------------------------------------------------------------------


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return settings.replace(login_rate_limit="", login_account_rate_limit="")


def _client(settings: Settings, **kwargs: object) -> TestClient:
    clock = FixedClock(NOW)
    return TestClient(create_app(settings, clock=clock), follow_redirects=False, **kwargs)  # type: ignore[arg-type]


def _set_up(client: TestClient, email: str = "root@example.com") -> None:
    page = client.get("/setup")
    response = client.post(
        "/setup",
        data={
            "email": email,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "csrf_token": _csrf(page.text),
        },
    )
    assert response.status_code == 303, response.text


def _sign_in(
    client: TestClient, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": _csrf(page.text), **extra},
    )


def test_first_run_setup_creates_an_admin_then_closes(web_settings: Settings) -> None:
    with _client(web_settings) as client:
        assert client.get("/").headers["location"] == "/setup"
        assert client.get("/login").headers["location"] == "/setup"
        page = client.get("/setup")
        assert page.status_code == 200 and 'type="password"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        token = _csrf(page.text)
        mismatch = client.post(
            "/setup",
            data={
                "email": "root@example.com",
                "password": PASSWORD,
                "password_confirm": PASSWORD + "x",
                "csrf_token": token,
            },
        )
        assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.text
        short = client.post(
            "/setup",
            data={
                "email": "root@example.com",
                "password": "short",
                "password_confirm": "short",
                "csrf_token": token,
            },
        )
        assert short.status_code == 400 and "it needs at least 12" in short.text
        _set_up(client)
        home = client.get("/")
        assert home.status_code == 200 and "root@example.com (admin)" in home.text
        assert "example.com" in home.text
        # Closed: the page sends to sign-in and a replayed form creates nobody.
        assert client.get("/setup").headers["location"] == "/login"
        again = client.post(
            "/setup",
            data={
                "email": "evil@example.com",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
                "csrf_token": token,
            },
        )
        assert again.headers["location"] == "/login"
    meta = open_meta(web_settings)
    with meta.connect() as conn:
        assert [r[0] for r in conn.execute(sa.text("SELECT email FROM users"))] == [
            "root@example.com"
        ]
    assert [(e.actor, e.action) for e in list_entries(meta)] == [("setup", "user.add")]


def test_login_sets_a_protected_cookie_and_logout_ends_the_session(
    web_settings: Settings,
) -> None:
    add_user(open_meta(web_settings), email="alice@example.com", role="admin", password=PASSWORD)
    with _client(web_settings) as client:
        assert client.get("/").headers["location"] == "/login"
        wrong = _sign_in(client, "alice@example.com", "not the password")
        assert wrong.status_code == 400
        assert "The email address or password is not correct." in wrong.text
        unknown = _sign_in(client, "nobody@example.com")
        assert unknown.text == wrong.text.replace("alice@example.com", "nobody@example.com")
        response = _sign_in(client, "alice@example.com")
        assert response.status_code == 303
        cookie = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith("footfall_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http
        session_cookie = client.cookies["footfall_session"]
        home = client.get("/")
        assert "alice@example.com" in home.text
        # Sign-out needs the form's token.
        assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
        assert client.get("/").status_code == 200
        out = client.post("/logout", data={"csrf_token": _csrf(home.text)})
        assert out.headers["location"] == "/login"
        assert "footfall_session" not in client.cookies
        # The old cookie, replayed, signs nobody in: the session is gone from the store.
        client.cookies.set("footfall_session", session_cookie)
        assert client.get("/").headers["location"] == "/login"
    actions = [e.action for e in reversed(list_entries(open_meta(web_settings)))]
    assert actions == ["login.failure", "login.failure", "login.success", "logout"]


def test_cookie_is_secure_over_https(web_settings: Settings) -> None:
    add_user(open_meta(web_settings), email="alice@example.com", role="admin", password=PASSWORD)
    with _client(web_settings, base_url="https://testserver") as client:
        response = _sign_in(client, "alice@example.com")
        cookie = response.headers["set-cookie"]
        assert "Secure" in cookie
        assert "strict-transport-security" in client.get("/login").headers


def test_forms_without_a_valid_csrf_token_are_refused(web_settings: Settings) -> None:
    add_user(open_meta(web_settings), email="alice@example.com", role="admin", password=PASSWORD)
    with _client(web_settings) as victim:
        # The attacker's own browser gets a valid token of its own...
        attacker_token = _csrf(victim.get("/login").text)
        victim.cookies.clear()
        # ...which is worthless in the victim's.
        victim.get("/login")
        form = {"email": "alice@example.com", "password": PASSWORD}
        # No token, a token from another browser, a forged one, a foreign Origin.
        for data, headers in (
            (form, {}),
            ({**form, "csrf_token": attacker_token}, {}),
            ({**form, "csrf_token": "x.y.z"}, {}),
            (
                {**form, "csrf_token": victim.cookies["footfall_csrf"]},
                {"origin": "https://evil.example"},
            ),
        ):
            refused = victim.post("/login", data=data, headers=headers)
            assert refused.status_code == 403
            assert "The form expired" in refused.text
            assert "footfall_session" not in victim.cookies
        assert (
            victim.post(
                "/login", content=b"{}", headers={"content-type": "application/json"}
            ).status_code
            == 415
        )
        big = victim.post("/login", data={"email": "x" * 20_000, "csrf_token": "t"})
        assert big.status_code == 413
    assert list_entries(open_meta(web_settings)) == []


def test_user_input_is_escaped_and_redirects_stay_on_site(web_settings: Settings) -> None:
    add_user(open_meta(web_settings), email="alice@example.com", role="admin", password=PASSWORD)
    with _client(web_settings) as client:
        page = _sign_in(client, XSS, "whatever password", next=XSS)
        assert XSS not in page.text
        assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        login = client.get("/login", params={"next": "//evil.example/"})
        assert 'name="next" value="/"' in login.text
        done = _sign_in(client, "alice@example.com", next="/sites?period=7d")
        assert done.headers["location"] == "/sites?period=7d"
    with _client(web_settings) as client:
        setup_closed = client.get("/setup")
        assert setup_closed.status_code == 303


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/"),
        ("", "/"),
        ("/dashboard?x=1", "/dashboard?x=1"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_xss_in_setup_form_is_escaped(web_settings: Settings) -> None:
    with _client(web_settings) as client:
        page = client.get("/setup")
        response = client.post(
            "/setup",
            data={
                "email": XSS,
                "password": PASSWORD,
                "password_confirm": PASSWORD,
                "csrf_token": _csrf(page.text),
            },
        )
        assert response.status_code == 400
        assert "<script>alert(1)</script>" not in response.text
        assert "invalid email address" in response.text


def test_web_lockout_and_rate_limits(settings: Settings) -> None:
    meta = open_meta(settings)
    add_user(meta, email="alice@example.com", role="admin", password=PASSWORD)
    locking = settings.replace(
        login_rate_limit="", login_account_rate_limit="", login_lockout_after=3
    )
    with _client(locking) as client:
        for _ in range(3):
            assert _sign_in(client, "alice@example.com", "bad password!!").status_code == 400
        locked = _sign_in(client, "alice@example.com")
        assert locked.status_code == 429
        assert locked.headers["retry-after"] == "900"
        assert "Too many failed sign-ins. Try again in 900 seconds." in locked.text
    per_ip = settings.replace(login_rate_limit="2/minute", login_account_rate_limit="")
    with _client(per_ip) as client:
        for email in ("a@example.com", "b@example.com"):
            assert _sign_in(client, email).status_code == 400
        throttled = _sign_in(client, "c@example.com")
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1
        assert throttled.headers["ratelimit-limit"] == "2"
        assert "Too many sign-in attempts" in throttled.text
    per_account = settings.replace(login_rate_limit="", login_account_rate_limit="2/minute")
    with _client(per_account) as client:
        for _ in range(2):
            _sign_in(client, "x@example.com")
        assert _sign_in(client, "X@example.com ").status_code == 429
        assert _sign_in(client, "y@example.com").status_code == 400
    # Throttled attempts never reached the password check, so they are not in the log.
    reasons = [(e.after or {}).get("reason") for e in list_entries(meta)]
    assert reasons.count("locked") == 1 and len(reasons) == 3 + 1 + 2 + 2 + 1


# -- addresses and https behind proxies -----------------------------------------------------


def _request(settings: Settings, peer: str, headers: dict[str, str]) -> Request:
    class _App:
        class state:  # like Starlette's app.state
            footfall = type("S", (), {"settings": settings})

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/login",
        "scheme": "http",
        "server": ("footfall.example", 80),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": (peer, 5000),
        "app": _App,
    }
    return Request(scope)


def test_forwarding_headers_count_only_from_trusted_proxies(settings: Settings) -> None:
    headers = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
    proxied = _request(settings, "127.0.0.1", headers)
    assert trusted_client_ip(proxied) == "203.0.113.9"
    assert request_is_https(proxied)
    direct = _request(settings, "198.51.100.7", headers)
    assert trusted_client_ip(direct) == "198.51.100.7"
    assert not request_is_https(direct)
    wider = settings.replace(trusted_proxies="10.0.0.0/8")
    assert trusted_client_ip(_request(wider, "10.1.2.3", headers)) == "203.0.113.9"
    assert trusted_client_ip(_request(wider, "127.0.0.1", headers)) == "127.0.0.1"


# -- the secret key -------------------------------------------------------------------------


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    for environ in (
        {"FOOTFALL_ENVIRONMENT": "production"},
        {"FOOTFALL_HOST": "0.0.0.0"},
    ):
        settings = load_settings({"data_dir": tmp_path}, environ=environ)
        with pytest.raises(ConfigError, match="FOOTFALL_SECRET_KEY is required"):
            resolve_secret_key(settings)
        with pytest.raises(ConfigError, match="FOOTFALL_SECRET_KEY is required"):
            create_app(settings)
    assert not (tmp_path / DEV_KEY_FILE).exists()
    given = load_settings(
        {"data_dir": tmp_path},
        environ={"FOOTFALL_ENVIRONMENT": "production", "FOOTFALL_SECRET_KEY": KEY_A},
    )
    assert resolve_secret_key(given).secret_key == KEY_A


def test_development_generates_a_private_stable_key(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path / "data"}, environ={})
    first = resolve_secret_key(settings).secret_key
    path = tmp_path / "data" / DEV_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert resolve_secret_key(settings).secret_key == first
    path.write_text("changeme\n")
    with pytest.raises(ConfigError, match="unusable"):
        resolve_secret_key(settings)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("changeme", "published default"),
        ("CHANGEME", "published default"),
        ("short-but-random-Xy7", "at least 32 characters"),
        ("ab" * 20, "repeats a few characters"),
    ],
)
def test_weak_secret_keys_are_refused_without_echo(value: str, message: str) -> None:
    for variable in ("FOOTFALL_SECRET_KEY", "FOOTFALL_SECRET_KEY_FALLBACKS"):
        with pytest.raises(ConfigError, match=message) as caught:
            load_settings(environ={variable: value})
        assert value not in str(caught.value) and variable in str(caught.value)


def test_secret_keys_come_from_files_and_are_never_shown(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY_A + "\n")
    settings = load_settings(
        environ={"FOOTFALL_SECRET_KEY_FILE": str(key_file), "FOOTFALL_SECRET_KEY_FALLBACKS": KEY_B}
    )
    assert settings.secret_key == KEY_A and settings.fallback_secret_keys == (KEY_B,)
    shown = {s.name: v for s, v in describe(settings)}
    assert shown["secret_key"] == shown["secret_key_fallbacks"] == "********"
    assert KEY_A not in repr(settings) and KEY_B not in repr(settings)


def test_signer_signs_with_the_current_key_and_accepts_fallbacks() -> None:
    old = Signer(KEY_A)
    rotated = Signer(KEY_B, (KEY_A,))
    finished = Signer(KEY_B)
    signed = old.sign("session", "token")
    assert rotated.unsign("session", signed) == "token"
    assert finished.unsign("session", signed) is None
    assert rotated.unsign("csrf", signed) is None  # bound to its purpose
    assert old.unsign("session", rotated.sign("session", "token")) is None
    mac = old.mac("csrf", "v")
    assert rotated.check_mac("csrf", "v", mac) and not finished.check_mac("csrf", "v", mac)
    with pytest.raises(ValueError, match="needs a secret key"):
        Signer("")


def test_rotating_the_key_keeps_sessions_while_the_old_key_is_a_fallback(
    web_settings: Settings,
) -> None:
    add_user(open_meta(web_settings), email="alice@example.com", role="admin", password=PASSWORD)
    with _client(web_settings.replace(secret_key=KEY_A)) as client:
        _sign_in(client, "alice@example.com")
        cookie = client.cookies["footfall_session"]
    for secret, fallbacks, signed_in in (
        (KEY_B, KEY_A, True),
        (KEY_B, "", False),
        (KEY_A, "", True),
    ):
        rotated = web_settings.replace(secret_key=secret, secret_key_fallbacks=fallbacks)
        with _client(rotated) as client:
            client.cookies.set("footfall_session", cookie)
            assert (client.get("/").status_code == 200) is signed_in


def test_serve_refuses_to_listen_publicly_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    result = subprocess.run(
        [*FOOTFALL, "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: FOOTFALL_SECRET_KEY is required")


def test_demo_login_is_created_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    meta = open_meta(settings)
    first = serve._demo_login(meta, tmp_path)
    assert serve.DEMO_EMAIL in first
    password = first.rsplit(" ", 1)[1].rstrip(")")
    assert (
        attempt_login(meta, serve.DEMO_EMAIL, password, now=NOW, policy=LoginPolicy()).outcome
        is Outcome.SUCCESS
    )
    assert serve._demo_login(meta, tmp_path) == first
    assert stat.S_IMODE((tmp_path / serve.DEMO_LOGIN_FILE).stat().st_mode) == 0o600


def test_the_sites_page_lists_only_what_the_user_may_read(web_settings: Settings) -> None:
    from footfall.meta.access import grant_site
    from footfall.meta.sites import add_site

    meta = open_meta(web_settings)
    add_site(meta, domain="other.org")
    add_user(meta, email="vera@example.com", role="viewer", password=PASSWORD)
    add_user(meta, email="alice@example.com", role="admin", password=PASSWORD)
    with _client(web_settings) as client:
        _sign_in(client, "vera@example.com")
        assert "No site has been shared with you yet." in client.get("/").text
        grant_site(meta, "vera@example.com", "example.com")
        page = client.get("/").text
        assert "example.com" in page and "other.org" not in page
        client.cookies.clear()
        _sign_in(client, "alice@example.com")
        page = client.get("/").text
        assert "example.com" in page and "other.org" in page
