"""TwoWay's tables. Every change here needs a migration in storage/migrations/versions.

States are enums stored as their string values; every move that must happen once
(a card, a public reply, a reminder) is an UPDATE guarded by the current state, or an insert
guarded by a unique index, so that only one caller can win it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime, json_type

MAX_ID = 2**31 - 1  # PostgreSQL's `integer`: a larger number names no row, and asking is an error


def fits_id(value: int) -> bool:
    """Whether a number typed or sent by a user can be a row's id (else no row has it)."""
    return 0 < value <= MAX_ID


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: json_type()}


class MentionState(StrEnum):
    NEW = "new"  # stored, not triaged yet
    OPEN = "open"  # triaged, waiting for an answer
    REPLIED = "replied"
    DISMISSED = "dismissed"


class CardStatus(StrEnum):
    PENDING = "pending"
    POSTING = "posting"  # claimed by one sweep; posted or not, the outcome is being recorded
    POSTED = "posted"
    FAILED = "failed"  # Slack refused or did not answer; `card_error` says which
    SUMMARY = "summary"  # no card of its own: shown on its storm's summary card (see `Storm`)


class ReplyStatus(StrEnum):
    NONE = "none"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # the platform refused: nothing was posted
    UNKNOWN = "unknown"  # it may have been posted: a person checks the platform
    MANUAL = "manual"  # answered on the platform itself


class LikeStatus(StrEnum):
    LIKING = "liking"
    LIKED = "liked"
    FAILED = "failed"


class HideStatus(StrEnum):
    HIDING = "hiding"  # claimed; the platform is being asked
    HIDDEN = "hidden"
    FAILED = "failed"  # refused or unanswered: the card offers Hide again


class AccountStatus(StrEnum):
    OK = "ok"
    NEEDS_ATTENTION = "needs_attention"  # refused credentials: a person must act
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


class Role(StrEnum):
    """Staff roles, weakest first: each can do what the ones before it can."""

    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# The short names the code has always used, bound to the enum members.
NEW, OPEN, REPLIED, DISMISSED = MentionState
CARD_PENDING, CARD_POSTING, CARD_POSTED, CARD_FAILED = (
    CardStatus.PENDING,
    CardStatus.POSTING,
    CardStatus.POSTED,
    CardStatus.FAILED,
)
CARD_SUMMARY = CardStatus.SUMMARY
REPLY_NONE, REPLY_SENDING, REPLY_SENT, REPLY_FAILED, REPLY_UNKNOWN, REPLY_MANUAL = ReplyStatus
ACCOUNT_OK, ACCOUNT_NEEDS_ATTENTION, ACCOUNT_RATE_LIMITED, ACCOUNT_ERROR = AccountStatus
# A reply in one of these states blocks any other reply to the same mention.
ACTIVE_REPLY_STATES = (REPLY_SENDING, REPLY_SENT, REPLY_UNKNOWN, REPLY_MANUAL)
ROLES = tuple(Role)


class Account(Base):
    """A connected X account or Facebook Page, with its cursor and health."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_accounts_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    handle: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16), default="env")  # env | slack
    credentials: Mapped[str | None] = mapped_column(Text)  # Fernet token; None for env accounts
    cursor: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(32), default=ACCOUNT_OK)
    status_reason: Mapped[str | None] = mapped_column(Text)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[datetime | None]  # no poll before this (rate limit or backoff)
    backlog_gap_at: Mapped[datetime | None]
    alert_channel: Mapped[str | None] = mapped_column(String(32))
    alert_ts: Mapped[str | None] = mapped_column(String(32))
    alert_at: Mapped[datetime | None]  # when the open alert card was claimed (stale-claim check)
    backlog_alerted_at: Mapped[datetime | None]  # the backlog_gap_at already announced
    # What a connector keeps between runs besides the credentials (a refreshed Threads token, a
    # Bluesky session), sealed like the credentials; None until it has something to keep.
    session: Mapped[str | None] = mapped_column(Text)
    # Works now, but a person must act before it stops (a token the platform would not refresh).
    attention: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class PollProgress(Base):
    """Per-item progress a connector asked to keep (Facebook: how far each post's comments were
    read), written in the transaction that stores the page it came with."""

    __tablename__ = "poll_progress"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_poll_progress_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(191))
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Mention(Base):
    """One public post or comment, its triage, its card and its reply state."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_mentions_platform_id"),
        Index("ix_mentions_state_created", "state", "created_at"),
        Index("ix_mentions_card_status", "card_status"),
        Index("ix_mentions_ingested_at", "ingested_at"),
        Index("ix_mentions_account_created", "account_id", "created_at"),
        # Reports read only these columns, so a 30-day report over 100k mentions scans the index
        # instead of the table (storage/metrics.py, bench/report.py).
        Index(
            "ix_mentions_report",
            "created_at",
            "category",
            "platform",
            "state",
            "first_response_at",
            "responded_by",
        ),
        # "Overdue now" and the SLA sweep: open items by category, urgency and age.
        Index("ix_mentions_overdue", "state", "category", "urgent", "ingested_at"),
        Index("ix_mentions_storm", "storm_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))  # Bluesky: an AT-URI
    author_id: Mapped[str] = mapped_column(String(255))
    author_handle: Mapped[str] = mapped_column(String(255), default="")
    author_name: Mapped[str] = mapped_column(String(255), default="")
    author_url: Mapped[str] = mapped_column(String(1024), default="")
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[datetime]  # on the platform
    ingested_at: Mapped[datetime]
    conversation_id: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(String(255))
    parent_text: Mapped[str | None] = mapped_column(Text)
    explicit_mention: Mapped[bool] = mapped_column(Boolean, default=True)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # triage
    category: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent_reason: Mapped[str | None] = mapped_column(Text)
    scores: Mapped[dict[str, Any] | None]
    drafts: Mapped[dict[str, Any] | None]  # {"items": [{"text", "source", "key", "match"}]}
    triaged_at: Mapped[datetime | None]

    state: Mapped[str] = mapped_column(String(16), default=NEW)

    # the card in Slack (an outbox: pending -> posting -> posted | failed)
    card_status: Mapped[str | None] = mapped_column(String(16))
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    card_claimed_at: Mapped[datetime | None]
    card_attempts: Mapped[int] = mapped_column(Integer, default=0)
    card_error: Mapped[str | None] = mapped_column(Text)
    card_not_before: Mapped[datetime | None]  # held back: its thread may be turning into a storm

    # the public response
    reply_status: Mapped[str] = mapped_column(String(16), default=REPLY_NONE)
    first_response_at: Mapped[datetime | None]
    responded_by: Mapped[str | None] = mapped_column(String(32))
    liked_at: Mapped[datetime | None]
    liked_by: Mapped[str | None] = mapped_column(String(32))
    like_status: Mapped[str | None] = mapped_column(String(16))  # liking | liked | failed
    hide_status: Mapped[str | None] = mapped_column(String(16))  # hiding | hidden | failed
    hidden_by: Mapped[str | None] = mapped_column(String(32))
    hidden_at: Mapped[datetime | None]

    # supervision
    assignee: Mapped[str | None] = mapped_column(String(32))
    assigned_at: Mapped[datetime | None]
    assigned_by: Mapped[str | None] = mapped_column(String(32))
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    dismissed_by: Mapped[str | None] = mapped_column(String(32))
    dismissed_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]  # seen deleted on the platform

    # storms: the storm the mention arrived in (whatever its card), and its theme there
    storm_id: Mapped[int | None] = mapped_column(Integer)
    storm_theme: Mapped[int | None] = mapped_column(Integer)


class Storm(Base):
    """A burst of mentions on one thread (or across one account) far above the account's normal.

    One active storm per (account, thread): `thread_key` is the post or conversation id, or ""
    for a storm across the whole account; the partial unique index makes entering it happen once.
    """

    __tablename__ = "storms"
    __table_args__ = (
        Index(
            "uq_storms_one_active",
            "account_id",
            "thread_key",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    platform: Mapped[str] = mapped_column(String(16))
    thread_key: Mapped[str] = mapped_column(String(64))
    post_text: Mapped[str | None] = mapped_column(Text)  # an excerpt of the post everyone answers
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    level: Mapped[int] = mapped_column(Integer)  # mentions in a window that started it
    normal: Mapped[float] = mapped_column(Float)  # the account's normal per window then
    peak: Mapped[int] = mapped_column(Integer)  # the most mentions seen in one window
    version: Mapped[int] = mapped_column(Integer, default=0)  # +1 whenever its summary card would change
    themes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # handlers.themes.Themes.to_json()


class StormMessage(Base):
    """A message of a storm in the review channel: its start notice, its summary card, its end
    notice. The unique key and the claim (`status`, `attempts`) make each appear once; the
    summary card is then redrawn in place, at most every few seconds (`drawn_at`)."""

    __tablename__ = "storm_messages"
    __table_args__ = (UniqueConstraint("storm_id", "kind", name="uq_storm_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    storm_id: Mapped[int] = mapped_column(ForeignKey("storms.id"))
    kind: Mapped[str] = mapped_column(String(16))  # started | summary | ended
    status: Mapped[str] = mapped_column(String(16), default=CARD_PENDING)  # as a card's status
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    drawn_at: Mapped[datetime | None]  # the summary as last posted or redrawn
    drawn_version: Mapped[int] = mapped_column(Integer, default=0)  # the storm's version it shows


class Reply(Base):
    """An attempt to answer a mention publicly; at most one active per mention."""

    __tablename__ = "replies"
    __table_args__ = (
        Index(
            "uq_replies_one_active",
            "mention_id",
            unique=True,
            sqlite_where=text("status IN ('sending', 'sent', 'unknown', 'manual')"),
            postgresql_where=text("status IN ('sending', 'sent', 'unknown', 'manual')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32), default="draft")  # draft:N | edited | manual
    status: Mapped[str] = mapped_column(String(16), default=REPLY_SENDING)
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    """Append-only record of everything that happened, for public-records requests."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_mention", "mention_id"),
        Index("ix_audit_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))  # Slack user id, or "system"
    action: Mapped[str] = mapped_column(String(32))
    mention_id: Mapped[int | None] = mapped_column(Integer)
    account_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Staff(Base):
    """A Slack user's role in TwoWay."""

    __tablename__ = "staff"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime]


class Setting(Base):
    """Workspace settings that admins change from Slack (channel, agency details, SLAs...)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column()  # {"v": ...}
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class Template(Base):
    """A reply template; shipped ones are rows too, so admins can remove them."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(16))  # a category, or "urgent"
    text: Mapped[str] = mapped_column(Text)
    builtin_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Faq(Base):
    """A question and its approved answer."""

    __tablename__ = "faqs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Correction(Base):
    """A staff reclassification, kept as a labelled example the agency model learns from."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(16))
    previous_label: Mapped[str | None] = mapped_column(String(16))
    urgent: Mapped[bool | None] = mapped_column(Boolean)
    corrected_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ClassifierModel(Base):
    """A trained agency model; the newest row with active=True is the one in use."""

    __tablename__ = "classifier_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    n_examples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class SlaNotice(Base):
    """A reminder or escalation sent for a mention; the unique key makes it once only."""

    __tablename__ = "sla_notices"
    __table_args__ = (UniqueConstraint("mention_id", "kind", name="uq_sla_notice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # reminder | escalation
    at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))


class DigestRun(Base):
    """A digest posted for one period; the unique key makes it once only."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("kind", "period_key", name="uq_digest_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # daily | weekly
    period_key: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
