"""Per-site retention: events older than this many days are deleted (NULL keeps them all).

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer, nullable=True))
        batch.create_check_constraint(
            "ck_sites_retention_days", "retention_days IS NULL OR retention_days > 0"
        )


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_constraint("ck_sites_retention_days", type_="check")
        batch.drop_column("retention_days")
