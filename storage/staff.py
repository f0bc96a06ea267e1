"""Staff roles: officer < supervisor < admin."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Action
from storage.models import ROLES, Role, Staff


def role_of(session: Session, user_id: str) -> str | None:
    return session.scalar(select(Staff.role).where(Staff.slack_user_id == user_id))


def has_role(session: Session, user_id: str, needed: Role) -> bool:
    """True when the user's role is `needed` or stronger."""
    role = role_of(session, user_id)
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


def set_role(session: Session, user_id: str, role: Role | None, by: str, now: datetime) -> str | None:
    """Grant `role` (None removes it); returns the previous role."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    staff = session.get(Staff, user_id)
    previous = staff.role if staff else None
    if role is None:
        if staff is not None:
            session.delete(staff)
    elif staff is None:
        session.add(Staff(slack_user_id=user_id, role=role, granted_by=by, granted_at=now))
    else:
        staff.role, staff.granted_by, staff.granted_at = role, by, now
    if previous != role:
        audit.record(session, now, Action.ROLE_CHANGED, actor=by, user=user_id, role=role, previous=previous)
    return previous


def users_with_role(session: Session, role: Role) -> list[str]:
    """Users whose role is `role` or stronger, in a stable order."""
    stronger = ROLES[ROLES.index(role) :]
    return list(
        session.scalars(
            select(Staff.slack_user_id).where(Staff.role.in_(stronger)).order_by(Staff.slack_user_id)
        )
    )


def admins_locked(session: Session) -> list[str]:
    """The admins, their rows locked until the transaction ends (PostgreSQL; SQLite's write lock
    already serialises), so two admins demoting each other at once cannot leave none."""
    return list(
        session.scalars(select(Staff.slack_user_id).where(Staff.role == Role.ADMIN).with_for_update())
    )


def bootstrap_admins(session: Session, user_ids: Iterable[str], now: datetime) -> None:
    """Make TWOWAY_ADMINS admins at start-up; never demotes anyone."""
    for user_id in user_ids:
        if role_of(session, user_id) != Role.ADMIN:
            set_role(session, user_id, Role.ADMIN, by="TWOWAY_ADMINS", now=now)
