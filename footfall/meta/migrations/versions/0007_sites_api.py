"""Sites API: renamed domains, declared custom properties, guest invitations, the team.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-05
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
        batch.add_column(sa.Column("domain_changed_from", sa.String(255), nullable=True))
        batch.add_column(sa.Column("custom_props", sa.Text, nullable=False, server_default="[]"))
        batch.create_index("ix_sites_domain_changed_from", ["domain_changed_from"], unique=True)
    op.create_table(
        "site_invitations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "site_id",
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "email", name="uq_site_invitations_site_id_email"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_site_invitations_email", "site_invitations", ["email"])
    op.create_table(
        "team",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("identifier", sa.String(36), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("team")
    op.drop_index("ix_site_invitations_email", table_name="site_invitations")
    op.drop_table("site_invitations")
    with op.batch_alter_table("sites") as batch:
        batch.drop_index("ix_sites_domain_changed_from")
        batch.drop_column("custom_props")
        batch.drop_column("domain_changed_from")
