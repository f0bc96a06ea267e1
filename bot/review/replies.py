"""Public replies, likes, dismissals and manual replies: each happens once, whoever clicks.

Sending is claim, commit, call, record. The claim is a guarded UPDATE of the mention
(`reply_status` none|failed -> sending, state open) plus the insert of the `Reply` row, whose
partial unique index allows one active reply per mention even if the UPDATE guard were wrong.
The platform is called only after that commit, so a second click, a second officer or a Slack
retry finds the claim taken. A definite refusal leaves the reply `failed` (the card offers
Retry); anything ambiguous leaves it `unknown` and nothing retries it: a person checks the
platform and says whether it was posted.

Three refusals say more than "nothing was posted": a rate limit says when to come back (a send
before then is refused here, not sent), a post gone from the platform is recorded as deleted (and
never sent to again), and a refusal of the text as a duplicate, right after an attempt staff
recorded as not posted, is X saying that attempt is public after all (staff check again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import domain
from bot.core.context import Context
from bot.intake.accounts import connector_for
from bot.review.action_ids import CHECKED_NOT_POSTED
from bot.review.blocks import CATEGORY_LABELS
from bot.slack.escape import public
from bot.slack.format import stamp
from connectors import registry
from connectors.base import (
    AmbiguousOutcome,
    AuthFailed,
    Connector,
    ConnectorError,
    Duplicate,
    PostGone,
    RateLimited,
    Rejected,
    TransientError,
)
from handlers.text import visible, without_controls
from storage import accounts, audit, cards, mentions
from storage import replies as stored
from storage.audit import Action
from storage.models import (
    DISMISSED,
    OPEN,
    REPLY_FAILED,
    REPLY_MANUAL,
    REPLY_SENDING,
    REPLY_SENT,
    REPLY_UNKNOWN,
    HideStatus,
    LikeStatus,
    Mention,
)

log = logging.getLogger(__name__)

Outcome = Literal["sent", "failed", "unknown", "refused", "done"]
NOT_THIS_CARD = "This button doesn't belong to this card. Nothing was changed."
STALE_SENDING = timedelta(minutes=10)
STALE_LIKING = timedelta(minutes=10)  # far longer than one like takes, timeouts included
STALE_HIDING = timedelta(minutes=10)
RATE_LIMIT_GUESS = timedelta(minutes=5)  # when the platform does not say how long its limit lasts
RATE_LIMIT_MAX = timedelta(days=1)  # X's daily cap on posts is the longest wait a platform asks


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    mention_id: int
    message: str  # for the person who clicked
    reply_id: int | None = None
    url: str | None = None

    @property
    def changed(self) -> bool:
        return self.outcome != "refused"


def why_not(session: Session, mention: Mention) -> str:
    """Why this mention cannot be answered now, in the words of the card."""
    reply = stored.active_reply(session, mention.id)
    if reply is not None:
        by, at = f"<@{reply.requested_by}>", stamp(reply.completed_at or reply.requested_at)
        words: dict[str, str] = {
            REPLY_SENT: f"Already sent by {by} at {at}.",
            REPLY_SENDING: f"A reply is being sent by {by} (started {at}).",
            REPLY_UNKNOWN: f"A reply by {by} may have been posted at {at}; check the card.",
            REPLY_MANUAL: f"Already marked as replied manually by {by} at {at}.",
        }
        return words.get(reply.status, "Already answered.")
    if mention.state == DISMISSED:
        at = stamp(mention.dismissed_at) if mention.dismissed_at else "earlier"
        return f"Already marked as needing no reply by <@{mention.dismissed_by}> at {at}."
    if mention.state != OPEN:
        return f"#{mention.id} is not open for replies (it is {mention.state})."
    return "Someone else is handling this item right now."


def why_not_reclassified(session: Session, mention: Mention, shown: str) -> str:
    """A reclassify from a card that showed `shown` ("" for none) after the category changed:
    who changed it and to what, so the second officer does not override a change unseen."""
    now = _category(mention.category)
    was = f"your card still showed {_category(shown)}" if shown else "your card showed no category"
    last = cards.last_correction(session, mention.id)
    if last is not None and last.label == mention.category:
        by, at = f"<@{last.corrected_by}>", stamp(last.created_at)
        return f"#{mention.id} was already reclassified as {now} by {by} at {at}; {was}. Nothing was changed."
    return f"#{mention.id} is now filed as {now}; {was}. Nothing was changed."


def _category(category: str | None) -> str:
    return CATEGORY_LABELS.get(category or "", category or "no category")


# -- send -----------------------------------------------------------------------------------------


def _sent_at(session: Session, reply_id: int, fallback: datetime) -> datetime:
    """When the reply went out: a late platform answer or a later check does not make it later."""
    return stored.sent_at(session, reply_id) or fallback


def _claim_unanswered(session: Session, mention_id: int, **values: Any) -> Result | None:
    """Move an open, unanswered mention on with `values`; only one caller can win it.

    The guarded UPDATE is what makes a public reply happen once: of any number of concurrent
    clicks, exactly one sees rowcount 1. The others get the reason, e.g. who already sent it.
    """
    mention = mentions.get(session, mention_id)
    if mention is None:
        return Result("refused", mention_id, f"There is no item #{mention_id}.")
    if not stored.claim_unanswered(session, mention_id, **values):
        session.refresh(mention)
        return Result("refused", mention_id, why_not(session, mention))
    return None


def send_reply(ctx: Context, mention_id: int, text: str, source: str, by: str) -> Result:
    """Post `text` publicly as the reply to the mention, exactly once."""
    text = without_controls(text)
    if not visible(text):
        return Result("refused", mention_id, "The reply shows nothing; nothing was sent.")
    now = ctx.clock.now()
    try:
        with ctx.transaction() as session:
            held = _held_back(session, mention_id, now)
            if held is not None:
                return Result("refused", mention_id, held + kept(text, source))
            refused = _claim_unanswered(session, mention_id, reply_status=REPLY_SENDING)
            if refused is not None:  # someone else won it: their reply stands, this text is handed back
                return Result("refused", mention_id, refused.message + kept(text, source))
            reply_id = stored.add_reply(session, mention_id, text, source, REPLY_SENDING, by, now).id
            audit.record(
                session,
                now,
                Action.REPLY_REQUESTED,
                actor=by,
                mention_id=mention_id,
                reply_id=reply_id,
                source=source,
                text=text,
            )
    except IntegrityError:  # the unique index caught a second active reply
        with ctx.transaction() as session:
            mention = mentions.get(session, mention_id)
            message = why_not(session, mention) if mention else "Already answered."
        return Result("refused", mention_id, message + kept(text, source))
    return _call_platform(ctx, mention_id, reply_id, text, by)


def _held_back(session: Session, mention_id: int, now: datetime) -> str | None:
    """Why a send would fail again the way the last one did, so it is not tried: the post is
    gone from the platform, or the platform's rate limit has not reset yet."""
    mention = mentions.get(session, mention_id)
    if mention is None or mention.state != OPEN:
        return None  # the claim says why
    where = registry.title(mention.platform)
    if mention.deleted_at is not None:
        return (
            f"This post no longer exists on {where} (found deleted {stamp(mention.deleted_at)}), so "
            "there is nothing to reply to and nothing was sent. Choose “No reply needed” on the card "
            "to close it."
        )
    until = _rate_limited_until(session, mention_id)
    if until is not None and until > now:
        return (
            f"{where} is still limiting replies from this account until {stamp(until)} "
            f"(in about {_minutes(until, now)} min), so nothing was sent. The card keeps the reply: "
            "click Retry after that."
        )
    return None


def _rate_limited_until(session: Session, mention_id: int) -> datetime | None:
    """When the rate limit that refused this item's latest reply resets, if that is why it failed."""
    details = stored.last_failure(session, mention_id)
    if details.get("reply_id") != stored.latest_reply_id(session, mention_id):
        return None
    try:
        return datetime.fromisoformat(str(details["retry_after"]))
    except (KeyError, ValueError):
        return None


def kept(text: str, source: str) -> str:
    """An edited reply refused before it was sent exists nowhere else (the form has closed):
    give it back. A draft is still on the card."""
    if source != "edited":
        return ""
    quoted = "\n".join("> " + line for line in public(text, 2000).split("\n"))
    return f"\nYour text, to send later:\n{quoted}"


def _minutes(until: datetime, now: datetime) -> int:
    return max(1, round((until - now).total_seconds() / 60))


def _call_platform(ctx: Context, mention_id: int, reply_id: int, text: str, by: str) -> Result:

    began = False
    platform = ""
    try:
        with ctx.transaction() as session:
            row = mentions.get(session, mention_id)
            assert row is not None
            platform = row.platform
            account = accounts.get(session, row.account_id)
            if account is None:
                raise Rejected("the account of this item is no longer connected")
            domain_mention = mentions.to_domain(row)
            connector = connector_for(ctx, account)
        began = True
        posted = connector.reply(domain_mention, text)
    except RateLimited as exc:
        return _rate_limited(ctx, mention_id, reply_id, by, platform, exc)
    except PostGone as exc:
        return _gone(ctx, mention_id, reply_id, by, platform, exc)
    except Duplicate as exc:
        return _duplicate(ctx, mention_id, reply_id, text, by, platform, exc)
    except (Rejected, AuthFailed) as exc:
        return _finish(ctx, mention_id, reply_id, by, REPLY_FAILED, error=_error_text(exc))
    except ConnectorError as exc:  # AmbiguousOutcome, TransientError during a write
        return _finish(ctx, mention_id, reply_id, by, REPLY_UNKNOWN, error=_error_text(exc))
    except Exception as exc:
        log.exception("reply for #%s: unexpected error", mention_id)
        status = REPLY_UNKNOWN if began else REPLY_FAILED
        return _finish(
            ctx, mention_id, reply_id, by, status, error=f"unexpected error ({type(exc).__name__})"
        )
    return _finish(ctx, mention_id, reply_id, by, REPLY_SENT, external_id=posted.external_id, url=posted.url)


def _rate_limited(
    ctx: Context, mention_id: int, reply_id: int, by: str, platform: str, exc: RateLimited
) -> Result:
    """Nothing was posted; say when the platform takes replies again, and hold sends until then."""
    now = ctx.clock.now()
    where = registry.title(platform)
    until = min(exc.reset_at or now + RATE_LIMIT_GUESS, now + RATE_LIMIT_MAX)
    minutes = _minutes(until, now)
    if exc.reset_at is None:
        when = f"It did not say for how long: try again in about {minutes} min"
    else:
        when = f"Try again after {stamp(until)} (in about {minutes} min)"
    return _finish(
        ctx,
        mention_id,
        reply_id,
        by,
        REPLY_FAILED,
        error=f"rate limited: {where} takes replies again after about {until:%Y-%m-%d %H:%M} UTC",
        told=f"{where} is limiting how many replies this account can send, so nothing was posted. "
        f"{when}; the card keeps the reply for Retry.",
        retry_after=until.isoformat(),
        detail=_error_text(exc),
    )


def _gone(ctx: Context, mention_id: int, reply_id: int, by: str, platform: str, exc: PostGone) -> Result:
    """The post was deleted: recorded on the item (its card says so, SLA stops chasing it)."""
    where = registry.title(platform)
    return _finish(
        ctx,
        mention_id,
        reply_id,
        by,
        REPLY_FAILED,
        error=f"the post no longer exists on {where}: deleted by its author or removed",
        told=f"The post no longer exists on {where} (deleted by its author or removed), so nothing "
        "was posted and sending again cannot work. Its card now says it was deleted; choose "
        "“No reply needed” to close it.",
        gone=True,
        detail=_error_text(exc),
    )


def _duplicate(
    ctx: Context, mention_id: int, reply_id: int, text: str, by: str, platform: str, exc: Duplicate
) -> Result:
    """A copy refused right after an unconfirmed attempt of the same text to the same post is
    that attempt showing up: staff check again instead of being told to reword and resend."""
    with ctx.transaction() as session:
        earlier = stored.earlier_unposted(session, mention_id, reply_id, text, CHECKED_NOT_POSTED)
        tried_at = stamp(earlier.requested_at) if earlier is not None else ""
    if earlier is None:  # the same words already sent to someone else: rewording is the answer
        return _finish(ctx, mention_id, reply_id, by, REPLY_FAILED, error=_error_text(exc))
    where = registry.title(platform)
    return _finish(
        ctx,
        mention_id,
        reply_id,
        by,
        REPLY_UNKNOWN,
        error=f"{where} already has this exact text from the account, probably the earlier attempt "
        "recorded as not posted",
        told=f"{where} refused this as a copy: the account has already posted this exact text, "
        f"probably in the attempt at {tried_at} that was recorded as not posted. Check the post on "
        f"{where} before sending anything else, then say on the card whether the reply is there.",
        detail=_error_text(exc),
        earlier_reply_id=earlier.id,
    )


def _error_text(exc: Exception) -> str:
    kind = {"AuthFailed": "credentials refused", "RateLimited": "rate limited"}.get(type(exc).__name__, "")
    detail = str(exc)[:300]
    return f"{kind}: {detail}" if kind and detail else kind or detail or type(exc).__name__


def _finish(
    ctx: Context,
    mention_id: int,
    reply_id: int,
    by: str,
    status: str,
    *,
    error: str | None = None,
    external_id: str | None = None,
    url: str | None = None,
    told: str | None = None,
    gone: bool = False,
    **details: Any,
) -> Result:
    """Record the platform's answer (once), and what to tell the person who clicked (`told`
    replaces the plain words). `gone`: the post is deleted; `details` go to the audit event."""
    now = ctx.clock.now()
    # A platform call that outlived STALE_SENDING finds its reply already turned `unknown` by the
    # sweep; a definite answer then settles it, unless a person has recorded an outcome since.
    settles = (REPLY_SENDING,) if status == REPLY_UNKNOWN else (REPLY_SENDING, REPLY_UNKNOWN)
    with ctx.transaction() as session:
        done = stored.settle_reply(
            session,
            reply_id,
            settles,
            status=status,
            completed_at=now,
            error=error,
            external_id=external_id,
            url=url or None,
        )
        if not done:
            return _too_late(session, ctx, mention_id, reply_id, by, status, external_id, url, error)
        stored.settle_mention(
            session, mention_id, settles, stored.answered(status, by, _sent_at(session, reply_id, now))
        )
        if gone:
            mentions.mark_deleted(session, mention_id, now, error or "")
        actions: dict[str, Action] = {
            REPLY_SENT: Action.REPLY_SENT,
            REPLY_FAILED: Action.REPLY_FAILED,
            REPLY_UNKNOWN: Action.REPLY_UNKNOWN,
        }
        action = actions[status]
        audit.record(
            session,
            now,
            action,
            actor=by,
            mention_id=mention_id,
            reply_id=reply_id,
            external_id=external_id,
            url=url,
            error=error,
            **details,
        )
    if status == REPLY_SENT:
        return Result("sent", mention_id, "Reply posted.", reply_id, url)
    if told is not None:
        return Result("failed" if status == REPLY_FAILED else "unknown", mention_id, told, reply_id)
    if status == REPLY_FAILED:
        return Result(
            "failed",
            mention_id,
            f"The platform refused the reply: {public(error)}. Nothing was posted.",
            reply_id,
        )
    return Result(
        "unknown",
        mention_id,
        f"We could not confirm whether the reply was posted ({public(error)}). Check the platform before doing anything else.",
        reply_id,
    )


def _too_late(
    session: Session,
    ctx: Context,
    mention_id: int,
    reply_id: int,
    by: str,
    status: str,
    external_id: str | None,
    url: str | None,
    error: str | None,
) -> Result:
    """The platform answered after the reply's outcome was settled: keep the record, say so."""
    audit.record(
        session,
        ctx.clock.now(),
        Action.REPLY_LATE_ANSWER,
        actor=by,
        mention_id=mention_id,
        reply_id=reply_id,
        outcome=status,
        external_id=external_id,
        url=url,
        error=error,
    )
    reply = stored.get(session, reply_id)
    recorded = reply.status if reply is not None else REPLY_UNKNOWN
    if status == REPLY_SENT and recorded != REPLY_SENT:
        log.error(
            "reply %s of #%s: the platform posted it after it was recorded as %s",
            reply_id,
            mention_id,
            recorded,
        )
        return Result(
            "unknown",
            mention_id,
            f"The platform has now posted this reply ({url or 'no link given'}), but it had already been recorded as {recorded}. Check the platform before sending anything else.",
            reply_id,
            url,
        )
    return Result(
        "unknown",
        mention_id,
        f"The platform answered late; this reply was already recorded as {recorded}. Nothing was changed.",
        reply_id,
    )


def retry_send(ctx: Context, mention_id: int, reply_id: int, by: str) -> Result:
    """Send again the text of a reply the platform definitely refused."""
    with ctx.transaction() as session:
        reply = stored.get(session, reply_id)
        latest = stored.latest_reply_id(session, mention_id)
        if reply is None or reply.mention_id != mention_id:
            return Result("refused", mention_id, NOT_THIS_CARD)
        if reply.status != REPLY_FAILED or latest != reply_id:
            mention = mentions.get(session, mention_id)
            return Result(
                "refused", mention_id, why_not(session, mention) if mention else "Nothing to retry."
            )
        text, source = reply.text, reply.source
    return send_reply(ctx, mention_id, text, source, by)


def confirm_unknown(ctx: Context, mention_id: int, reply_id: int, posted: bool, by: str) -> Result:
    """A person checked the platform: the `unknown` reply was posted, or was not."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        reply = stored.get(session, reply_id)
        if reply is None or reply.mention_id != mention_id:
            return Result("refused", mention_id, NOT_THIS_CARD)
        if not stored.confirm_unknown(session, mention_id, reply_id, posted, CHECKED_NOT_POSTED):
            return Result(
                "refused",
                mention_id,
                "Someone already recorded what happened to this reply. Nothing was changed.",
            )
        outcome = REPLY_SENT if posted else REPLY_FAILED
        stored.settle_mention(
            session,
            mention_id,
            (REPLY_UNKNOWN,),
            stored.answered(outcome, by, _sent_at(session, reply_id, now)),
        )
        action = Action.REPLY_CONFIRMED_POSTED if posted else Action.REPLY_CONFIRMED_NOT_POSTED
        audit.record(session, now, action, actor=by, mention_id=mention_id, reply_id=reply_id)
    return Result(
        "done", mention_id, "Recorded as posted." if posted else "Recorded as not posted; you can send again."
    )


def recover_stale_sends(ctx: Context) -> list[int]:
    """Replies left `sending` by a crash become `unknown`: a person must check, nobody re-sends."""
    cutoff = ctx.clock.now() - STALE_SENDING
    with ctx.transaction() as session:
        stale = stored.stale_sending(session, cutoff)
        for reply in stale:
            stored.mark_unknown(session, reply, "interrupted while sending")
            audit.record(
                session,
                ctx.clock.now(),
                Action.REPLY_UNKNOWN,
                mention_id=reply.mention_id,
                reply_id=reply.id,
                error=reply.error,
            )
        return [r.mention_id for r in stale]


def recover_stale_likes(ctx: Context) -> list[int]:
    """Likes left `liking` by a crash become `failed`, so the card offers Like again.

    Repeating a like is harmless on both platforms, but it is still a public act: a person clicks
    again rather than the sweep liking on its own. The claim time is the `like_requested` event.
    """
    return _recover_stale(ctx, LIKE)


def recover_stale_hides(ctx: Context) -> list[int]:
    """Hides left `hiding` by a crash become `failed`: the card offers Hide again (hiding twice is
    harmless, but a person decides)."""
    return _recover_stale(ctx, HIDE)


def _recover_stale(ctx: Context, act: _Act) -> list[int]:
    cutoff = ctx.clock.now() - act.stale_after
    with ctx.transaction() as session:
        recovered = []
        for mention_id in act.stale(session, cutoff):
            if act.failed(session, mention_id, True):
                recovered.append(mention_id)
                audit.record(
                    session,
                    ctx.clock.now(),
                    act.failed_action,
                    mention_id=mention_id,
                    error=f"interrupted while {act.doing}",
                    unconfirmed=True,  # the platform may have done it before the crash
                )
        return recovered


# -- manual, dismiss, like, hide ----------------------------------------------------------------------------


def mark_replied_manually(ctx: Context, mention_id: int, by: str) -> Result:
    """Someone answered on the platform itself (the X reply restriction, or a phone call)."""
    now = ctx.clock.now()
    try:
        with ctx.transaction() as session:
            refused = _claim_unanswered(session, mention_id, **stored.answered(REPLY_MANUAL, by, now))
            if refused is not None:
                return refused
            stored.add_reply(session, mention_id, "", "manual", REPLY_MANUAL, by, now, completed_at=now)
            audit.record(session, now, Action.MARKED_REPLIED_MANUALLY, actor=by, mention_id=mention_id)
    except IntegrityError:
        return Result("refused", mention_id, "Already answered.")
    return Result("done", mention_id, "Marked as replied manually.")


def dismiss(ctx: Context, mention_id: int, reason: str, by: str) -> Result:
    """No reply needed: open -> dismissed, once, with the reason kept for the record."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        refused = _claim_unanswered(
            session, mention_id, state=DISMISSED, dismissed_reason=reason, dismissed_by=by, dismissed_at=now
        )
        if refused is not None:
            return refused
        audit.record(session, now, Action.DISMISSED, actor=by, mention_id=mention_id, reason=reason)
    return Result("done", mention_id, "Marked as needing no reply.")


@dataclass(frozen=True)
class _Act:
    """A public act on the post that is harmless to repeat (a like, hiding it): claimed once,
    done on the platform after the claim's commit, and recorded; a failure may be tried again."""

    name: str  # for log lines
    doing: str  # "liking": the audit trail's word for a claim a crash interrupted
    claim: Callable[[Session, int], bool]
    already: Callable[[Mention], str | None]  # why it is done already, or None (under way)
    busy: str
    call: Callable[[Connector, domain.Mention], object]
    failed: Callable[[Session, int, bool], bool]  # True: only while still claimed
    stale: Callable[[Session, datetime], list[int]]  # claims older than the cutoff
    stale_after: timedelta
    done: Callable[[Session, int, str, datetime], None]
    requested: Action
    failed_action: Action
    done_action: Action
    failed_message: str  # with {error}
    unconfirmed_message: str  # no clear answer (timeout, 5xx): it may have happened; with {where}
    done_message: str


def _liked(mention: Mention) -> str | None:
    if mention.like_status != LikeStatus.LIKED:
        return None
    at = stamp(mention.liked_at) if mention.liked_at else "earlier"
    return f"Already liked by <@{mention.liked_by}> at {at}."


def _hidden(mention: Mention) -> str | None:
    if mention.hide_status != HideStatus.HIDDEN:
        return None
    at = stamp(mention.hidden_at) if mention.hidden_at else "earlier"
    return f"Already hidden by <@{mention.hidden_by}> at {at}."


LIKE = _Act(
    name="like",
    doing="liking",
    claim=stored.claim_like,
    already=_liked,
    busy="A like is being sent right now.",
    call=lambda connector, mention: connector.like(mention),
    failed=stored.like_failed,
    stale=stored.stale_likes,
    stale_after=STALE_LIKING,
    done=stored.like_done,
    requested=Action.LIKE_REQUESTED,
    failed_action=Action.LIKE_FAILED,
    done_action=Action.LIKED,
    failed_message="The like did not go through ({error}); you can try again.",
    unconfirmed_message="We could not confirm whether the like went through ({where} gave no clear "
    "answer). Check the post on {where}, or click Like again: liking twice is harmless.",
    done_message="Liked.",
)
HIDE = _Act(
    name="hide",
    doing="hiding",
    claim=stored.claim_hide,
    already=_hidden,
    busy="It is being hidden right now.",
    call=lambda connector, mention: connector.hide(mention),
    failed=stored.hide_failed,
    stale=stored.stale_hides,
    stale_after=STALE_HIDING,
    done=stored.hide_done,
    requested=Action.HIDE_REQUESTED,
    failed_action=Action.HIDE_FAILED,
    done_action=Action.HIDDEN,
    failed_message="It was not hidden ({error}); you can try again.",
    unconfirmed_message="We could not confirm whether it was hidden ({where} gave no clear answer). "
    "Check it on {where}, or click Hide again: hiding twice is harmless.",
    done_message="Hidden from the public.",
)


def like(ctx: Context, mention_id: int, by: str) -> Result:
    """Like the mention as the account, once (liking is harmless to repeat, so failures may retry)."""
    return _public_act(ctx, mention_id, by, LIKE)


def hide(ctx: Context, mention_id: int, by: str) -> Result:
    """Hide the item from the public on its platform, once; the record keeps who did it and when."""
    return _public_act(ctx, mention_id, by, HIDE)


def _public_act(ctx: Context, mention_id: int, by: str, act: _Act) -> Result:
    now = ctx.clock.now()
    with ctx.transaction() as session:
        mention = mentions.get(session, mention_id)
        if mention is None:
            return Result("refused", mention_id, f"There is no item #{mention_id}.")
        if not act.claim(session, mention_id):
            session.refresh(mention)
            return Result("refused", mention_id, act.already(mention) or act.busy)
        account = accounts.get(session, mention.account_id)
        where = registry.title(mention.platform)
        audit.record(session, now, act.requested, actor=by, mention_id=mention_id)
    try:
        if account is None:
            raise Rejected("the account of this item is no longer connected")
        with ctx.transaction() as session:
            row = mentions.get(session, mention_id)
            assert row is not None
            connector = connector_for(ctx, account)
            domain_mention = mentions.to_domain(row)
        act.call(connector, domain_mention)
    except Exception as exc:
        error = _error_text(exc) if isinstance(exc, ConnectorError) else type(exc).__name__
        if not isinstance(exc, ConnectorError):
            log.exception("%s for #%s: unexpected error", act.name, mention_id)
        # No clear answer: it may have happened. It stays `failed` (the card offers it again,
        # and repeating it is harmless), but nobody is told it did not happen.
        unconfirmed = isinstance(exc, (AmbiguousOutcome, TransientError))
        with ctx.transaction() as session:
            act.failed(session, mention_id, False)
            audit.record(
                session,
                ctx.clock.now(),
                act.failed_action,
                actor=by,
                mention_id=mention_id,
                error=error,
                **({"unconfirmed": True} if unconfirmed else {}),
            )
        if unconfirmed:
            return Result("failed", mention_id, act.unconfirmed_message.format(where=where))
        return Result("failed", mention_id, act.failed_message.format(error=public(error)))
    with ctx.transaction() as session:
        act.done(session, mention_id, by, ctx.clock.now())
        audit.record(session, ctx.clock.now(), act.done_action, actor=by, mention_id=mention_id)
    return Result("done", mention_id, act.done_message)
