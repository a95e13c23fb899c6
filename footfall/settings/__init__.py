"""The settings: every knob footfall has, typed, documented and validated at start-up.

Values come from command-line flags, then ``FOOTFALL_<NAME>`` environment variables, then the
defaults in the registry (`footfall.settings.registry`). A secret may also be read from the
file named by ``FOOTFALL_<NAME>_FILE``, or from HashiCorp Vault when ``FOOTFALL_VAULT_ADDR`` is
set (`footfall.settings.vault`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footfall.errors import ConfigError
from footfall.settings import registry
from footfall.settings.notifications import NOTIFICATION_SETTINGS
from footfall.settings.registry import REDACTED, Setting, check_secret_key, redact_url
from footfall.settings.vault_settings import VAULT_SETTINGS

if TYPE_CHECKING:
    from footfall.settings.vault import VaultSecrets

__all__ = [
    "REDACTED",
    "REGISTRY",
    "Setting",
    "Settings",
    "check_secret_key",
    "describe",
    "load_settings",
    "redact_url",
    "vault_secrets",
    "with_secret_fields",
]

# Every setting, in the order `footfall settings` and the docs list them.
REGISTRY: tuple[Setting, ...] = (*registry.REGISTRY, *NOTIFICATION_SETTINGS, *VAULT_SETTINGS)
_BY_NAME = {setting.name: setting for setting in REGISTRY}


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration of one footfall process. Built by `load_settings`."""

    data_dir: Path = Path("footfall-data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    database_url: str = dataclasses.field(default="", repr=False)
    events_url: str | None = dataclasses.field(default=None, repr=False)
    log_level: str = "info"
    ingest_queue_size: int = 50_000
    commit_max_batch: int = 20_000
    commit_max_wait_ms: int = 0
    apply_interval_ms: int = 1000
    session_flush_ms: int = 5000
    session_cache_size: int = 500_000
    ua_cache_size: int = 50_000
    max_body_bytes: int = 1_000_000
    access_log: bool = False
    redis_url: str | None = dataclasses.field(default=None, repr=False)
    query_cache_entries: int = 2000
    query_cache_live_ttl_s: float = 5.0
    query_cache_past_ttl_s: float = 86_400.0
    query_timeout_ms: int = 10_000
    cors_origins: str = ""
    ingest_rate_limit: str = "100/second"
    stats_api_hourly_limit: int = 1_000_000
    environment: str = "auto"
    secret_key: str = dataclasses.field(default="", repr=False)
    secret_key_fallbacks: str = dataclasses.field(default="", repr=False)
    trusted_proxies: str = "127.0.0.1,::1"
    client_ip_header: str = ""
    shared_link_rate_limit: str = "10/minute"
    session_hours: int = 336
    login_rate_limit: str = "20/minute"
    login_account_rate_limit: str = "10/minute"
    login_lockout_after: int = 10
    login_lockout_minutes: int = 15
    log_format: str = "json"
    metrics_token: str = dataclasses.field(default="", repr=False)
    metrics_allow: str = "127.0.0.1,::1"
    store_memory_mb: int = 0
    min_free_disk_mb: int = 500
    cache_warming: bool = True
    cache_warming_budget_ms: int = 2000
    ops_sample_seconds: float = 10.0
    header_timeout_s: int = 10
    body_timeout_s: int = 30
    keep_alive_timeout_s: int = 5
    max_connections: int = 1000
    alert_interval_s: float = 60.0
    alert_webhook_secret: str = dataclasses.field(default="", repr=False)
    public_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = dataclasses.field(default="", repr=False)
    smtp_from: str = ""
    smtp_timeout_s: float = 10.0
    vault_addr: str = ""
    vault_token: str = dataclasses.field(default="", repr=False)
    vault_role_id: str = ""
    vault_secret_id: str = dataclasses.field(default="", repr=False)
    vault_auth_mount: str = "approle"
    vault_mount: str = "secret"
    vault_path: str = "footfall"
    vault_refresh_s: float = 60.0
    vault_cacert: str = ""

    @property
    def metadata_url(self) -> str:
        """The metadata database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'meta.sqlite3'}"

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        """The origins of `cors_origins`, in order."""
        return tuple(o for o in (part.strip() for part in self.cors_origins.split(",")) if o)

    @property
    def fallback_secret_keys(self) -> tuple[str, ...]:
        """The earlier secret keys still accepted, in the order given."""
        return tuple(k for k in (p.strip() for p in self.secret_key_fallbacks.split(",")) if k)

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The networks of `trusted_proxies`."""
        return tuple(
            ipaddress.ip_network(p.strip(), strict=False)
            for p in self.trusted_proxies.split(",")
            if p.strip()
        )

    @property
    def event_store_path(self) -> Path:
        """Path of the DuckDB event store file."""
        return self.data_dir / "events.duckdb"

    @property
    def control_socket_path(self) -> Path:
        """The local socket a serving process answers lifecycle commands on (ADR 0019)."""
        return self.data_dir / "control.sock"

    def replace(self, **changes: Any) -> Settings:
        """Returns a copy with some values changed (validated like loaded ones)."""
        for name, value in changes.items():
            _BY_NAME[name].validate(value)
        return dataclasses.replace(self, **changes)


def _read_secret_file(setting: Setting, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(
            f"{setting.env_var}_FILE: cannot read {path!r} ({exc.strerror or exc})"
        ) from exc


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    vault: bool = True,
) -> Settings:
    """Builds `Settings` from flags, then the environment, then defaults, then Vault's secrets.

    Args:
        flags: Values given on the command line, already typed; None entries are ignored.
        environ: The environment to read (defaults to ``os.environ``).
        vault: Read the secret settings from Vault when ``FOOTFALL_VAULT_ADDR`` is set; False
            for a command that needs no secret (the health check).

    Returns:
        The validated settings.

    Raises:
        ConfigError: A value is malformed or out of range (the message names the variable);
            Vault cannot be read, or it holds a setting that is also set here.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    environ = os.environ if environ is None else environ
    unknown = [k for k in flags if k not in _BY_NAME]
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {}
    given: set[str] = set()
    for setting in REGISTRY:
        source = f"--{setting.name.replace('_', '-')}"
        given.add(setting.name)
        if setting.name in flags:
            value = flags[setting.name]
        elif setting.env_var in environ:
            source = setting.env_var
            raw = environ[setting.env_var]
            try:
                value = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}{_shown(setting, raw)}") from exc
        elif setting.secret and f"{setting.env_var}_FILE" in environ:
            source = f"{setting.env_var}_FILE"
            value = _read_secret_file(setting, environ[source])
        else:
            given.discard(setting.name)
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.validate(value)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}{_shown(setting, value)}") from exc
    settings = Settings(**values)
    if vault and settings.vault_addr:
        settings = _with_vault(settings, given)
    return settings


def vault_secrets(settings: Settings) -> VaultSecrets:
    """The Vault client the settings describe (``vault_addr`` must be set).

    Raises:
        ConfigError: Neither a token nor AppRole credentials are set.
    """
    from footfall.settings.vault import VaultSecrets

    return VaultSecrets(
        addr=settings.vault_addr,
        mount=settings.vault_mount,
        path=settings.vault_path,
        token=settings.vault_token,
        role_id=settings.vault_role_id,
        secret_id=settings.vault_secret_id,
        auth_mount=settings.vault_auth_mount,
        cacert=settings.vault_cacert,
        # A replaced key still verifies what it signed: sessions last longest; and other
        # processes may sign with it until their next read.
        key_lifetime=dt.timedelta(hours=settings.session_hours, seconds=settings.vault_refresh_s),
    )


def with_secret_fields(settings: Settings, fields: Mapping[str, str], *, source: str) -> Settings:
    """`settings` with secret settings replaced by text from a secret store.

    Args:
        settings: The settings to start from.
        fields: Setting names and their text, as `VaultSecrets.read` returns them.
        source: Where they come from, for error messages (``the Vault secret secret/footfall``).

    Raises:
        ConfigError: A field is not a secret setting, or its value is malformed (the message
            names the field, never the value).
    """
    changes: dict[str, Any] = {}
    for name, raw in fields.items():
        setting = _BY_NAME.get(name)
        if setting is None or not setting.secret:
            raise ConfigError(f"{source}: {name!r} is not a secret setting")
        try:
            changes[name] = setting.validate(setting.parse(raw))
        except ValueError as exc:
            raise ConfigError(f"{source}, field {name}: {exc}") from exc
    return dataclasses.replace(settings, **changes)


def _with_vault(settings: Settings, given: set[str]) -> Settings:
    """Adds the secrets of the Vault secret; a secret set both here and in Vault is refused."""
    secrets = vault_secrets(settings)
    try:
        fields = secrets.read(dt.datetime.now(dt.UTC))
    finally:
        secrets.close()
    source = f"the Vault secret {secrets.location}"
    clash = sorted(set(fields) & given)
    if clash:
        name = clash[0]
        why = " (it holds secret_key, whose fallbacks come with it)" if "fallbacks" in name else ""
        raise ConfigError(
            f"{_BY_NAME[name].env_var} is set and {source} provides {name} too{why}: keep one"
        )
    return with_secret_fields(settings, fields, source=source)


def _shown(setting: Setting, value: object) -> str:
    # A secret's value never reaches an error message, a log line or a terminal.
    return "" if setting.secret else f" (got {value!r})"


def describe(settings: Settings) -> Iterator[tuple[Setting, str]]:
    """Yields each setting with its current value as text, secrets redacted."""
    for setting in REGISTRY:
        value = getattr(settings, setting.name)
        if not setting.secret:
            shown = str(value)
        elif not value:
            shown = "(not set)"
        else:
            shown = setting.shown(value) if setting.shown is not None else REDACTED
        yield setting, shown
