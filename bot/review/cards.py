"""The card outbox: every triaged mention gets exactly one card in the review channel.

A card is claimed (`pending|failed -> posting`, one winner) and committed before
`chat.postMessage`; channel and ts are stored after. The post carries message metadata naming
the mention, so a claim left in `posting` by a crash, or a post whose outcome was ambiguous
(timeout, 5xx), is first looked for in `conversations.history` and re-posted only when no card
is found. A definite Slack error leaves the card `failed`; the next sweep retries it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.core.context import Context
from bot.review.blocks import CardView, DraftView, ReplyView, card_blocks, fallback_text, platform_name
from bot.review.replies import recover_stale_hides, recover_stale_likes, recover_stale_sends
from bot.slack import outbox
from bot.slack.channel import review_channel
from bot.slack.client import client
from connectors import registry
from handlers.classifier import unsure
from storage import accounts, audit, cards, mentions, storms
from storage import replies as replies_store
from storage.audit import Action
from storage.models import (
    CARD_FAILED,
    CARD_PENDING,
    CARD_POSTING,
    Account,
    HideStatus,
    LikeStatus,
    Mention,
)

log = logging.getLogger(__name__)

EVENT_TYPE = "twoway_card"
BATCH = 50
# A claim this old was left by a crash. Never sooner, not even in a copy that has just taken over
# the scheduler: the copy that lost the lock, or a `twoway poll --once` beside it, may still be
# posting, and its message is not in the channel's history until the post returns.
STALE_CLAIM = timedelta(minutes=5)
AMBIGUOUS = "ambiguous: "  # card_error prefix: the post may have happened
# How far back to look for a card whose post may have happened; generous against clock skew.
HISTORY_WINDOW = timedelta(days=1)
# A start redraws the cards changed this long before it (at most REDRAW_MAX): a restart after a
# crash comes within seconds under a process manager; a longer stop is a deliberate one.
REDRAW_WINDOW = timedelta(minutes=15)
REDRAW_MAX = 50
# Each round follows a change that landed while the card was being drawn; a card still changing
# after that is redrawn by the redraw that follows its latest change.
REDRAW_ROUNDS = 3


# -- the view-model from the database ---------------------------------------------------------


def account_label(account: Account | None) -> str:
    if account is None:
        return "unknown account"
    spec = registry.PLATFORMS.get(account.platform)
    if spec is None:
        return account.name or account.handle or account.external_id
    return spec.label(account.handle, account.name, account.external_id)


def restriction(platform: str, explicit: bool) -> str | None:
    """Why the platform's API cannot answer this item ("{account}" left to fill), or None."""
    spec = registry.PLATFORMS.get(platform)
    if spec is None:
        return "TwoWay has no connector for this platform"
    if explicit:
        return None
    return spec.restriction or "the platform does not let an app answer it"


def hideable(mention: Mention) -> bool:
    """The platform can hide this item (Threads: only replies to the account's own posts)."""
    spec = registry.PLATFORMS.get(mention.platform)
    return bool(spec and spec.can_hide and spec.hideable(mention.raw or {}))


def load_view(session: Session, mention_id: int) -> CardView | None:
    mention = mentions.get(session, mention_id)
    if mention is None:
        return None
    account = accounts.get(session, mention.account_id)
    reply = cards.latest_reply(session, mention_id)
    corrected_by = cards.reclassified_by(session, mention_id)
    spec = registry.PLATFORMS.get(mention.platform)
    items = (mention.drafts or {}).get("items") or []
    drafts = tuple(
        DraftView(n, str(item.get("text") or ""), str(item.get("source") or "template"), item.get("match"))
        for n, item in enumerate(items[:3], start=1)
        if isinstance(item, dict) and item.get("text")
    )
    reply_view = None
    if reply is not None:
        reply_view = ReplyView(
            reply_id=reply.id,
            status=reply.status,
            text=reply.text,
            by=reply.requested_by,
            at=reply.completed_at or reply.requested_at,
            url=reply.url,
            error=reply.error,
        )
    return CardView(
        mention_id=mention.id,
        platform=mention.platform,
        account=account_label(account),
        author_name=mention.author_name,
        author_handle=mention.author_handle,
        author_url=mention.author_url,
        created_at=mention.created_at,
        text=mention.text,
        url=mention.url,
        state=mention.state,
        parent_text=mention.parent_text,
        category=mention.category,
        confidence=mention.confidence,
        urgent=mention.urgent,
        urgent_reason=mention.urgent_reason,
        restriction=restriction(mention.platform, mention.explicit_mention),
        can_like=spec.can_like if spec else False,
        can_hide=hideable(mention),
        hide_status=mention.hide_status,
        hidden_by=mention.hidden_by,
        hidden_at=mention.hidden_at,
        drafts=drafts,
        reply=reply_view,
        like_status=mention.like_status,
        like_unconfirmed=mention.like_status == LikeStatus.FAILED
        and _unconfirmed(session, mention.id, Action.LIKE_FAILED),
        hide_unconfirmed=mention.hide_status == HideStatus.FAILED
        and _unconfirmed(session, mention.id, Action.HIDE_FAILED),
        liked_by=mention.liked_by,
        liked_at=mention.liked_at,
        assignee=mention.assignee,
        dismissed_reason=mention.dismissed_reason,
        dismissed_by=mention.dismissed_by,
        dismissed_at=mention.dismissed_at,
        reclassified_by=corrected_by,
        deleted=mention.deleted_at is not None,
        edited_at=mentions.last_edited_at(session, mention.id),
        unsure=_unsure(mention),
    )


def _unconfirmed(session: Session, mention_id: int, failed: Action) -> bool:
    """The latest like or hide failure had no clear answer (a timeout, a crash): it may have
    happened on the platform after all."""
    details = replies_store.last_failure(session, mention_id, failed)
    return bool(details.get("unconfirmed")) or str(details.get("error") or "").startswith("interrupted while")


def _unsure(mention: Mention) -> bool:
    """The model's own category, chosen without confidence (a category staff set is never unsure)."""
    if not mention.category or corrected(mention):
        return False
    return unsure(mention.category, mention.confidence or 0.0, mention.scores or {})


def corrected(mention: Mention) -> bool:
    return bool((mention.drafts or {}).get("category_set_by"))


def message_for(view: CardView) -> dict[str, Any]:
    return {"text": fallback_text(view), "blocks": card_blocks(view)}


# -- the outbox ---------------------------------------------------------------------------------------


@dataclass
class Sweep:
    """One pass of the Slack worker over several calls: what it tried, and whether Slack still
    answers 429 (then the pass ends and the rest waits for the next)."""

    tried: set[int] = field(default_factory=set)
    rate_limited: bool = False


def post_pending_cards(ctx: Context, limit: int = BATCH, sweep: Sweep | None = None) -> int:
    """Post up to `limit` cards of pending and failed mentions, urgent first, then questions,
    newest first within each (`storage.cards.waiting`); returns how many were posted.

    Posting is paced per channel (`bot.slack.pace`), so the Slack worker calls this a few cards at
    a time and looks again: a card triaged meanwhile jumps the queue when it is more urgent. The
    same sweep turns replies left `sending` by a crash into `unknown`, likes left `liking` into
    `failed`, and redraws their cards.
    """
    for stuck in recover_stale_sends(ctx) + recover_stale_likes(ctx) + recover_stale_hides(ctx):
        refresh_card(ctx, stuck)
    now = ctx.clock.now()
    with ctx.transaction() as session:
        channel = review_channel(session, ctx.settings)
        if channel is None:
            said = ctx.state(_NoChannel)
            if not said.logged:
                log.warning("no review channel: set TWOWAY_CHANNEL or run /twoway setup; cards wait")
                said.logged = True
            return 0
        ctx.state(_NoChannel).logged = False
        sweep = sweep or Sweep()
        stale = cards.stale_claims(session, now - STALE_CLAIM, limit, sweep.tried)
        waiting = cards.waiting(session, max(0, limit - len(stale)), sweep.tried, now)
    posted = 0
    try:
        for mention_id, claimed_at, attempts in stale:
            sweep.tried.add(mention_id)
            if _claim(ctx, mention_id, (CARD_POSTING,), attempts, now):
                posted += _post(ctx, mention_id, channel, check_since=claimed_at)
        for mention_id, claimed_at, error, attempts in waiting:
            sweep.tried.add(mention_id)
            if _claim(ctx, mention_id, (CARD_PENDING, CARD_FAILED), attempts, now):
                ambiguous = bool(error and error.startswith(AMBIGUOUS))
                posted += _post(ctx, mention_id, channel, check_since=claimed_at if ambiguous else None)
    except _StillRateLimited:
        sweep.rate_limited = True
        # Waiting out Retry-After for every card left would hold the pipeline (and triage of new,
        # perhaps urgent, mentions) for minutes; the rest wait for the next sweep instead.
        log.warning("Slack is rate limiting card posts; the remaining cards wait for the next sweep")
    return posted


@dataclass
class _NoChannel:
    logged: bool = False  # said once, not at every sweep, until a channel is set


class _StillRateLimited(Exception):
    """Slack still answered 429 after the posting client's own retries."""


def _claim(ctx: Context, mention_id: int, states: tuple[str, ...], attempts: int, now: datetime) -> bool:
    """One caller wins the right to post this card, and only as the sweep last read it.

    `card_attempts` is the row's version: if another sweep has tried the card since this one
    read it (and perhaps left an ambiguous error that calls for a history check first), the
    claim fails and the next sweep starts from what that attempt left.
    """
    with ctx.transaction() as session:
        return cards.claim(session, mention_id, states, attempts, now)


def _post(ctx: Context, mention_id: int, channel: str, check_since: datetime | None) -> int:
    with ctx.transaction() as session:
        view = load_view(session, mention_id)
    if view is None:
        return 0
    claim = _CardClaim(ctx, mention_id)
    if check_since is not None:
        try:
            found = find_card(ctx, channel, mention_id, check_since - HISTORY_WINDOW)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "error"))
            if code in ("missing_scope", "not_in_channel", "channel_not_found"):
                log.warning("cannot look for an earlier card of #%s (%s); posting it", mention_id, code)
                found = None
            else:
                _failed(ctx, mention_id, AMBIGUOUS + f"history check failed: {code}")
                return 0
        except Exception as exc:
            _failed(ctx, mention_id, AMBIGUOUS + f"history check failed: {type(exc).__name__}")
            return 0
        if found is not None:
            _posted(ctx, mention_id, channel, found, recovered=True)
            return 1
    message = message_for(view)
    sent = outbox.deliver(
        ctx,
        claim,
        outbox.Message(
            channel,
            message["text"],
            message["blocks"],
            event_type=EVENT_TYPE,
            payload={"mention_id": mention_id},
            unfurl=False,
        ),
    )
    if sent.rate_limited:
        raise _StillRateLimited
    return 1 if sent.outcome is outbox.Outcome.POSTED else 0


class _CardClaim:
    """A card claimed `posting`: settled `posted` with its ts, or `failed` (ambiguous or not)."""

    def __init__(self, ctx: Context, mention_id: int) -> None:
        self.ctx, self.mention_id = ctx, mention_id

    def posted(self, sent: outbox.Sent) -> None:
        _posted(self.ctx, self.mention_id, sent.channel, sent.ts, recovered=False)

    def refused(self, sent: outbox.Sent) -> None:
        _failed(self.ctx, self.mention_id, sent.error)

    def unknown(self, sent: outbox.Sent) -> None:
        _failed(self.ctx, self.mention_id, AMBIGUOUS + sent.error)


def find_card(ctx: Context, channel: str, mention_id: int, since: datetime) -> str | None:
    """The ts of a card already posted for the mention (by metadata), or None."""
    return outbox.find(
        client(ctx),
        channel,
        EVENT_TYPE,
        lambda payload: str(payload.get("mention_id")) == str(mention_id),
        since,
    )


def _posted(ctx: Context, mention_id: int, channel: str, ts: str, recovered: bool) -> None:
    with ctx.transaction() as session:
        cards.posted(session, mention_id, channel, ts)
        audit.record(
            session,
            ctx.clock.now(),
            Action.CARD_POSTED,
            mention_id=mention_id,
            channel=channel,
            ts=ts,
            recovered=recovered,
        )


def _failed(ctx: Context, mention_id: int, error: str) -> None:
    log.warning("card for #%s not posted: %s", mention_id, error)
    with ctx.transaction() as session:
        cards.failed(session, mention_id, error[:500])
        audit.record(session, ctx.clock.now(), Action.CARD_FAILED, mention_id=mention_id, error=error[:500])


# -- redraw ---------------------------------------------------------------------------------------------


def redraw_recent_cards(ctx: Context, started: datetime) -> int:
    """Redraw the cards of mentions that changed in the REDRAW_WINDOW before this process started.

    A change (a reply sent, a dismissal, an assignment) is committed before its card is redrawn,
    so a process killed in between leaves the card showing the old state. A redraw draws the
    current state whatever was drawn before, so doing it again costs only a request."""
    if ctx.slack is None:
        return 0
    with ctx.transaction() as session:
        changed = cards.changed_between(session, started - REDRAW_WINDOW, started, REDRAW_MAX)
    redrawn = 0
    for mention_id in changed:
        try:
            redrawn += refresh_card(ctx, mention_id)
        except Exception as exc:  # no answer from Slack: the next card may still be redrawn
            log.warning("could not redraw the card of #%s at start (%s)", mention_id, type(exc).__name__)
    if changed:
        log.info("redrew %d of %d cards changed shortly before this start", redrawn, len(changed))
    return redrawn


def refresh_card(ctx: Context, mention_id: int) -> bool:
    """Redraw a posted card from the database's current state; False when there is none to redraw.

    Redraws of one card come from several threads (a click's work, an assignment, the sweeps) and
    from other copies of the bot on the same database, and Slack shows whichever update arrives
    last, which need not be the one read last. So this process redraws a card one at a time, and
    after each update reads the card again: when it changed meanwhile (an update read earlier may
    have landed after a newer one), it is drawn again, at most REDRAW_ROUNDS times. When nothing
    changed meanwhile, that costs one more read and no more Slack calls.

    A mention of a storm also marks its storm changed, so the summary card shows the change at its
    next redraw (a few seconds at most).
    """
    with _one_redraw_at_a_time(ctx, mention_id):
        drawn = _card_message(ctx, mention_id, touch_storm=True)
        if drawn is None:
            return False
        for _ in range(REDRAW_ROUNDS):
            channel, ts, message = drawn
            try:
                client(ctx).chat_update(
                    channel=channel, ts=ts, text=message["text"], blocks=message["blocks"]
                )
            except SlackApiError as exc:
                log.warning("could not redraw the card of #%s: %s", mention_id, exc.response.get("error"))
                return False
            latest = _card_message(ctx, mention_id, touch_storm=False)
            if latest is None or latest == drawn:
                return True
            drawn = latest
        log.warning(
            "the card of #%s kept changing while it was redrawn; its next change redraws it", mention_id
        )
        return True


def _card_message(ctx: Context, mention_id: int, touch_storm: bool) -> tuple[str, str, dict[str, Any]] | None:
    """Where the card is and what it should show now, or None when it has no card."""
    with ctx.transaction() as session:
        view = load_view(session, mention_id)
        mention = mentions.get(session, mention_id)
        where = (mention.card_channel, mention.card_ts) if mention else (None, None)
        if touch_storm and mention is not None and mention.storm_id is not None:
            storms.touch(session, mention.storm_id)
    if view is None or not where[0] or not where[1]:
        return None
    return where[0], where[1], message_for(view)


@dataclass
class _Redrawing:
    """One card's lock in this process, and how many redraws hold or wait for it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


@dataclass
class _CardLocks:
    """This process's redraws in progress, by mention id; a card nobody redraws has no entry."""

    cards: dict[int, _Redrawing] = field(default_factory=dict)


_LOCKS_GUARD = threading.Lock()  # guards every context's _CardLocks


@contextmanager
def _one_redraw_at_a_time(ctx: Context, mention_id: int) -> Iterator[None]:
    """Hold this process's lock of the card: its redraws cannot overtake each other."""
    with _LOCKS_GUARD:
        cards_now = ctx.state(_CardLocks).cards
        entry = cards_now.setdefault(mention_id, _Redrawing())
        entry.users += 1
    try:
        with entry.lock:
            yield
    finally:
        with _LOCKS_GUARD:
            entry.users -= 1
            if entry.users == 0 and cards_now.get(mention_id) is entry:
                del cards_now[mention_id]


@dataclass(frozen=True)
class _EditNotice:
    """The claim of an "edited into an emergency" notice: its `retriaged` audit event, written
    before, is what makes it once per edit; the outcome is only logged."""

    mention_id: int

    def posted(self, sent: outbox.Sent) -> None:
        log.info("told the channel that #%s was edited into a possible emergency", self.mention_id)

    def refused(self, sent: outbox.Sent) -> None:
        log.warning("could not tell the channel that #%s was edited (%s)", self.mention_id, sent.error)

    def unknown(self, sent: outbox.Sent) -> None:
        log.warning(
            "the notice that #%s was edited may not have been posted (%s)", self.mention_id, sent.error
        )


def show_edit(ctx: Context, mention_id: int, became_urgent: bool, reason: str | None) -> None:
    """Redraw the card of an item its author edited; when the edit made it urgent, say so in the
    card's thread and in the channel: a redraw alone changes an old card nobody is looking at."""
    refresh_card(ctx, mention_id)
    if not became_urgent:
        return
    with ctx.transaction() as session:
        mention = mentions.get(session, mention_id)
        if mention is None or not mention.card_channel or not mention.card_ts:
            return
        channel, ts, where = mention.card_channel, mention.card_ts, platform_name(mention.platform)
    why = f": it {reason}" if reason else ""
    text = (
        f":rotating_light: *#{mention_id} was edited on {where} and may now report an emergency*{why}. "
        "The card shows the new text, and its drafts lead with the 911 line."
    )
    message = outbox.Message(channel=channel, text=text, thread_ts=ts, broadcast=True)
    outbox.deliver(ctx, _EditNotice(mention_id), message)
