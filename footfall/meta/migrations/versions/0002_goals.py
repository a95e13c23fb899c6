"""Goals: the conversions configured per site.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "site_id",
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_name", sa.String(120), nullable=True),
        sa.Column("page_path", sa.String(2000), nullable=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("custom_props", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "display_name", name="uq_goals_site_id_display_name"),
        sa.CheckConstraint(
            "(event_name IS NOT NULL AND page_path IS NULL) "
            "OR (event_name IS NULL AND page_path IS NOT NULL)",
            name="ck_goals_event_name_or_page_path",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_goals_site_id", "goals", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_goals_site_id", table_name="goals")
    op.drop_table("goals")
