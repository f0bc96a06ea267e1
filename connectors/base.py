"""The contract every platform connector keeps, and the errors it may raise.

The bot decides what an error means for an account (back off, alert the admins, show it on a
card); the connector only says which kind of failure it was, so it stays ignorant of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain import AccountIdentity, Mention, Platform, PostedReply


class ConnectorError(Exception):
    """A platform call failed; the subclass says how to treat it."""


class AuthFailed(ConnectorError):
    """Credentials were refused (X 401, Graph code 190): a person has to fix them."""


class RateLimited(ConnectorError):
    """The platform asked us to wait; `reset_at` says until when, if it said."""

    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class TransientError(ConnectorError):
    """5xx, timeout, connection error or a malformed body: try again next cycle."""


class Rejected(ConnectorError):
    """The platform definitely refused a write (4xx other than auth): nothing was posted."""


class AmbiguousOutcome(ConnectorError):
    """A write may or may not have happened (timeout, 5xx): never retry it blindly."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of new mentions, stored before the next page is fetched."""

    mentions: tuple[Mention, ...]
    skipped: int = 0  # items dropped because required fields were missing


@dataclass(slots=True)
class PollOutcome:
    """Filled in by the connector as pages are consumed; read after the last page."""

    cursor: str | None = None  # where the next poll starts; persist only after every page
    requests: int = 0
    backlog_gap: bool = False  # the platform could not reach back to the previous cursor
    notes: list[str] = field(default_factory=list)


class Connector(Protocol):
    """One connected account on one platform."""

    platform: Platform

    def identify(self) -> AccountIdentity:
        """Check the credentials and say whose they are."""
        ...

    def fetch(self, cursor: str | None, now: datetime, outcome: PollOutcome) -> Iterator[Page]:
        """Yield pages of mentions newer than `cursor`.

        With no cursor, reach back only the connector's first-poll window. `outcome.cursor` is
        set when the last page has been yielded; a consumer that stops early must not save it.
        """
        ...

    def reply(self, mention: Mention, text: str) -> PostedReply:
        """Post `text` publicly as a reply to `mention`."""
        ...

    def like(self, mention: Mention) -> None:
        """Like `mention` as the account."""
        ...
