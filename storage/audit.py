"""The append-only audit trail. Nothing here updates or deletes an event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEvent

SYSTEM = "system"


class Action(StrEnum):
    """Every kind of event in the trail: what the public-records export and `/twoway report` read."""

    ACCOUNT_ALERTED = "account_alerted"
    ACCOUNT_CONNECTED = "account_connected"
    ACCOUNT_NEEDS_ATTENTION = "account_needs_attention"
    ACCOUNT_PAUSED = "account_paused"
    ACCOUNT_RECOVERED = "account_recovered"
    ACCOUNT_RESUMED = "account_resumed"
    ACCOUNT_WARNED = "account_warned"  # works now, but a person must act before it stops
    ASSIGNED = "assigned"
    BACKLOG_GAP = "backlog_gap"
    BACKLOG_GAP_ANNOUNCED = "backlog_gap_announced"
    CARD_FAILED = "card_failed"
    CARD_POSTED = "card_posted"
    CREDENTIALS_RESEALED = "credentials_resealed"  # re-encrypted with the newest key
    DIGEST_POSTED = "digest_posted"
    DELETED = "deleted"  # seen deleted on the platform
    DISMISSED = "dismissed"
    EDITED = "edited"
    ESCALATED = "escalated"
    EXPORTED = "exported"
    FAQ_ADDED = "faq_added"
    FAQ_REMOVED = "faq_removed"
    GATHERED = "gathered"  # an item already triaged, moved onto its storm's summary card
    HIDDEN = "hidden"
    HIDE_FAILED = "hide_failed"
    HIDE_REQUESTED = "hide_requested"
    LIKE_FAILED = "like_failed"
    LIKE_REQUESTED = "like_requested"
    LIKED = "liked"
    MARKED_REPLIED_MANUALLY = "marked_replied_manually"
    MODEL_RETIRED = "model_retired"
    MODEL_TRAINED = "model_trained"
    POLL_NOTES = "poll_notes"
    REASSIGNED = "reassigned"
    RECLASSIFIED = "reclassified"
    REMINDED = "reminded"
    REPLY_CONFIRMED_NOT_POSTED = "reply_confirmed_not_posted"
    REPLY_CONFIRMED_POSTED = "reply_confirmed_posted"
    REPLY_FAILED = "reply_failed"
    REPLY_LATE_ANSWER = "reply_late_answer"
    REPLY_REQUESTED = "reply_requested"
    REPLY_SENT = "reply_sent"
    REPLY_UNKNOWN = "reply_unknown"
    ROLE_CHANGED = "role_changed"
    SETTING_CHANGED = "setting_changed"
    SLACK_APP_UNINSTALLED = "slack_app_uninstalled"
    SLACK_TOKENS_REVOKED = "slack_tokens_revoked"
    STORM_DISMISSED = "storm_dismissed"  # "dismiss the rest" on a summary card (each item: dismissed)
    STORM_ENDED = "storm_ended"
    STORM_MESSAGE_FAILED = "storm_message_failed"
    STORM_MESSAGE_POSTED = "storm_message_posted"
    STORM_STARTED = "storm_started"
    TEMPLATE_ADDED = "template_added"
    TEMPLATE_REMOVED = "template_removed"
    TRIAGED = "triaged"
    RETRIAGED = "retriaged"  # read again after its author edited it
    UNASSIGNED = "unassigned"


def record(
    session: Session,
    at: datetime,
    action: Action,
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
