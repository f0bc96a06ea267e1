"""Roles, checked on the server for every click, submission and command.

Buttons are shown to everybody in the channel; what a click may do is decided here, from the
`staff` table, never from what the card shows.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.core.errors import UserError
from storage import staff
from storage.models import Role

ROLE_WORDS = {Role.OFFICER: "an officer", Role.SUPERVISOR: "a supervisor", Role.ADMIN: "an admin"}


def role_message(session: Session, role: Role, doing: str) -> str:
    """Which role is missing, and who can grant it; nothing was changed."""
    admins = staff.users_with_role(session, Role.ADMIN)
    shown = ", ".join(f"<@{a}>" for a in admins[:10]) or "none yet (set TWOWAY_ADMINS)"
    return (
        f"You need the {role} role to {doing}. "
        f"An admin can grant it with `/twoway role @you {role}`; admins here: {shown}. Nothing was changed."
    )


def require(session: Session, user_id: str, role: Role, doing: str) -> None:
    """Raise UserError unless `user_id` holds `role` or a stronger one: the one way a request is
    refused for want of a role (commands, clicks, forms)."""
    if not staff.has_role(session, user_id, role):
        raise UserError(role_message(session, role, doing))
