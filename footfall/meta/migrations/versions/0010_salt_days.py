"""Salts: the UTC day each one is for, unique, so that one salt is made per day however many
processes rotate at midnight at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Salts made before this revision keep no day: NULLs never collide in a unique index, and
    # such a salt is never the one a rotation races for (rotations insert today's).
    op.add_column("salts", sa.Column("day", sa.Date, nullable=True))
    op.create_index("ix_salts_day", "salts", ["day"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_salts_day", table_name="salts")
    with op.batch_alter_table("salts") as batch:
        batch.drop_column("day")
