"""Table definitions of the metadata store (mirrored by the Alembic migrations)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("domain", sa.String(255), nullable=False, unique=True),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The domain before the last rename: the API and ingest still find the site by it.
    sa.Column("domain_changed_from", sa.String(255), nullable=True),
    # A JSON array of the custom property names declared through the Sites API.
    sa.Column("custom_props", sa.Text, nullable=False, server_default="[]"),
    sa.Index("ix_sites_domain_changed_from", "domain_changed_from", unique=True),
    # Events older than this many days (whole days in the site's time zone) are deleted by the
    # retention job; NULL keeps every event. The range is checked in footfall.meta.sites.
    sa.Column("retention_days", sa.Integer, nullable=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    # The user whose rights bound the key's; None for a key the operator made on the command
    # line without --user, which holds exactly its scopes.
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_api_keys_user_id_users"),
        nullable=True,
        index=True,
    ),
)

salts = sa.Table(
    "salts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("salt", sa.LargeBinary(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The UTC day the salt is for (unique: one rotation per day, whichever process wins).
    sa.Column("day", sa.Date, nullable=True),
    sa.Index("ix_salts_day", "day", unique=True),
)

goals = sa.Table(
    "goals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "site_id",
        sa.Integer,
        sa.ForeignKey("sites.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("event_name", sa.String(120), nullable=True),
    sa.Column("page_path", sa.String(2000), nullable=True),
    sa.Column("display_name", sa.String(255), nullable=False),
    # A JSON object of property name to value that a conversion must also carry.
    sa.Column("custom_props", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("site_id", "display_name", name="uq_goals_site_id_display_name"),
    sa.CheckConstraint(
        "(event_name IS NOT NULL AND page_path IS NULL) "
        "OR (event_name IS NULL AND page_path IS NOT NULL)",
        name="ck_goals_event_name_or_page_path",
    ),
    # Ids are how API clients name goals: SQLite must not hand a deleted goal's id out again.
    sqlite_autoincrement=True,
)

# Append-only: footfall inserts rows and never updates or deletes one (footfall.meta.audit).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("ip", sa.String(45), nullable=True),
    # JSON objects: the state before and after the change, never a secret.
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    # Ids order the log: SQLite must never hand one out twice.
    sqlite_autoincrement=True,
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Lower-cased before it is stored, so the unique constraint ignores case.
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    # An argon2id hash in its encoded form, parameters and salt included (footfall.meta.users).
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    # Consecutive failed logins since the last success, and when the next attempt may come.
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'viewer')", name="ck_users_role"),
    # Sessions will name users by id: SQLite must not hand a removed user's id to a new one.
    sqlite_autoincrement=True,
)

# Signed-in browsers. The cookie carries a random token; only its SHA-256 is stored, so a copy
# of the database signs nobody in. Signing out deletes the row.
login_sessions = sa.Table(
    "login_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# The sites a viewer may read (admins read every site without a row here).
user_sites = sa.Table(
    "user_sites",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "site_id",
        sa.Integer,
        sa.ForeignKey("sites.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Read-only public dashboards of a site (footfall.meta.shared_links). The slug is the random
# part of the public address; a password, when set, is kept only as an argon2id hash.
shared_links = sa.Table(
    "shared_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "site_id",
        sa.Integer,
        sa.ForeignKey("sites.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Also the index for finding a site's links: site_id leads it.
    sa.UniqueConstraint("site_id", "name", name="uq_shared_links_site_id_name"),
    # A deleted link's id is never handed out again on SQLite either.
    sqlite_autoincrement=True,
)

# Pending guests of a site: addresses without a footfall account yet. Adding a viewer with such
# an address turns its invitations into grants (footfall.meta.guests).
site_invitations = sa.Table(
    "site_invitations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "site_id",
        sa.Integer,
        sa.ForeignKey("sites.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("email", sa.String(254), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("site_id", "email", name="uq_site_invitations_site_id_email"),
    sqlite_autoincrement=True,
)

# The one team every site belongs to, as Plausible's Sites API names teams (one row).
team = sa.Table(
    "team",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("identifier", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Files imported into a site (footfall.meta.imports), by the SHA-256 of their bytes, so that
# importing the same file again is refused instead of counting its events twice.
imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "site_id",
        sa.Integer,
        sa.ForeignKey("sites.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("lines", sa.Integer, nullable=False),
    sa.Column("stored", sa.Integer, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_imports_site_id_digest", "site_id", "digest"),
)

# Alert rules (footfall.meta.alerts). A traffic rule names its site; an ops rule has none.
alert_rules = sa.Table(
    "alert_rules",
    metadata,
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

# Where each rule stands between evaluations (one row per rule that was evaluated or acted on).
alert_states = sa.Table(
    "alert_states",
    metadata,
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

# What happened to rules: changes of state, notifications, acknowledgements, silences. The rule's
# name is kept, so the history of a deleted rule still reads.
alert_history = sa.Table(
    "alert_history",
    metadata,
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

# The outbox: every notification and report email, one row per channel, until it is delivered
# or has failed every attempt (footfall.meta.deliveries).
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
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

# Weekly and monthly email reports of a site (footfall.meta.reports).
report_subscriptions = sa.Table(
    "report_subscriptions",
    metadata,
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
    sa.CheckConstraint("period IN ('weekly', 'monthly')", name="ck_report_subscriptions_period"),
)

# Leases of jobs that run once per cluster: the holder runs the job until the lease expires.
job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
