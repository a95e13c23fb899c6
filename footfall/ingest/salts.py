"""The salt rotation policy: a new random salt every day at 00:00 UTC, two kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SALT_BYTES = 16


@dataclass(frozen=True, slots=True)
class SaltRing:
    """The salts in use: ids are computed with `current`; `previous` only finds open sessions."""

    current: bytes
    previous: bytes | None
    current_created: dt.datetime


def day_start(now: dt.datetime) -> dt.datetime:
    """00:00 UTC of the day `now` falls in."""
    now = now.astimezone(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def next_rotation(now: dt.datetime) -> dt.datetime:
    """The next 00:00 UTC after `now`."""
    return day_start(now) + dt.timedelta(days=1)


def needs_rotation(newest_created: dt.datetime | None, now: dt.datetime) -> bool:
    """True when there is no salt yet, or the newest was made before today's midnight."""
    return newest_created is None or newest_created < day_start(now)
