"""The append-only audit trail. Nothing here updates or deletes an event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEvent

SYSTEM = "system"


def record(
    session: Session,
    at: datetime,
    action: str,
    actor: str = SYSTEM,
    mention_id: int | None = None,
    account_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        at=at, actor=actor, action=action, mention_id=mention_id, account_id=account_id, details=details
    )
    session.add(event)
    return event
