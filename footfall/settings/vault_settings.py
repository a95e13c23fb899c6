"""The settings that say where secret settings come from besides the environment: Vault or OpenBao.

They are registered after the others (see `footfall.settings.REGISTRY`); the client that uses them
is `footfall.settings.vault`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from footfall.settings.registry import Setting, _parse_float

# A KV path segment: what Vault accepts without escaping, and no `..`.
_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


def _check_addr(value: str) -> None:
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected a URL such as https://vault.example.net:8200")
    if parts.username or parts.password:
        raise ValueError("put the credentials in FOOTFALL_VAULT_TOKEN, not in the URL")


def _check_path(value: str) -> None:
    if not _PATH.fullmatch(value) or ".." in value.split("/"):
        raise ValueError("expected a path such as footfall or apps/footfall/production")


VAULT_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "vault_addr",
        "",
        "URL of a HashiCorp Vault or OpenBao server (https://vault.example.net:8200) whose KV "
        "version 2 secret holds secret settings by name (secret_key, database_url, ...); they are "
        "read at start and again every vault_refresh_s; empty reads no secret from Vault.",
        parse=str.strip,
        check=_check_addr,
    ),
    Setting(
        "vault_token",
        "",
        "Vault token with read access to the secret (token authentication); leave empty to log "
        "in with AppRole instead.",
        secret=True,
    ),
    Setting(
        "vault_role_id",
        "",
        "AppRole role id: with vault_secret_id, footfall logs in to Vault and logs in again "
        "before its token expires.",
        parse=str.strip,
    ),
    Setting(
        "vault_secret_id",
        "",
        "AppRole secret id that goes with vault_role_id.",
        secret=True,
    ),
    Setting(
        "vault_auth_mount",
        "approle",
        "Path at which Vault's AppRole auth method is mounted.",
        parse=str.strip,
        check=_check_path,
    ),
    Setting(
        "vault_mount",
        "secret",
        "Path at which the KV version 2 secrets engine is mounted.",
        parse=str.strip,
        check=_check_path,
    ),
    Setting(
        "vault_path",
        "footfall",
        "Path of footfall's secret inside the KV mount.",
        parse=str.strip,
        check=_check_path,
    ),
    Setting(
        "vault_refresh_s",
        60.0,
        "Seconds between two reads of the Vault secret by a running server: a rotated secret key "
        "is used from the next read on, the previous one still accepted.",
        parse=_parse_float,
        greater_than=0,
        maximum=86_400,
    ),
    Setting(
        "vault_cacert",
        "",
        "CA certificate file (PEM) that Vault's TLS certificate must chain to; empty trusts the "
        "system's certificate authorities.",
        parse=str.strip,
    ),
)
