"""When traffic comes: hour of day, day of week, growth, day-to-day noise and one spike."""

from __future__ import annotations

import datetime
import math
import random

#: Relative traffic by UTC hour of day (Europe + Americas audience, peak ~15:00 UTC).
HOUR_WEIGHTS: tuple[float, ...] = (
    0.55, 0.47, 0.42, 0.40, 0.42, 0.48, 0.58, 0.72, 0.86, 0.96, 1.02, 1.08,
    1.14, 1.24, 1.32, 1.36, 1.32, 1.24, 1.14, 1.04, 0.94, 0.84, 0.74, 0.64,
)  # fmt: skip
#: Relative traffic by weekday, Monday first.
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.06, 1.1, 1.1, 1.05, 0.95, 0.6, 0.55)
#: Traffic grows by this share from the first hour of the window to the last.
GROWTH = 0.25
#: Each day's traffic is multiplied by a factor drawn uniformly from this range.
DAY_NOISE = (0.85, 1.15)
#: The spike (a front-page story) multiplies an hour's traffic by up to 1 + SPIKE_PEAK, decaying
#: with a time constant of SPIKE_DECAY_HOURS over SPIKE_HOURS; only windows of SPIKE_MIN_DAYS
#: days or more have one.
SPIKE_PEAK = 4.0
SPIKE_DECAY_HOURS = 6.0
SPIKE_HOURS = 36
SPIKE_MIN_DAYS = 5


def hour_weights(start: int, n_hours: int, days: int, rng: random.Random) -> list[float]:
    """Relative traffic of each hour of the window (seasonality, trend, noise).

    Args:
        start: First second of the window (epoch, UTC).
        n_hours: Hours in the window.
        days: Days in the window.
        rng: Draws the day-to-day noise.
    """
    day_noise = [rng.uniform(*DAY_NOISE) for _ in range(days + 2)]
    weights = []
    for h in range(n_hours):
        t = start + h * 3600
        dt = datetime.datetime.fromtimestamp(t, datetime.UTC)
        trend = 1.0 + GROWTH * h / max(1, n_hours)
        weights.append(
            HOUR_WEIGHTS[dt.hour] * WEEKDAY_WEIGHTS[dt.weekday()] * trend * day_noise[h // 24]
        )
    return weights


def spike(n_hours: int, days: int, rng: random.Random) -> list[float]:
    """Extra traffic of each hour from one spike at a random hour (none in short windows)."""
    extra = [0.0] * n_hours
    if days >= SPIKE_MIN_DAYS:
        first = rng.randrange(24, n_hours - 48)
        for k in range(SPIKE_HOURS):
            extra[first + k] = SPIKE_PEAK * math.exp(-k / SPIKE_DECAY_HOURS)
    return extra


def hourly_targets(
    *, start: int, days: int, events: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """How many events the window should hold by the end of each hour, and the spike's share.

    Args:
        start: First second of the window (epoch, UTC).
        days: Days in the window.
        events: Events in the whole window.
        rng: Draws the noise and the spike's hour.

    Returns:
        The cumulative event target at the end of each hour, and each hour's spike multiplier
        (0 outside the spike).
    """
    n_hours = days * 24
    weights = hour_weights(start, n_hours, days, rng)
    extra = spike(n_hours, days, rng)
    weights = [w * (1.0 + s) for w, s in zip(weights, extra, strict=True)]
    total = sum(weights)
    targets: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w
        targets.append(events * acc / total)
    return targets, extra
