"""Types that cross TwoWay's layers.

Connectors produce them, handlers judge them, storage keeps them and the bot shows them.
They are frozen so that no layer can change what another layer was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# A platform's short name ("x", "facebook", "instagram", "threads", "bluesky"): the registry in
# connectors/registry.py says what each one is; nothing else branches on the name.
Platform = str

Category = Literal["compliment", "question", "criticism", "other"]
CATEGORIES: tuple[Category, ...] = ("compliment", "question", "criticism", "other")

DraftSource = Literal["template", "faq", "history"]
Counting = Literal["characters", "x_weighted", "graphemes", "emoji_bytes"]


@dataclass(frozen=True, slots=True)
class ReplyRules:
    """How a platform measures and addresses a reply: what drafts and the edit form must respect.

    Each connector declares its own; handlers and cards read them instead of the platform's name.
    """

    limit: int  # the most a reply may hold, counted as `counting` says
    counting: Counting = "characters"
    unit: str = "characters"  # the word people see next to a count
    unit_hint: str = ""  # e.g. " (links count 23)"
    handle_prefix: str = "@"  # how a handle is written on the platform ("" where there are none)
    address_author: bool = False  # drafts start with the author's handle (X refuses repeated text)
    # A reply to a reply joins its parent's thread (Instagram, Facebook): drafts for such a post
    # start with its author's handle (their name where handles are not written), as the
    # platform's own Reply button does, or the answer reads as addressed to the thread's starter.
    address_in_thread: bool = False


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a mention, as the platform reports it."""

    id: str
    handle: str = ""
    name: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Mention:
    """One public post or comment addressed to a connected account."""

    platform: Platform
    external_id: str
    account_external_id: str
    author: Author
    text: str
    url: str
    created_at: datetime  # timezone-aware, UTC
    conversation_id: str | None = None
    parent_id: str | None = None
    parent_text: str | None = None  # what the mention replied to, when known (an excerpt)
    explicit_mention: bool = True  # the author @mentioned the account (X reply restriction)
    raw: Mapping[str, Any] = field(default_factory=dict)  # the platform's payload, for the record
    # Every version's id, oldest first, when the post was edited (X gives each version a new id):
    # a later version is recorded as an edit of the one TwoWay stored, not as a second post.
    versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountIdentity:
    """A connected account as the platform knows it."""

    platform: Platform
    external_id: str
    handle: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Triage:
    """The judgement on one mention."""

    category: Category
    confidence: float  # 0..1
    urgent: bool = False
    urgent_reason: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)  # category -> probability


@dataclass(frozen=True, slots=True)
class Draft:
    """A suggested reply that staff may send as is or edit."""

    text: str
    source: DraftSource = "template"
    key: str = ""  # template id, FAQ id or earlier reply id, for the record
    match: str | None = None  # for FAQ drafts: the question that matched, shown on the card
    score: float | None = None


@dataclass(frozen=True, slots=True)
class PostedReply:
    """A reply or like the platform accepted."""

    external_id: str
    url: str = ""


def in_thread(parent_id: str | None, thread: str) -> bool:
    """A reply to a reply: its parent is not the thread's top post. Where threads are one level
    deep (Facebook, Instagram) the answer joins the parent's thread, and drafts name who it answers."""
    return parent_id is not None and parent_id != thread
