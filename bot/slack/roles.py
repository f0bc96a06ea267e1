"""Roles, checked on the server for every click, submission and command.

Buttons are shown to everybody in the channel; what a click may do is decided here, from the
`staff` table, never from what the card shows.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.core.errors import UserError
from storage import staff

ROLE_WORDS = {"officer": "an officer", "supervisor": "a supervisor", "admin": "an admin"}


def role_message(session: Session, role: str, doing: str) -> str:
    """Which role is missing, and who can grant it."""
    admins = staff.users_with_role(session, "admin")
    shown = ", ".join(f"<@{a}>" for a in admins[:10]) or "none yet (set TWOWAY_ADMINS)"
    return (
        f"You need the {role} role to {doing}. "
        f"An admin can grant it with `/twoway role @you {role}`; admins here: {shown}."
    )


def require(session: Session, user_id: str, role: str, doing: str) -> None:
    """Raise UserError unless `user_id` holds `role` or a stronger one."""
    if not staff.has_role(session, user_id, role):
        raise UserError(role_message(session, role, doing))
