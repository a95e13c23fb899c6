"""Secret settings from HashiCorp Vault or OpenBao: one KV v2 secret, fields named like settings.

The secret at ``FOOTFALL_VAULT_MOUNT``/``FOOTFALL_VAULT_PATH`` (``secret``/``footfall`` by
default) holds secret settings under their names: ``secret_key``, ``secret_key_fallbacks``,
``database_url``, ``redis_url``, ``metrics_token`` and every other setting the registry marks
secret. footfall logs in with a token or with AppRole (logging in again before the AppRole token
expires, or when Vault refuses it), reads the secret at start and, in a serving process, again
every ``FOOTFALL_VAULT_REFRESH_S``.

A rotated secret key takes effect at the next read. The key it replaced keeps verifying: KV
version 2 keeps earlier versions, so the secret keys of the versions before the current one are
added to the fallbacks for as long as a signature made with them can still be valid (the
longest-lived one is a session, ``FOOTFALL_SESSION_HOURS``) plus one refresh interval, during
which other processes may still have signed with them. Every process, and every process started
later, derives the same fallbacks from the same history; nobody has to copy the old key by hand.

This is the only module that imports ``hvac`` (an import-linter contract says so).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import hvac
import requests
from hvac import exceptions as vault_errors

from footfall.errors import ConfigError
from footfall.settings.registry import REGISTRY, check_secret_key
from footfall.settings.vault_settings import VAULT_SETTINGS

log = logging.getLogger(__name__)

# Earlier versions looked at for secret keys that must still verify.
MAX_HISTORY = 10
# Seconds to wait for Vault to connect and to answer each request.
TIMEOUT_S = 5
# Fraction of an AppRole token's lifetime after which footfall logs in again.
RELOGIN_AT = 0.75

# Fields the secret may hold: secret settings, except Vault's own credentials.
SECRET_FIELDS = frozenset(
    s.name for s in (*REGISTRY, *VAULT_SETTINGS) if s.secret and not s.name.startswith("vault_")
)


class VaultError(ConfigError):
    """Vault could not be reached, refused footfall, or holds a secret footfall cannot use.

    The message names the server and the secret, never a token or a value.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class SecretVersion:
    """One version of the secret.

    Attributes:
        version: Its number (1 for the first).
        created: When it was written.
        fields: Its fields, each a setting name and its text.
    """

    version: int
    created: dt.datetime
    fields: Mapping[str, str]


class VaultSecrets:
    """Reads footfall's secret from a KV version 2 engine, with token or AppRole authentication."""

    def __init__(
        self,
        *,
        addr: str,
        mount: str = "secret",
        path: str = "footfall",
        token: str = "",
        role_id: str = "",
        secret_id: str = "",
        auth_mount: str = "approle",
        cacert: str = "",
        key_lifetime: dt.timedelta = dt.timedelta(hours=336),
        timeout: int = TIMEOUT_S,
    ) -> None:
        """Keeps the connection details; nothing is sent until `read`.

        Args:
            addr: The server's URL.
            mount: Where the KV version 2 engine is mounted.
            path: The secret's path inside the mount.
            token: A token (token authentication).
            role_id: An AppRole role id (AppRole authentication, used when set).
            secret_id: The AppRole secret id.
            auth_mount: Where the AppRole auth method is mounted.
            cacert: A CA certificate file for the server's TLS certificate; empty for the
                system's.
            key_lifetime: How long a replaced secret key keeps verifying after it was replaced:
                the longest signature lifetime plus the refresh interval.
            timeout: Seconds to wait for each request.

        Raises:
            VaultError: Neither a token nor an AppRole role id and secret id are given.
        """
        if role_id and not secret_id:
            raise VaultError("FOOTFALL_VAULT_ROLE_ID is set: set FOOTFALL_VAULT_SECRET_ID too")
        if not role_id and not token:
            raise VaultError(
                "FOOTFALL_VAULT_ADDR is set: also set FOOTFALL_VAULT_TOKEN (or its _FILE), or "
                "FOOTFALL_VAULT_ROLE_ID and FOOTFALL_VAULT_SECRET_ID for AppRole"
            )
        self.addr = addr
        self.mount = mount
        self.path = path
        self.key_lifetime = key_lifetime
        self._token = token
        self._role_id = role_id
        self._secret_id = secret_id
        self._auth_mount = auth_mount
        self._verify: bool | str = cacert or True
        self._timeout = timeout
        self._client: hvac.Client | None = None
        self._logged_in = False
        self._relogin_at = math.inf

    @property
    def location(self) -> str:
        """The secret's place, as ``mount/path``, for messages."""
        return f"{self.mount}/{self.path}"

    def read(self, now: dt.datetime) -> dict[str, str]:
        """The secret's current fields, with the recently replaced secret keys as fallbacks.

        Args:
            now: The current time (aware).

        Returns:
            Setting names and their text. When the secret holds ``secret_key``, the result also
            holds ``secret_key_fallbacks``: the secret's own fallbacks, then the secret keys of
            earlier versions replaced less than `key_lifetime` ago, newest first.

        Raises:
            VaultError: Vault is unreachable or refuses footfall, the secret does not exist, or
                it holds a field that is not a secret setting.
        """
        current = self._read_version(None)
        if current is None:
            raise VaultError(f"the Vault secret {self.location} has no current version")
        fields = dict(current.fields)
        if "secret_key" in fields:
            fields["secret_key_fallbacks"] = ",".join(self._fallbacks(current, now))
        return fields

    def close(self) -> None:
        """Closes the HTTP connections to Vault (a later `read` opens new ones)."""
        if self._client is not None:
            self._client.adapter.close()
            self._client = None
            self._logged_in = False

    # -- history ---------------------------------------------------------------------------

    def _fallbacks(self, current: SecretVersion, now: dt.datetime) -> list[str]:
        key = current.fields["secret_key"]
        keys = [k.strip() for k in current.fields.get("secret_key_fallbacks", "").split(",")]
        newer = current
        for number in range(current.version - 1, max(0, current.version - MAX_HISTORY - 1), -1):
            # Read again each time, not cached: deleting a version must retire its key.
            older = self._read_version(number)
            if older is None:
                break  # deleted or destroyed: what came before is gone on purpose
            old_key = older.fields.get("secret_key", "")
            if old_key and old_key != newer.fields.get("secret_key"):
                # `old_key` signed until `newer` replaced it; older keys were replaced earlier.
                if now - newer.created > self.key_lifetime:
                    break
                keys.append(old_key)
            newer = older
        usable: list[str] = []
        for candidate in keys:
            if not candidate or candidate == key or candidate in usable:
                continue
            try:
                check_secret_key(candidate)
            except ValueError:
                log.warning(
                    "an earlier secret key in the Vault secret %s is unusable as a fallback "
                    "(too short or a published default); skipped",
                    self.location,
                )
                continue
            usable.append(candidate)
        return usable

    # -- Vault -----------------------------------------------------------------------------

    def _read_version(self, number: int | None) -> SecretVersion | None:
        """One version (the newest when `number` is None); None when deleted or destroyed."""
        for attempt in (1, 2):
            client = self._connected()
            try:
                response = client.secrets.kv.v2.read_secret_version(
                    path=self.path,
                    mount_point=self.mount,
                    version=number,
                    raise_on_deleted_version=True,
                )
            except vault_errors.InvalidPath:
                if number is None:
                    raise VaultError(
                        f"there is no secret {self.location} in Vault at {self.addr}"
                    ) from None
                return None
            except vault_errors.Forbidden:
                if attempt == 1 and self._role_id:
                    self._logged_in = False  # the token may have been revoked: log in again
                    continue
                raise VaultError(
                    f"Vault at {self.addr} refused to let footfall read {self.location} "
                    "(permission denied: check the token or AppRole policy)"
                ) from None
            except (vault_errors.VaultError, requests.RequestException) as exc:
                raise self._unreachable(exc) from None
            return self._parse(response)
        raise AssertionError("unreachable")

    def _parse(self, response: Any) -> SecretVersion | None:
        body = response.get("data") if isinstance(response, dict) else None
        if not isinstance(body, dict):
            raise VaultError(f"Vault answered an unexpected body for {self.location}")
        meta = body.get("metadata") or {}
        data = body.get("data")
        if data is None or meta.get("destroyed"):
            return None
        if not isinstance(data, dict):
            raise VaultError(f"the Vault secret {self.location} is not a map of fields")
        fields: dict[str, str] = {}
        for name, value in data.items():
            if name not in SECRET_FIELDS:
                known = ", ".join(sorted(SECRET_FIELDS))
                raise VaultError(
                    f"the Vault secret {self.location} holds {name!r}, which is not a secret "
                    f"setting (it may hold: {known}); other settings come from the environment"
                )
            if not isinstance(value, str):
                raise VaultError(f"the field {name} of the Vault secret {self.location} is no text")
            fields[name] = value
        created = dt.datetime.fromisoformat(str(meta.get("created_time") or "1970-01-01T00:00:00Z"))
        return SecretVersion(version=int(meta.get("version") or 0), created=created, fields=fields)

    def _connected(self) -> hvac.Client:
        if self._client is None:
            self._client = hvac.Client(
                url=self.addr,
                token=self._token or None,
                verify=self._verify,
                timeout=self._timeout,
            )
        if self._role_id and (not self._logged_in or time.monotonic() >= self._relogin_at):
            self._login(self._client)
        return self._client

    def _login(self, client: hvac.Client) -> None:
        try:
            answer = client.auth.approle.login(
                role_id=self._role_id, secret_id=self._secret_id, mount_point=self._auth_mount
            )
        except (vault_errors.InvalidRequest, vault_errors.Forbidden, vault_errors.InvalidPath):
            raise VaultError(
                f"Vault at {self.addr} refused the AppRole login (check FOOTFALL_VAULT_ROLE_ID, "
                f"FOOTFALL_VAULT_SECRET_ID and the auth mount {self._auth_mount!r})"
            ) from None
        except (vault_errors.VaultError, requests.RequestException) as exc:
            raise self._unreachable(exc) from None
        lease = float(answer.get("auth", {}).get("lease_duration") or 0)
        self._logged_in = True
        self._relogin_at = time.monotonic() + lease * RELOGIN_AT if lease > 0 else math.inf

    def _unreachable(self, exc: BaseException) -> VaultError:
        reason = " ".join(str(exc).split())[:200] or exc.__class__.__name__
        return VaultError(f"cannot read {self.location} from Vault at {self.addr}: {reason}")
