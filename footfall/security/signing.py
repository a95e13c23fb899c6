"""The secret key: where it comes from, and the signatures made with it.

In production the key comes from ``FOOTFALL_SECRET_KEY`` (or ``FOOTFALL_SECRET_KEY_FILE``).
In development (``serve --demo``, ``FOOTFALL_ENVIRONMENT=development``, or ``auto`` while the
server listens only on loopback) a random key is generated once into the data directory, so
sign-ins survive restarts without anyone choosing a key.

Signatures are made with the current key only and checked against the current key and every
fallback (``FOOTFALL_SECRET_KEY_FALLBACKS``): to rotate, make the old key a fallback, deploy
the new one, and drop the fallback once the longest-lived signature (a session) has expired.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from footfall.errors import ConfigError
from footfall.settings import Settings, check_secret_key

log = logging.getLogger(__name__)

DEV_KEY_FILE = "secret-key"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_development(settings: Settings) -> bool:
    """True when footfall may run without a configured secret key."""
    if settings.environment != "auto":
        return settings.environment == "development"
    return _is_loopback(settings.host)


def resolve_secret_key(settings: Settings) -> Settings:
    """`settings` with a secret key: the configured one, or a development key.

    Raises:
        ConfigError: No key is set outside development, or the development key file is
            unusable.
    """
    if settings.secret_key:
        return settings
    if not is_development(settings):
        raise ConfigError(
            f"FOOTFALL_SECRET_KEY is required when footfall listens on {settings.host} in "
            f"{settings.environment} mode: set it (or FOOTFALL_SECRET_KEY_FILE) to at least 32 "
            'random characters, e.g. the output of python -c "import secrets; '
            'print(secrets.token_urlsafe(48))"'
        )
    return settings.replace(secret_key=_development_key(settings.data_dir))


def _development_key(data_dir: Path) -> str:
    path = data_dir / DEV_KEY_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Created readable by the owner only, and never overwritten.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text(encoding="utf-8").strip()
        else:
            key = secrets.token_urlsafe(48)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(key + "\n")
            log.warning(
                "no FOOTFALL_SECRET_KEY: generated a development key in the data directory; "
                "set FOOTFALL_SECRET_KEY before exposing footfall beyond this machine"
            )
    except OSError as exc:
        raise ConfigError(f"cannot keep the development secret key: {exc.strerror}") from exc
    try:
        check_secret_key(key)
    except ValueError as exc:
        raise ConfigError(f"the development key file {DEV_KEY_FILE} is unusable: {exc}") from exc
    return key


class Signer:
    """Signs and checks values with the secret key and its fallbacks, one purpose at a time."""

    def __init__(self, secret_key: str, fallbacks: tuple[str, ...] = ()) -> None:
        """Keeps the keys; `secret_key` signs, all of them verify.

        Raises:
            ValueError: `secret_key` is empty.
        """
        if not secret_key:
            raise ValueError("a Signer needs a secret key")
        # itsdangerous signs with the last key of the list and accepts any of them.
        self._keys = [*fallbacks, secret_key]
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = URLSafeTimedSerializer(self._keys, salt=f"footfall.{purpose}")
            self._serializers[purpose] = serializer
        return serializer

    def sign(self, purpose: str, value: str) -> str:
        """`value` with a timestamped signature bound to `purpose`."""
        return str(self._serializer(purpose).dumps(value))

    def unsign(self, purpose: str, signed: str, max_age: int | None = None) -> str | None:
        """The value `signed` carries if its signature is good (and younger than `max_age`)."""
        try:
            value = self._serializer(purpose).loads(signed, max_age=max_age)
        except BadSignature:  # also covers expired and malformed values
            return None
        return value if isinstance(value, str) else None

    def mac(self, purpose: str, value: str) -> str:
        """A keyed hash of `value` for `purpose`, made with the current key."""
        return self._mac(self._keys[-1], purpose, value)

    def check_mac(self, purpose: str, value: str, mac: str) -> bool:
        """True when `mac` is `mac(purpose, value)` under the current key or a fallback."""
        return any(hmac.compare_digest(self._mac(key, purpose, value), mac) for key in self._keys)

    @staticmethod
    def _mac(key: str, purpose: str, value: str) -> str:
        message = f"footfall.{purpose}\x00{value}".encode()
        return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def signer_for(settings: Settings) -> Signer:
    """The signer of `settings`, which must hold a secret key (see `resolve_secret_key`)."""
    return Signer(settings.secret_key, settings.fallback_secret_keys)
