"""Workspace settings that admins change from Slack, stored as small JSON values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Action
from storage.models import Setting


def get(session: Session, key: str, default: Any = None) -> Any:
    value = session.scalar(select(Setting.value).where(Setting.key == key))
    return default if value is None else value.get("v", default)


def get_many(session: Session, prefix: str = "") -> dict[str, Any]:
    rows = session.execute(select(Setting.key, Setting.value).where(Setting.key.startswith(prefix)))
    return {key: value.get("v") for key, value in rows}


def put(session: Session, key: str, value: Any, by: str, now: datetime) -> None:
    row = session.get(Setting, key)
    previous = row.value.get("v") if row else None
    if row is None:
        session.add(Setting(key=key, value={"v": value}, updated_by=by, updated_at=now))
    else:
        row.value, row.updated_by, row.updated_at = {"v": value}, by, now
    if row is None or previous != value:  # a first value (even None: "sla compliment none") is a change
        audit.record(session, now, Action.SETTING_CHANGED, actor=by, key=key, value=value, previous=previous)


def delete(session: Session, key: str, by: str, now: datetime) -> None:
    row = session.get(Setting, key)
    if row is not None:
        audit.record(
            session, now, Action.SETTING_CHANGED, actor=by, key=key, value=None, previous=row.value.get("v")
        )
        session.delete(row)
