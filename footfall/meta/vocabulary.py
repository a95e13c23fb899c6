"""The metadata store's fixed vocabularies: user roles, key scopes and audit actions.

Plain data with no database import, so the command line can offer them as choices without
loading SQLAlchemy before a command runs.
"""

from __future__ import annotations

from collections.abc import Iterable

ROLES = ("admin", "viewer")
# The only scope a viewer's key may hold.
VIEWER_SCOPES = frozenset({"stats:read"})

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
    "user.passwd",
    "site.update",
    "link.create",
    "link.delete",
    "guest.invite",
    "guest.remove",
    "alert.add",
    "alert.delete",
    "alert.acknowledge",
    "alert.silence",
    "report.add",
    "report.delete",
    "site.reset",
    "site.retention",
    "site.export",
    "backup.create",
    "backup.restore",
)
AUDIT_MAX_LIMIT = 10_000


def scopes_beyond_role(role: str, scopes: Iterable[str]) -> list[str]:
    """The scopes in `scopes` that a key owned by a user with `role` may not hold.

    An admin's key may hold any scope; any other role's only `VIEWER_SCOPES`.
    """
    if role == "admin":
        return []
    return [scope for scope in dict.fromkeys(scopes) if scope not in VIEWER_SCOPES]
