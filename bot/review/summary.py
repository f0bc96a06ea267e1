"""A storm in the review channel: its start notice, one summary card redrawn in place, its end notice.

Each message is a `storm_messages` row posted through the outbox like a card: claimed
(`pending|failed -> posting`, one winner), posted with metadata naming the storm, settled
`posted` with its ts or `failed`; a claim left `posting` by a crash, or an ambiguous post, is
looked for in the channel's history before anything is posted again. The summary card carries
`metadata = {"event_type": "twoway_summary", "event_payload": {"post_id", "storm_id", "account_id"}}`.

Once posted, the summary card is redrawn with `chat.update` when its storm changed, at most every
UPDATE_SECONDS: a thousand comments a minute become one edit every few seconds, not a thousand.
The storm's `version` counts its changes and the card stores the version it shows, so a restarted
process carries on editing the same card, and no change is left undrawn.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.core.context import Context
from bot.intake.triage import agency_variables, template_specs
from bot.review.cards import STALE_CLAIM, account_label
from bot.review.summary_blocks import (
    ROW_ORDER,
    DraftView,
    PostView,
    RepeatView,
    SummaryView,
    ThemeView,
    bucket_label,
    ended_text,
    slots,
    started_text,
    summary_blocks,
    summary_text,
)
from bot.slack import outbox
from bot.slack.channel import review_channel
from bot.slack.client import client
from bot.slack.messages import card_url
from handlers.templates import AGENCY_VARIABLES, STORM_CATEGORIES, placeholders_in, render
from handlers.themes import Themes
from storage import accounts, audit, keys, settings, storms
from storage.audit import Action
from storage.models import (
    CARD_FAILED,
    CARD_PENDING,
    CARD_POSTING,
    CARD_SUMMARY,
    DISMISSED,
    OPEN,
    REPLIED,
    Storm,
)

log = logging.getLogger(__name__)

SUMMARY_EVENT = "twoway_summary"
NOTICE_EVENT = "twoway_storm"
UPDATE_SECONDS = 5  # the summary card is redrawn at most this often
AMBIGUOUS = "ambiguous: "
HISTORY_WINDOW = timedelta(days=1)
THEMES_SHOWN = 5


# -- the view-model from the database ------------------------------------------------------------


def post_url(platform: str, thread_key: str) -> str | None:
    """A link to the post everyone answers."""
    if not thread_key:
        return None
    if platform == "x":
        return f"https://x.com/i/status/{thread_key}"
    if platform == "facebook":
        return f"https://www.facebook.com/{thread_key}"
    return None


def _timezone(session: Session) -> ZoneInfo:
    try:
        return ZoneInfo(str(settings.get(session, keys.TIMEZONE) or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _row(category: str | None, urgent: bool) -> str:
    return "urgent" if urgent else (category if category in ROW_ORDER else "other")


def _drafts(session: Session, now: datetime) -> tuple[DraftView, ...]:
    """One statement and one pinned reply: the newest custom template of each, else the shipped one."""
    variables = agency_variables(session)
    specs = template_specs(session, now)
    drafts = []
    for kind in STORM_CATEGORIES:
        ofkind = [s for s in specs if s.category == kind]
        custom = [s for s in ofkind if s.key.startswith("custom-")]
        candidates = custom[-1:] or ofkind[:1]
        if not candidates:
            continue
        chosen = candidates[0]
        text = render(chosen.text, variables)
        missing = tuple(
            n for n in placeholders_in(chosen.text) if n in AGENCY_VARIABLES and not variables.get(n)
        )
        drafts.append(DraftView(kind, text, missing))
    return tuple(drafts)


def load_summary(ctx: Context, session: Session, storm_id: int, now: datetime) -> SummaryView | None:
    storm = storms.get(session, storm_id)
    if storm is None:
        return None
    account = accounts.get(session, storm.account_id)
    tz = _timezone(session)
    items = storms.items(session, storm_id)
    rows: Counter[str] = Counter()
    theme_members: dict[int, Counter[str]] = {}
    own = gathered = open_gathered = open_posts = answered = dismissed = 0
    for item in items:
        rows[_row(item.category, item.urgent)] += 1
        open_posts += item.state == OPEN
        if item.card_status == CARD_SUMMARY:
            gathered += 1
            open_gathered += item.state == OPEN
        elif item.category is not None:
            own += 1
        answered += item.state == REPLIED
        dismissed += item.state == DISMISSED
        if item.theme is not None:
            theme_members.setdefault(item.theme, Counter())[item.category or "other"] += 1
    themes = Themes.from_json(storm.themes)
    ranked = sorted(theme_members.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    shown = [(index, members) for index, members in ranked if index < len(themes.themes)][:THEMES_SHOWN]
    repeats = themes.repeated()[:THEMES_SHOWN]
    posts = storms.mentions_by_id(
        session, [themes.themes[i].lead for i, _ in shown] + [a.mention_id for a in repeats]
    )

    def post(mention_id: int) -> PostView | None:
        m = posts.get(mention_id)
        if m is None:
            return None
        return PostView(
            m.id,
            m.author_name or m.author_handle,
            m.text,
            m.url,
            m.category,
            m.state,
            card_url(ctx, m.card_channel, m.card_ts),
        )

    theme_views = []
    for index, members in shown:
        lead = post(themes.themes[index].lead)
        if lead is not None:
            theme_views.append(ThemeView(sum(members.values()), members.most_common(1)[0][0], lead))
    repeat_views = [RepeatView(a.repeats, p) for a in repeats if (p := post(a.mention_id)) is not None]
    timeline, minutes = _timeline(items, storm, now, tz)
    return SummaryView(
        storm_id=storm.id,
        platform=storm.platform,
        account=account_label(account),
        thread_key=storm.thread_key,
        post_text=storm.post_text,
        post_url=post_url(storm.platform, storm.thread_key),
        # From its first post, not from when the burst was recognised (it gathers earlier posts).
        started_at=min([storm.started_at, *(i.created_at for i in items)]),
        ended_at=storm.ended_at,
        normal=storm.normal,
        peak=storm.peak,
        total=len(items),
        rows=dict(rows),
        own_cards=own,
        gathered=gathered,
        open_gathered=open_gathered,
        open_posts=open_posts,
        answered=answered,
        dismissed=dismissed,
        timeline=timeline,
        bucket_minutes=minutes,
        timezone=tz.key,
        themes=tuple(theme_views),
        repeats=tuple(repeat_views),
        drafts=_drafts(session, now),
        updated_at=now,
    )


def _timeline(
    items: list[storms.Item], storm: Storm, now: datetime, tz: ZoneInfo
) -> tuple[tuple[tuple[str, dict[str, int]], ...], int]:
    """Posts per time slot and row, in the agency's wall-clock time; the last column is the slot
    of the storm's end (or of now), every post in its own slot."""
    if not items:
        return (), 1

    def local(moment: datetime) -> datetime:
        return moment.astimezone(tz).replace(tzinfo=None)

    times = [local(i.created_at) for i in items]
    minutes, origin, count = slots(min(times), max(local(storm.ended_at or now), *times))
    step = timedelta(minutes=minutes)
    columns: list[Counter[str]] = [Counter() for _ in range(count)]
    for item, moment in zip(items, times, strict=True):
        columns[(moment - origin) // step][_row(item.category, item.urgent)] += 1
    labels = [bucket_label(origin + step * n, minutes) for n in range(count)]
    return tuple((label, dict(column)) for label, column in zip(labels, columns, strict=True)), minutes


# -- posting --------------------------------------------------------------------------------------


def _message(view: SummaryView, kind: str, channel: str, summary_link: str | None) -> outbox.Message:
    if kind == storms.SUMMARY:
        return outbox.Message(
            channel,
            summary_text(view),
            summary_blocks(view),
            event_type=SUMMARY_EVENT,
            payload=_summary_payload(view),
            unfurl=False,
        )
    text = started_text(view, view.peak) if kind == storms.STARTED else ended_text(view, summary_link)
    payload = {"storm_id": view.storm_id, "kind": kind, "post_id": view.thread_key or None}
    return outbox.Message(channel, text, event_type=NOTICE_EVENT, payload=payload, unfurl=False)


def _summary_payload(view: SummaryView) -> dict[str, Any]:
    return {"post_id": view.thread_key or None, "storm_id": view.storm_id, "platform": view.platform}


def post_storm_messages(ctx: Context, tried: set[int] | None = None) -> int:
    """Post the storms' notices and summary cards waiting to go out, in the order they were made;
    `tried` (message ids) carries over the calls of one pass of the Slack worker."""
    now = ctx.clock.now()
    tried = set() if tried is None else tried
    with ctx.transaction() as session:
        channel = review_channel(session, ctx.settings)
        if channel is None:
            return 0
        waiting = [w for w in storms.waiting_messages(session, now - STALE_CLAIM) if w.id not in tried]
    posted = 0
    for item in waiting:
        tried.add(item.id)
        stale = item.status == CARD_POSTING
        states = (CARD_POSTING,) if stale else (CARD_PENDING, CARD_FAILED)
        with ctx.transaction() as session:
            if not storms.claim_message(session, item.id, states, item.attempts, now):
                continue
        ambiguous = stale or bool(item.error and item.error.startswith(AMBIGUOUS))
        sent = _post(ctx, item, channel, item.claimed_at if ambiguous else None)
        posted += sent
    return posted


def _post(ctx: Context, item: storms.Waiting, channel: str, check_since: datetime | None) -> int:
    now = ctx.clock.now()
    with ctx.transaction() as session:
        shows = storms.version(session, item.storm_id)
        view = load_summary(ctx, session, item.storm_id, now)
        summary = storms.message(session, item.storm_id, storms.SUMMARY)
        summary_link = card_url(ctx, summary.channel, summary.ts) if summary else None
    if view is None:
        return 0
    claim = _MessageClaim(ctx, item, shows)
    event = SUMMARY_EVENT if item.kind == storms.SUMMARY else NOTICE_EVENT
    if check_since is not None:
        try:
            found = outbox.find(
                client(ctx),
                channel,
                event,
                lambda p: p.get("storm_id") == item.storm_id and p.get("kind", storms.SUMMARY) == item.kind,
                check_since - HISTORY_WINDOW,
            )
        except Exception as exc:
            claim.unknown(
                outbox.Sent(
                    outbox.Outcome.UNKNOWN, channel, error=f"history check failed: {type(exc).__name__}"
                )
            )
            return 0
        if found is not None:
            claim.posted(outbox.Sent(outbox.Outcome.POSTED, channel, found), recovered=True)
            return 1
    sent = outbox.deliver(ctx, claim, _message(view, item.kind, channel, summary_link))
    return 1 if sent.outcome is outbox.Outcome.POSTED else 0


class _MessageClaim:
    def __init__(self, ctx: Context, item: storms.Waiting, shows: int) -> None:
        self.ctx, self.item, self.shows = ctx, item, shows

    def posted(self, sent: outbox.Sent, recovered: bool = False) -> None:
        now = self.ctx.clock.now()
        with self.ctx.transaction() as session:
            shows = None if recovered else self.shows  # a card found again may be older: redraw it
            storms.message_posted(session, self.item.id, sent.channel, sent.ts, now, shows)
            audit.record(
                session,
                now,
                Action.STORM_MESSAGE_POSTED,
                storm_id=self.item.storm_id,
                kind=self.item.kind,
                channel=sent.channel,
                ts=sent.ts,
                recovered=recovered,
            )

    def refused(self, sent: outbox.Sent) -> None:
        self._failed(sent.error)

    def unknown(self, sent: outbox.Sent) -> None:
        self._failed(AMBIGUOUS + sent.error)

    def _failed(self, error: str) -> None:
        log.warning("storm %s %s message not posted: %s", self.item.storm_id, self.item.kind, error)
        with self.ctx.transaction() as session:
            storms.message_failed(session, self.item.id, error[:500])
            audit.record(
                session,
                self.ctx.clock.now(),
                Action.STORM_MESSAGE_FAILED,
                storm_id=self.item.storm_id,
                kind=self.item.kind,
                error=error[:500],
            )


# -- redrawing in place --------------------------------------------------------------------------


def redraw_summaries(ctx: Context, storm_id: int | None = None) -> int:
    """Redraw the summary cards whose storm changed, each at most every UPDATE_SECONDS."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        due = storms.summaries_to_redraw(session, now - timedelta(seconds=UPDATE_SECONDS))
    redrawn = 0
    for item in due:
        if storm_id is not None and item.storm_id != storm_id:
            continue
        with ctx.transaction() as session:
            if not storms.claim_redraw(session, item, now):
                continue  # another worker redraws it
            view = load_summary(ctx, session, item.storm_id, now)
        if view is None:
            continue
        try:
            client(ctx).chat_update(
                channel=item.channel,
                ts=item.ts,
                text=summary_text(view),
                blocks=summary_blocks(view),
                metadata={"event_type": SUMMARY_EVENT, "event_payload": _summary_payload(view)},
            )
            redrawn += 1
        except SlackApiError as exc:
            log.warning(
                "could not redraw the summary of storm %s: %s", item.storm_id, exc.response.get("error")
            )
            with ctx.transaction() as session:
                storms.undo_redraw(session, item, now)
        except Exception:
            log.warning("could not redraw the summary of storm %s", item.storm_id, exc_info=True)
            with ctx.transaction() as session:
                storms.undo_redraw(session, item, now)
    return redrawn


# -- what staff do from the summary card ------------------------------------------------------------


@dataclass(frozen=True)
class Dismissal:
    dismissed: int  # open posts the card counted, now dismissed
    later: int  # open posts gathered after the card was drawn, left open


def dismiss_shown(
    ctx: Context, storm_id: int, reason: str, by: str, drawn: datetime | None = None
) -> Dismissal:
    """Dismiss the open posts gathered on the storm's summary card as it was drawn at `drawn` (the
    card the supervisor clicked): those that had reached TwoWay and been gathered by then, each
    with the reason and its own audit event. Posts gathered after that draw stay open, and the
    redrawn card counts them. Without `drawn` (a card drawn by an earlier release), the card's
    last successful draw as stored."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        if drawn is not None:
            upto = min(drawn, now)
        else:
            card = storms.message(session, storm_id, storms.SUMMARY)
            upto = card.drawn_at if card is not None and card.drawn_at is not None else now
        dismissed = storms.dismiss_gathered(session, storm_id, reason, by, now, upto=upto)
        later = storms.gathered_after(session, storm_id, upto)
    redraw_summaries(ctx, storm_id)  # at once unless it was redrawn seconds ago; the worker follows
    return Dismissal(len(dismissed), later)


def dismiss_rest(ctx: Context, storm_id: int, reason: str, by: str, drawn: datetime | None = None) -> int:
    """`dismiss_shown`; how many were dismissed."""
    return dismiss_shown(ctx, storm_id, reason, by, drawn).dismissed
