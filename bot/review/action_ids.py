"""Action ids, callback ids and block ids: a contract with Slack messages already posted.

Cards stay in the channel for months, so these strings never change meaning. `docs/slack.md`
lists each with its value format; end-to-end checks click them exactly as documented.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from bot.core import ids

SEND_REPLY = "send_reply"  # send_reply:1..3; value "<mention_id>:<draft number>[:<draft mark>]"
EDIT_REPLY = "edit_reply"  # button value "<mention_id>"; also the modal's callback id
LIKE = "like"  # value "<mention_id>"
HIDE = "hide"  # value "<mention_id>"; platforms that can hide an item from the public
ASSIGN = "assign"  # users_select; mention id from block_id "m:<mention_id>"
DISMISS = "dismiss"  # static_select; option values are DISMISS_REASONS
RECLASSIFY = "reclassify"  # overflow; option values are categories
RETRY_SEND = "retry_send"  # value "<mention_id>:<reply_id>" after a definite platform error
MARK_REPLIED_MANUALLY = "mark_replied_manually"  # value "<mention_id>"
CONFIRM_POSTED = "confirm_posted"  # value "<mention_id>:<reply_id>" for an `unknown` reply
CONFIRM_NOT_POSTED = "confirm_not_posted"  # value "<mention_id>:<reply_id>"
OPEN_LINK = "open_original"  # a URL button; Slack still sends a click, which is only acked
# A storm's summary card: its actions block is "s:<storm_id>:<drawn>" (see `storm_block`).
STORM_QUEUE = "storm_queue"  # button value "<storm_id>:<page>": the storm's open items, ephemerally
STORM_DISMISS = "storm_dismiss"  # static_select (with a confirm); option values are DISMISS_REASONS

# The edit modal: the reply is the first (and only) multi-line input.
EDIT_BLOCK = "reply"
EDIT_ACTION = "text"

# "No reply needed" reasons: option value -> what the card says.
DISMISS_REASONS: dict[str, str] = {
    "not_needed": "No reply needed",
    "spam": "Spam or abuse",
    "handled_elsewhere": "Handled elsewhere",
    "duplicate": "Duplicate",
}

MAX_DRAFTS = 3
# Ids arrive in payloads anyone can forge: ASCII digits only (`\d` also takes "١", which `int`
# reads as 1), and \A...\Z rather than ^...$ (`$` also matches before a final newline).
SEND_REPLY_PATTERN = re.compile(rf"\A{SEND_REPLY}:[1-{MAX_DRAFTS}]\Z")
BLOCK_PREFIX = "m:"  # every actions block of a card: "m:<mention_id>" optionally ":<suffix>"
BLOCK_PATTERN = re.compile(r"\Am:([0-9]{1,18})(?::[a-z0-9_]{1,32})?\Z")


STORM_BLOCK_PREFIX = "s:"
STORM_BLOCK_PATTERN = re.compile(r"\As:([0-9]{1,18})(?::([0-9]{1,17}))?\Z")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def storm_block(storm_id: int, drawn: datetime | None = None) -> str:
    """The summary card's actions block: the storm, and when the card was drawn (microseconds
    since the Unix epoch), so "Dismiss the rest" reaches only the posts the card the supervisor
    saw counted, not those gathered after it (a redraw is throttled, and can fail)."""
    if drawn is None:
        return f"{STORM_BLOCK_PREFIX}{storm_id}"
    return f"{STORM_BLOCK_PREFIX}{storm_id}:{(drawn - EPOCH) // MICROSECOND}"


def storm_from_block(value: str | None) -> int | None:
    match = STORM_BLOCK_PATTERN.match(value or "")
    return int(match.group(1)) if match else None


def storm_drawn_at(value: str | None) -> datetime | None:
    """When the summary card holding this block was drawn; None for a card drawn by an earlier
    release (its block id is "s:<storm_id>") or anything else."""
    match = STORM_BLOCK_PATTERN.match(value or "")
    if not match or match.group(2) is None:
        return None
    try:
        return EPOCH + int(match.group(2)) * MICROSECOND
    except OverflowError:
        return None


def send_action(number: int) -> str:
    return f"{SEND_REPLY}:{number}"


MARK_PATTERN = re.compile(r"\A[0-9a-f]{10}\Z")


def draft_mark(text: str) -> str:
    """Which wording a Send button was drawn with: a click on a card drawn before the drafts
    changed (a reclassify, a redraw that failed) must not send words the officer never saw."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def send_value(mention_id: int, number: int, text: str) -> str:
    return f"{mention_id}:{number}:{draft_mark(text)}"


def parse_send_value(value: str | None) -> tuple[int, int, str | None] | None:
    """Mention id, draft number and mark; a value without a mark (cards drawn by earlier
    releases, or composed as `docs/slack.md` first listed it) has none to check."""
    parts = (value or "").split(":")
    mark = parts.pop() if len(parts) == 3 else None
    if mark is not None and not MARK_PATTERN.match(mark):
        return None
    numbers = ids.parse_ids(":".join(parts), 2)
    return (numbers[0], numbers[1], mark) if numbers else None


def block_id(mention_id: int, suffix: str = "") -> str:
    return f"{BLOCK_PREFIX}{mention_id}" + (f":{suffix}" if suffix else "")


def mention_from_block(value: str | None) -> int | None:
    """The mention id a block id names, or None for anything else."""
    match = BLOCK_PATTERN.match(value or "")
    return int(match.group(1)) if match else None


# The error a reply carries when staff checked the platform and it was not there (no refusal).
CHECKED_NOT_POSTED = "not posted (checked by staff)"
