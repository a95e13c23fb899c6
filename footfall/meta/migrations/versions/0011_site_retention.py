"""Per-site retention: events older than this many days are deleted (NULL keeps them all).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# A plain ALTER TABLE on both databases: a batch migration would copy `sites` on SQLite, and
# dropping the old copy would cascade to every table that refers to it (goals, grants, links).
# The range of the value is checked in code (footfall.meta.sites.validate_retention).


def upgrade() -> None:
    op.add_column("sites", sa.Column("retention_days", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("sites", "retention_days")
