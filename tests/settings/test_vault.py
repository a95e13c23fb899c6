"""Secret settings from Vault: token and AppRole, the key history as fallbacks, clear refusals.

Every test runs against a real OpenBao dev server (`tests/vault_server.py`).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from footfall.errors import ConfigError
from footfall.settings import REDACTED, describe, load_settings
from footfall.settings.vault import VaultError, VaultSecrets
from tests.conftest import FOOTFALL
from tests.services import free_port
from tests.vault_server import VaultServer

KEY_1, KEY_2, KEY_3, KEY_0 = (secrets.token_urlsafe(40) for _ in range(4))
DB_URL = "postgresql+psycopg://footfall:s3cr3t-pw@db.internal/footfall"


def _env(vault: VaultServer, token: str, **extra: str) -> dict[str, str]:
    return {"FOOTFALL_VAULT_ADDR": vault.addr, "FOOTFALL_VAULT_TOKEN": token, **extra}


def _reader(vault: VaultServer) -> str:
    return vault.token([vault.reader_policy()])


def test_secrets_come_from_vault_with_a_token_from_a_file(
    vault: VaultServer, tmp_path: Path
) -> None:
    vault.put_secret({"secret_key": KEY_1, "database_url": DB_URL, "metrics_token": KEY_0})
    token_file = tmp_path / "token"
    token_file.write_text(_reader(vault) + "\n")
    env = {"FOOTFALL_VAULT_ADDR": vault.addr, "FOOTFALL_VAULT_TOKEN_FILE": str(token_file)}
    settings = load_settings({}, environ=env)
    assert (settings.secret_key, settings.database_url) == (KEY_1, DB_URL)
    assert (settings.metrics_token, settings.secret_key_fallbacks) == (KEY_0, "")
    shown = dict((s.name, v) for s, v in describe(settings))
    assert shown["secret_key"] == shown["database_url"] == shown["vault_token"] == REDACTED
    assert not any(KEY_1 in v or "s3cr3t" in v for v in shown.values())
    assert KEY_1 not in repr(settings)
    # Without asking Vault (the health check), nothing comes from it.
    assert load_settings({}, environ=env, vault=False).secret_key == ""


def test_approle_logs_in_and_again_when_its_token_expires_or_is_revoked(
    vault: VaultServer,
) -> None:
    vault.put_secret({"secret_key": KEY_1})
    if "approle/" not in vault.api("GET", "sys/auth")["data"]:
        vault.api("POST", "sys/auth/approle", {"type": "approle"})
    vault.api(
        "POST",
        "auth/approle/role/footfall",
        {"token_policies": [vault.reader_policy()], "token_ttl": "2s", "token_max_ttl": "2s"},
    )
    role_id = vault.api("GET", "auth/approle/role/footfall/role-id")["data"]["role_id"]
    secret_id = vault.api("POST", "auth/approle/role/footfall/secret-id")["data"]["secret_id"]
    source = VaultSecrets(addr=vault.addr, role_id=role_id, secret_id=secret_id)
    now = dt.datetime.now(dt.UTC)
    try:
        assert source.read(now)["secret_key"] == KEY_1
        time.sleep(2.5)  # the login token has expired: footfall logged in again before that
        assert source.read(now)["secret_key"] == KEY_1
        vault.api("PUT", "sys/leases/revoke-prefix/auth/approle/login")
        assert source.read(now)["secret_key"] == KEY_1  # refused once, then a new login
    finally:
        source.close()
    wrong = VaultSecrets(addr=vault.addr, role_id=role_id, secret_id="not-the-secret-id")
    with pytest.raises(VaultError, match="refused the AppRole login") as refused:
        wrong.read(now)
    assert "not-the-secret-id" not in str(refused.value)


def test_replaced_keys_stay_fallbacks_for_their_lifetime_newest_first(vault: VaultServer) -> None:
    vault.put_secret({"secret_key": KEY_1})
    vault.put_secret({"secret_key": KEY_2})
    vault.put_secret({"secret_key": KEY_2, "metrics_token": KEY_0})  # the key did not change
    vault.put_secret({"secret_key": KEY_3, "metrics_token": KEY_0})
    source = VaultSecrets(
        addr=vault.addr, token=vault.root_token, key_lifetime=dt.timedelta(hours=1)
    )
    now = dt.datetime.now(dt.UTC)
    try:
        fields = source.read(now)
        assert fields["secret_key"] == KEY_3
        assert fields["secret_key_fallbacks"] == f"{KEY_2},{KEY_1}"
        # Once the longest-lived signature made with them has expired, they verify no more.
        assert source.read(now + dt.timedelta(hours=2))["secret_key_fallbacks"] == ""
        # Fallbacks written in the secret come first; the current key is never its own fallback.
        vault.put_secret({"secret_key": KEY_3, "secret_key_fallbacks": f"{KEY_0},{KEY_3}"})
        assert source.read(now)["secret_key_fallbacks"] == f"{KEY_0},{KEY_2},{KEY_1}"
    finally:
        source.close()


def test_deleting_a_version_retires_its_key_at_once(vault: VaultServer) -> None:
    vault.put_secret({"secret_key": KEY_1})
    vault.put_secret({"secret_key": KEY_2})
    vault.put_secret({"secret_key": KEY_3})
    source = VaultSecrets(addr=vault.addr, token=vault.root_token)
    now = dt.datetime.now(dt.UTC)
    try:
        assert source.read(now)["secret_key_fallbacks"] == f"{KEY_2},{KEY_1}"
        # A leaked key: delete the version that held it (here the one before the current).
        vault.api("POST", "secret/delete/footfall", {"versions": [2]})
        fresh = VaultSecrets(addr=vault.addr, token=vault.root_token)
        assert fresh.read(now)["secret_key_fallbacks"] == ""
        fresh.close()
    finally:
        source.close()


def test_a_secret_set_in_the_environment_and_in_vault_is_refused(vault: VaultServer) -> None:
    vault.put_secret({"secret_key": KEY_1})
    token = _reader(vault)
    with pytest.raises(ConfigError, match="FOOTFALL_SECRET_KEY is set and the Vault secret"):
        load_settings({}, environ=_env(vault, token, FOOTFALL_SECRET_KEY=KEY_2))
    with pytest.raises(ConfigError, match=r"FOOTFALL_SECRET_KEY_FALLBACKS is set.*fallbacks come"):
        load_settings({}, environ=_env(vault, token, FOOTFALL_SECRET_KEY_FALLBACKS=KEY_2))
    # A secret Vault does not hold may come from the environment.
    settings = load_settings({}, environ=_env(vault, token, FOOTFALL_DATABASE_URL=DB_URL))
    assert (settings.secret_key, settings.database_url) == (KEY_1, DB_URL)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"host": "0.0.0.0"}, "holds 'host', which is not a secret setting"),
        ({"vault_token": "x" * 40}, "holds 'vault_token', which is not a secret setting"),
        ({"secret_key": "too-short-to-sign"}, "field secret_key: a secret key needs at least 32"),
        ({"secret_key": "changeme"}, "field secret_key: this is a published default"),
    ],
)
def test_unusable_fields_are_refused_without_their_value(
    vault: VaultServer, fields: dict[str, str], message: str
) -> None:
    vault.put_secret(fields)
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings({}, environ=_env(vault, vault.root_token))
    assert not any(value in str(refused.value) for value in fields.values())


def test_vault_failures_are_one_clear_line_without_the_token(vault: VaultServer) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    token = _reader(vault)
    with pytest.raises(ConfigError, match=f"cannot read secret/footfall from Vault at {nobody}"):
        load_settings({}, environ={"FOOTFALL_VAULT_ADDR": nobody, "FOOTFALL_VAULT_TOKEN": token})
    with pytest.raises(ConfigError, match="there is no secret secret/footfall"):
        load_settings({}, environ=_env(vault, token))
    vault.put_secret({"secret_key": KEY_1})
    powerless = vault.token(["default"])
    with pytest.raises(ConfigError, match="refused to let footfall read secret/footfall") as no:
        load_settings({}, environ=_env(vault, powerless))
    assert powerless not in str(no.value)
    with pytest.raises(ConfigError, match="also set FOOTFALL_VAULT_TOKEN"):
        load_settings({}, environ={"FOOTFALL_VAULT_ADDR": vault.addr})
    with pytest.raises(ConfigError, match="set FOOTFALL_VAULT_SECRET_ID too"):
        load_settings(
            {}, environ={"FOOTFALL_VAULT_ADDR": vault.addr, "FOOTFALL_VAULT_ROLE_ID": "r"}
        )
    with pytest.raises(ConfigError, match="FOOTFALL_VAULT_ADDR: expected a URL"):
        load_settings({}, environ={"FOOTFALL_VAULT_ADDR": "vault:8200"})


def test_commands_read_vault_and_the_health_check_does_not(
    vault: VaultServer, tmp_path: Path
) -> None:
    vault.put_secret({"secret_key": KEY_1, "database_url": f"sqlite:///{tmp_path / 'm.db'}"})
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    env = {**base, **_env(vault, _reader(vault)), "FOOTFALL_DATA_DIR": str(tmp_path / "d")}

    def run(*args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*FOOTFALL, *args], env=environ, capture_output=True, text=True, timeout=60, check=False
        )

    listed = run("settings", environ=env)
    assert listed.returncode == 0, listed.stderr
    assert f"FOOTFALL_SECRET_KEY={REDACTED}" in listed.stdout and KEY_1 not in listed.stdout
    assert run("migrate", environ=env).returncode == 0
    assert (tmp_path / "m.db").exists()  # the database URL came from Vault
    # With Vault gone, commands stop with one line; the health check never asks Vault.
    gone = {**env, "FOOTFALL_VAULT_ADDR": f"http://127.0.0.1:{free_port()}"}
    failed = run("settings", environ=gone)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: cannot read secret/footfall from Vault")
    assert len(failed.stderr.strip().splitlines()) == 1
    probe = run("healthcheck", environ={**gone, "FOOTFALL_PORT": str(free_port())})
    assert probe.returncode == 1 and "did not answer" in probe.stderr


def test_fields_that_are_not_text_and_destroyed_versions(vault: VaultServer) -> None:
    vault.api("POST", "secret/data/footfall", {"data": {"metrics_token": 12345}})
    with pytest.raises(ConfigError, match="the field metrics_token of the Vault secret"):
        load_settings({}, environ=_env(vault, vault.root_token))
    vault.put_secret({"secret_key": KEY_1})
    vault.put_secret({"secret_key": KEY_2})
    vault.put_secret({"secret_key": KEY_3})
    # Destroyed (not only deleted) versions end the history the same way.
    vault.api("PUT", "secret/destroy/footfall", {"versions": [3]})
    source = VaultSecrets(addr=vault.addr, token=vault.root_token)
    try:
        fields = source.read(dt.datetime.now(dt.UTC))
    finally:
        source.close()
    assert (fields["secret_key"], fields["secret_key_fallbacks"]) == (KEY_3, "")
    vault.api("PUT", "secret/destroy/footfall", {"versions": [4]})
    with pytest.raises(ConfigError, match=r"has no current version|there is no secret"):
        load_settings({}, environ=_env(vault, vault.root_token))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FOOTFALL_VAULT_ADDR": "https://u:p@vault:8200"}, "not in the URL"),
        ({"FOOTFALL_VAULT_PATH": "../other"}, "FOOTFALL_VAULT_PATH: expected a path"),
        ({"FOOTFALL_VAULT_MOUNT": "kv v2"}, "FOOTFALL_VAULT_MOUNT: expected a path"),
        ({"FOOTFALL_VAULT_REFRESH_S": "0"}, "FOOTFALL_VAULT_REFRESH_S: must be greater than 0"),
    ],
)
def test_vault_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({}, environ=env)
