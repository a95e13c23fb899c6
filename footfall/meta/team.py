"""The one team every site belongs to: what Plausible's Sites API lists as teams.

footfall has no teams; its sites all belong to the installation. The Sites API still names a
team (`GET /api/v1/sites/teams`, the `team_id` parameters), so the installation has one, with
a random identifier made the first time it is asked for and kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.meta.db import utcnow
from footfall.meta.tables import team

TEAM_NAME = "My Sites"


@dataclass(frozen=True, slots=True)
class Team:
    """The installation's team: a UUID and a name."""

    identifier: str
    name: str


def the_team(engine: sa.Engine) -> Team:
    """The installation's team, made on first use."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(team.c.identifier, team.c.name)).first()
    if row is None:
        try:
            with engine.begin() as conn:
                conn.execute(
                    team.insert().values(
                        id=1, identifier=str(uuid.uuid4()), name=TEAM_NAME, created_at=utcnow()
                    )
                )
        except sa.exc.IntegrityError:
            pass  # made by a concurrent call
        with engine.connect() as conn:
            row = conn.execute(sa.select(team.c.identifier, team.c.name)).one()
    return Team(identifier=str(row.identifier), name=str(row.name))
