"""Staff roles: officer < supervisor < admin."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import audit, dialect
from storage.audit import Action
from storage.models import ROLES, Role, Staff

BOOTSTRAP = "TWOWAY_ADMINS"  # the granted_by and audit actor of a start-up grant


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
    """Make TWOWAY_ADMINS admins at start-up; never demotes anyone.

    Several copies starting at once run this together: a row another copy inserts first is
    skipped (INSERT ... ON CONFLICT DO NOTHING) instead of failing on the primary key, and a
    promotion another copy has made is not made, or audited, twice. Sorted, so copies take the
    rows' locks in one order and never deadlock.
    """
    for user_id in sorted(set(user_ids)):
        previous = role_of(session, user_id)
        if previous is None:
            if _insert_admin(session, user_id, now):
                _record_grant(session, user_id, None, now)
                continue
            previous = role_of(session, user_id)  # another copy's row, committed while we waited
        if previous not in (None, Role.ADMIN) and _promote(session, user_id, now):
            _record_grant(session, user_id, previous, now)


def _insert_admin(session: Session, user_id: str, now: datetime) -> bool:
    """Add `user_id` as an admin unless a row for them exists; True when this inserted it."""
    statement = (
        dialect.insert(session, Staff)
        .values(slack_user_id=user_id, role=Role.ADMIN, granted_by=BOOTSTRAP, granted_at=now)
        .on_conflict_do_nothing(index_elements=["slack_user_id"])
        .returning(Staff.slack_user_id)  # a row only when this inserted it
    )
    return session.execute(statement).scalar() is not None


def _promote(session: Session, user_id: str, now: datetime) -> bool:
    """Make an existing non-admin an admin; False when they are an admin already (another copy
    promoted them first) or their row is gone."""
    statement = (
        update(Staff)
        .where(Staff.slack_user_id == user_id, Staff.role != Role.ADMIN)
        .values(role=Role.ADMIN, granted_by=BOOTSTRAP, granted_at=now)
        .returning(Staff.slack_user_id)
    )
    return session.execute(statement).scalar() is not None


def _record_grant(session: Session, user_id: str, previous: str | None, now: datetime) -> None:
    audit.record(
        session, now, Action.ROLE_CHANGED, actor=BOOTSTRAP, user=user_id, role=Role.ADMIN, previous=previous
    )
