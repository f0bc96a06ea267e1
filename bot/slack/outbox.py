"""Posting messages that must appear once: cards, account alerts, SLA notices, digests.

Every such message follows one protocol. The feature first claims its right to post in the
database (a guarded UPDATE or a unique insert, committed before any call), then `deliver` posts
it with the posting client and settles the claim by the outcome:

- posted: Slack answered with a ts; the claim records where the message is;
- refused: Slack answered with an error, so nothing was posted; the claim is given back or
  marked failed, and a later sweep may try again;
- unknown: a timeout, a dropped connection or a 5xx (an HTML gateway page too): the message may
  exist. It is never posted again blindly. Messages that carry metadata are looked for in the
  channel's history (`find`) before any second attempt; the others stay claimed.

Posts are paced per channel (`bot.slack.pace`: about one a second, as Slack allows) and made
with a client that retries nothing by itself: the general client's retry after a timeout is
exactly how a message appears twice. A 429 posted nothing, so `deliver` waits out its
`Retry-After` (holding the whole channel meanwhile) and tries again, up to RATE_LIMIT_TRIES
times; a longer Retry-After is not waited for here, the message is settled as refused and the
channel stays held for whoever posts next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.context import Context
from bot.slack.client import client, may_have_posted, posting_client_for, single_try_client_for
from bot.slack.pace import Pacer

log = logging.getLogger(__name__)

HISTORY_PAGES = 5  # a message being looked for is minutes old: a few pages of history reach it
RATE_LIMIT_TRIES = 3  # the first post and two more after waiting out Retry-After
LONGEST_INLINE_WAIT = 30.0  # seconds; a longer Retry-After is left to the channel's hold
DEFAULT_RETRY_AFTER = 1.0  # a 429 without the header


class Outcome(StrEnum):
    POSTED = "posted"
    REFUSED = "refused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Message:
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    broadcast: bool = False  # a thread reply also shown in the channel
    event_type: str | None = None  # message metadata: what this is, so `find` can tell it again
    payload: Mapping[str, Any] = field(default_factory=dict)
    unfurl: bool = True

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {"channel": self.channel, "text": self.text}
        if self.blocks is not None:
            args["blocks"] = self.blocks
        if self.thread_ts is not None:
            args["thread_ts"] = self.thread_ts
            if self.broadcast:
                args["reply_broadcast"] = True
        if self.event_type is not None:
            args["metadata"] = {"event_type": self.event_type, "event_payload": dict(self.payload)}
        if not self.unfurl:
            args["unfurl_links"] = args["unfurl_media"] = False
        return args


@dataclass(frozen=True)
class Sent:
    """What Slack made of one post."""

    outcome: Outcome
    channel: str = ""
    ts: str = ""
    error: str = ""  # Slack's error code, "HTTP 503", or the exception's type
    status: int | None = None  # the HTTP status, when Slack answered
    retry_after: float | None = None  # seconds, from a 429's Retry-After

    @property
    def rate_limited(self) -> bool:
        """Slack still answered 429 after the client's own retries: later posts would wait too."""
        return self.status == 429


class Claim(Protocol):
    """A feature's claim on one message, settled by `deliver` once the outcome is known."""

    def posted(self, sent: Sent) -> None:
        """Record where the message is (`sent.channel`, `sent.ts`)."""

    def refused(self, sent: Sent) -> None:
        """Nothing was posted: give the claim back, or mark it failed for a later retry."""

    def unknown(self, sent: Sent) -> None:
        """The message may exist: keep the claim, for `find` or a person to settle."""


def poster(ctx: Context) -> WebClient:
    """The posting client for `ctx.slack`'s workspace: retries only 429s."""
    general = client(ctx)
    current = ctx.poster
    if current is None or (current.token, current.base_url) != (general.token, general.base_url):
        current = ctx.poster = posting_client_for(general)
    return current


def paced_poster(ctx: Context) -> WebClient:
    """The client paced posts go through: no retry of any kind (the pacer handles 429s)."""
    general = client(ctx)
    state = ctx.state(_SingleTry)
    if state.client is None or (state.client.token, state.client.base_url) != (
        general.token,
        general.base_url,
    ):
        state.client = single_try_client_for(general)
    return state.client


@dataclass
class _SingleTry:
    client: WebClient | None = None


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER


def post(client: WebClient, message: Message) -> Sent:
    """Post once and say what happened; never raises for Slack's answers or the network."""
    try:
        response = client.chat_postMessage(**message.arguments())
    except SlackApiError as exc:
        status = getattr(exc.response, "status_code", None)
        if may_have_posted(exc):
            return Sent(Outcome.UNKNOWN, message.channel, error=f"HTTP {status}", status=status)
        code = str(exc.response.get("error", "error"))
        retry_after = _retry_after(exc) if status == 429 else None
        return Sent(Outcome.REFUSED, message.channel, error=code, status=status, retry_after=retry_after)
    except Exception as exc:  # a timeout or a dropped connection: the post may have happened
        return Sent(Outcome.UNKNOWN, message.channel, error=type(exc).__name__)
    return Sent(
        Outcome.POSTED, str(response.get("channel") or message.channel), str(response.get("ts") or "")
    )


def paced_post(ctx: Context, message: Message) -> Sent:
    """Post in the channel's turn; a 429 holds the channel for its Retry-After and is tried again."""
    pacer = ctx.state(Pacer)
    sent = Sent(Outcome.REFUSED, message.channel, error="not tried")
    for attempt in range(RATE_LIMIT_TRIES):
        with pacer.turn(message.channel):
            sent = post(paced_poster(ctx), message)
        if not sent.rate_limited:
            return sent
        wait = sent.retry_after if sent.retry_after is not None else DEFAULT_RETRY_AFTER
        pacer.hold(message.channel, wait)
        log.info(
            "Slack rate limited a post to %s; waiting %.1f s (try %d)", message.channel, wait, attempt + 1
        )
        if wait > LONGEST_INLINE_WAIT:
            break
    return sent


def deliver(ctx: Context, claim: Claim, message: Message) -> Sent:
    """Post a claimed message (paced) and settle the claim by what Slack said."""
    sent = paced_post(ctx, message)
    {Outcome.POSTED: claim.posted, Outcome.REFUSED: claim.refused, Outcome.UNKNOWN: claim.unknown}[
        sent.outcome
    ](sent)
    return sent


def error_name(exc: Exception) -> str:
    """Slack's error code when it answered (`missing_scope`), else the exception's type: what a log
    line may say about a failed call, with no token or message text in it."""
    response = getattr(exc, "response", None)
    error = response.get("error") if response is not None else None
    return str(error or type(exc).__name__)


def find_in_thread(
    client: WebClient,
    channel: str,
    thread_ts: str,
    event_type: str,
    matches: Callable[[Mapping[str, Any]], bool],
) -> str | None:
    """Like `find`, for a reply in the thread under `thread_ts` (which `conversations.history`
    does not list)."""
    return _search(thread_messages(client, channel, thread_ts), event_type, matches)


def thread_messages(client: WebClient, channel: str, thread_ts: str) -> Iterator[Mapping[str, Any]]:
    """The messages of the thread under `thread_ts` (`conversations.replies`), oldest first, a few
    pages deep. Raises SlackApiError when the thread cannot be read."""
    return _messages(
        lambda cursor: client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=200, cursor=cursor
        )
    )


def find(
    client: WebClient,
    channel: str,
    event_type: str,
    matches: Callable[[Mapping[str, Any]], bool],
    oldest: datetime | None = None,
) -> str | None:
    """The ts of a message TwoWay posted with this metadata (newest first), or None.

    Raises SlackApiError when the history cannot be read; the caller decides what that means.
    """
    history = _messages(
        lambda cursor: client.conversations_history(
            channel=channel,
            include_all_metadata=True,
            limit=200,
            cursor=cursor,
            oldest=f"{oldest.timestamp():.6f}" if oldest is not None else None,  # None is left out
        )
    )
    return _search(history, event_type, matches)


def _messages(page: Callable[[str | None], Any]) -> Iterator[Mapping[str, Any]]:
    """The messages of up to HISTORY_PAGES pages, fetched as they are read."""
    cursor: str | None = None
    for _ in range(HISTORY_PAGES):
        response = page(cursor)
        yield from response.get("messages") or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


def _search(
    messages: Iterator[Mapping[str, Any]], event_type: str, matches: Callable[[Mapping[str, Any]], bool]
) -> str | None:
    """The ts of the first message whose metadata matches."""
    for message in messages:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == event_type and matches(metadata.get("event_payload") or {}):
            return str(message["ts"])
    return None
