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
