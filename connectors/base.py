"""The contract every platform connector keeps, the errors it may raise, and its spec.

The bot decides what an error means for an account (back off, alert the admins, show it on a
card); the connector only says which kind of failure it was, so it stays ignorant of both.
Everything the bot must know about a platform (its name, its credentials and where the
environment holds them, how to build a connector, its reply rules, what a card may offer) is in
the module's `SPEC`, listed in `connectors/registry.py`: the bot never branches on a platform's
name. docs/connectors.md describes the contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from domain import AccountIdentity, Mention, Platform, PostedReply, ReplyRules


class ConnectorError(Exception):
    """A platform call failed; the subclass says how to treat it."""


class AuthFailed(ConnectorError):
    """Credentials were refused (X 401, Graph code 190): a person has to fix them. `field`: the
    credential at fault, when the platform's answer says which (the connect form marks it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RateLimited(ConnectorError):
    """The platform asked us to wait; `reset_at` says until when, if it said."""

    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class TransientError(ConnectorError):
    """5xx, timeout, connection error or a malformed body: try again next cycle."""


class Rejected(ConnectorError):
    """The platform definitely refused a write (4xx other than auth): nothing was posted."""


class Duplicate(Rejected):
    """The platform refused the text as a copy of one the account already posted (X 403
    "duplicate content"): nothing new was posted, but that earlier copy is public."""


class PostGone(Rejected):
    """The post being answered no longer exists on the platform (deleted by its author or
    removed): nothing was posted, and sending again can never work."""


class AmbiguousOutcome(ConnectorError):
    """A write may or may not have happened (timeout, 5xx): never retry it blindly."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of new mentions, stored before the next page is fetched."""

    mentions: tuple[Mention, ...]
    skipped: int = 0  # items dropped because required fields were missing
    # Per-item progress to save in the same transaction as the mentions (key -> value, None
    # deletes it): how a poll that stops early resumes where it stopped (see `fetch`).
    progress: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(slots=True)
class PollOutcome:
    """Filled in by the connector as pages are consumed; read after the last page."""

    cursor: str | None = None  # where the next poll starts; persist only after every page
    requests: int = 0
    backlog_gap: bool = False  # the platform could not reach back to the previous cursor
    notes: list[str] = field(default_factory=list)
    partial: bool = False  # stopped early on purpose (page budget); the next poll resumes
    # The account works, but a person must act before it stops (a token the platform would not
    # refresh): the poller keeps it on the account, which puts up an alert card; None clears it.
    attention: str | None = None


class Connector(Protocol):
    """One connected account on one platform."""

    platform: Platform

    def identify(self) -> AccountIdentity:
        """Check the credentials and say whose they are."""
        ...

    def fetch(
        self,
        cursor: str | None,
        now: datetime,
        outcome: PollOutcome,
        progress: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        """Yield pages of mentions newer than `cursor`.

        With no cursor, reach back only the connector's first-poll window. `outcome.cursor` is
        set when the last page has been yielded; a consumer that stops early must not save it.
        `progress` is what earlier pages asked to keep (`Page.progress`), saved with each page.
        """
        ...

    def reply(self, mention: Mention, text: str) -> PostedReply:
        """Post `text` publicly as a reply to `mention`."""
        ...

    def like(self, mention: Mention) -> None:
        """Like `mention` as the account (or the platform's nearest equivalent)."""
        ...

    def hide(self, mention: Mention) -> None:
        """Hide `mention` from the public (platforms that offer it); `Rejected` elsewhere."""
        ...


# Called with what a connector wants kept (sealed) between runs, whenever it changes.
SessionSaver = Callable[[str], None]


@runtime_checkable
class KeepsSession(Protocol):
    """A connector that keeps something besides its credentials between runs and processes.

    A refreshed Threads token, a Bluesky login session: losing it costs a login the platform
    rations, or a token that has since expired. The bot stores it sealed in `accounts.session`,
    hands it back with `restore` when it builds the connector, and saves it whenever the
    connector calls the saver given to `keep` (a login, a refresh).
    """

    def restore(self, saved: str) -> None:
        """Take back what was saved; something unusable (other credentials, garbled) is ignored."""
        ...

    def keep(self, saver: SessionSaver) -> None:
        """Call `saver` with the new state each time it changes."""
        ...

    def saved(self) -> str | None:
        """What to keep now (after `identify` at connect time), or None."""
        ...


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One value an admin pastes into `/twoway connect` (or sets in the environment)."""

    key: str  # stored under this key; the connect form's block id
    label: str
    hint: str
    env: str | None = None  # the environment variable holding it for an account from the env
    optional: bool = False
    digits: bool = False  # a numeric id: refused in the form when it is not


# What the bot's settings hold that a connector reads, by environment variable name
# (TWOWAY_HTTP_TIMEOUT, X_API_URL, ...). Built by the bot; connectors never see its Settings.
Options = Mapping[str, Any]
Builder = Callable[[Options, Mapping[str, str], AccountIdentity | None], "Connector"]


@dataclass(frozen=True)
class PlatformSpec:
    """Everything outside the connector that differs between platforms, in one value."""

    name: Platform  # "x": stored in rows, typed in commands
    title: str  # "X": shown to people
    noun: str  # "an X account": "Opened the form to connect ..."
    rules: ReplyRules
    fields: tuple[CredentialField, ...]
    build: Builder  # a connector for these credentials (the identity when already known)
    intro: str  # the first line of the connect form
    refused: str  # what the form says when the platform refuses the credentials
    # Environment variables that make sense only together (half of them is a configuration error).
    env_groups: tuple[tuple[str, ...], ...] = ()
    # The environment holds an account of this platform when one of these is set.
    env_triggers: tuple[str, ...] = ()
    # A variable that is of no use without others (INSTAGRAM_ACCOUNT_ID without the Page's id and
    # token): (variable, the variables it needs).
    env_needs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    incomplete: Callable[[Mapping[str, str]], str | None] = lambda creds: None
    pinned: str | None = None  # credential key that must equal the identified account's id
    pinned_mismatch: str = ""
    gone: str = ""  # what the form says when the platform denies the pinned object exists
    handle_prefix: str = "@"  # account labels: "@agency"; "" shows the name instead
    can_like: bool = True
    can_hide: bool = False
    # Whether one item may be hidden (its `raw`), where the platform allows hiding some items only
    # (Threads: replies to the account's own posts).
    hideable: Callable[[Mapping[str, Any]], bool] = lambda raw: True
    # Why the API cannot answer an item it marks `explicit_mention=False` (the card then offers
    # the manual path); "{account}" is replaced with the account's label.
    restriction: str = ""
    permissions: str = ""  # the platform permissions the connector needs, for docs and forms
    # Meta webhooks: the `object` of deliveries meant for this platform ("page"), and what one
    # entry of a verified delivery asks of the next poll (progress changes, e.g. a post to read).
    webhook_object: str | None = None
    webhook_progress: Callable[[Mapping[str, Any]], dict[str, str]] | None = None

    def label(self, handle: str, name: str, external_id: str) -> str:
        """The account as people recognise it: `@agency` or `Agency Police`."""
        if self.handle_prefix and handle:
            return self.handle_prefix + handle.lstrip(self.handle_prefix)
        return name or handle or external_id

    @property
    def blame(self) -> str:
        """The form field an error about refused credentials is put next to."""
        return next(
            (f.key for f in self.fields if not (f.optional or f.digits) and f.key != self.pinned),
            self.fields[0].key,
        )


def saved_state(value: str | None) -> dict[str, Any] | None:
    """A connector's own progress saved as a JSON object; anything else (missing, unreadable) is None."""
    try:
        loaded = json.loads(value) if value else None
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


@runtime_checkable
class ChecksAll(Protocol):
    """A connector with credentials that `identify()` does not use, proved when an admin connects
    the account (X: the optional bearer token polls read with), so a wrong one is refused on the
    form instead of failing every poll."""

    def check_all(self) -> None:
        """Raise AuthFailed (with `field`) when a credential `identify()` did not use is refused."""
        ...
