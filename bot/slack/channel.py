"""The review channel: where cards, alerts, reminders and digests go."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.core.config import Settings
from storage import settings as stored_settings
from storage.keys import CHANNEL


def review_channel(session: Session, settings: Settings) -> str | None:
    """TWOWAY_CHANNEL wins over the channel `/twoway setup` stored."""
    if settings.twoway_channel:
        return settings.twoway_channel
    value = stored_settings.get(session, CHANNEL)
    return str(value) if value else None
