"""Alerting and email reports: rules, their states and history, the delivery outbox, report
subscriptions, and leases for jobs that run once per cluster.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column(
            "site_id",
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            nullable=True,
            index=True,
        ),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("comparison", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("window_minutes", sa.Integer, nullable=False),
        sa.Column("for_minutes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("renotify_minutes", sa.Integer, nullable=False, server_default="60"),
        sa.Column("severity", sa.String(16), nullable=False, server_default="warning"),
        # A JSON list of {"kind": ..., "target": ...}: webhook and Slack URLs, email addresses.
        sa.Column("channels", sa.Text, nullable=False, server_default="[]"),
        sa.Column("goal", sa.String(255), nullable=True),
        sa.Column("route", sa.String(255), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "alert_states",
        sa.Column(
            "rule_id",
            sa.Integer,
            sa.ForeignKey("alert_rules.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(255), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("silenced_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("silenced_by", sa.String(255), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
    )
    op.create_table(
        "alert_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "rule_id",
            sa.Integer,
            sa.ForeignKey("alert_rules.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
        sa.Column("rule_name", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("detail", sa.String(500), nullable=False, server_default=""),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "report_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "site_id",
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period", sa.String(8), nullable=False),
        # Comma-separated email addresses.
        sa.Column("recipients", sa.Text, nullable=False),
        # The last period sent, e.g. 2026-W44 or 2026-10.
        sa.Column("last_sent", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "period", name="uq_report_subscriptions_site_id_period"),
        sa.CheckConstraint(
            "period IN ('weekly', 'monthly')", name="ck_report_subscriptions_period"
        ),
    )
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    op.drop_table("report_subscriptions")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_history")
    op.drop_table("alert_states")
    op.drop_table("alert_rules")
