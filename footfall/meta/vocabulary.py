"""The metadata store's fixed vocabularies: user roles and audit actions.

Plain data with no database import, so the command line can offer them as choices without
loading SQLAlchemy before a command runs.
"""

from __future__ import annotations

ROLES = ("admin", "viewer")

AUDIT_ACTIONS = (
    "site.add",
    "site.delete",
    "key.create",
    "key.revoke",
    "goal.add",
    "goal.delete",
    "user.add",
    "login.success",
    "login.failure",
    "logout",
    "user.grant",
    "user.ungrant",
    "user.disable",
    "user.enable",
    "site.update",
    "link.create",
    "link.delete",
)
AUDIT_MAX_LIMIT = 10_000
