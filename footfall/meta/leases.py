"""Leases of background jobs that must run in one process of a cluster at a time.

A process takes a job's lease before each round; the lease lasts a while after that, so the
process keeps it round after round, and another process takes it over only once it has run
out (its holder stopped or hangs).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from footfall.meta.tables import job_leases


def take_lease(
    engine: sa.Engine, name: str, holder: str, *, now: dt.datetime, seconds: float
) -> bool:
    """Takes or renews the lease of job `name` for `holder` until `now` + `seconds`.

    Returns:
        True when `holder` has the lease now; False when another holder's has not run out.
    """
    until = now + dt.timedelta(seconds=seconds)
    with engine.begin() as conn:
        renewed = conn.execute(
            job_leases.update()
            .where(
                job_leases.c.name == name,
                sa.or_(job_leases.c.holder == holder, job_leases.c.expires_at < now),
            )
            .values(holder=holder, expires_at=until)
        )
        if renewed.rowcount:
            return True
        try:
            with conn.begin_nested():
                conn.execute(job_leases.insert().values(name=name, holder=holder, expires_at=until))
        except sa.exc.IntegrityError:
            return False  # another holder's lease is in force
    return True


def release_lease(engine: sa.Engine, name: str, holder: str) -> None:
    """Gives the lease up, if `holder` has it, so another process can take it at once."""
    with engine.begin() as conn:
        conn.execute(
            job_leases.delete().where(job_leases.c.name == name, job_leases.c.holder == holder)
        )
