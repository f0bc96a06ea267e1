"""Storm detection: entering and leaving storms, and where each mention of a storm is shown.

`watch` runs before every triage sweep and on its own every few seconds. It counts the mentions
posted in the last window per thread and per account, compares them with the account's normal
rate (the rule is `handlers.storms`), enters the storms that start (a guarded insert: one storm
per thread at a time) and ends the ones that have calmed. Entering a storm also takes in the
thread's recent mentions: cards not posted yet of posts that would be gathered move onto the
summary card instead of reaching the channel one by one.

`placements` is what triage asks for each mention it writes: in a storm or not, its own card or
the summary card, and its theme. Both read and write the storm's themes under the storm row's
lock, so two sweeps never lose each other's grouping.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.core.context import Context
from bot.intake.training import current_classifier
from handlers.classifier import Classifier
from handlers.storms import (
    BASELINE_DAYS,
    HOLD,
    WINDOW,
    Placement,
    StormRule,
    calmed,
    normal_rate,
    place,
    rule_from_setting,
)
from handlers.themes import Themes
from storage import keys, settings, storms
from storage.models import CARD_PENDING, CARD_SUMMARY, Storm

log = logging.getLogger(__name__)

EARLIEST = WINDOW  # a mention posted this long before its storm began still joins it


def current_rule(session: Session) -> StormRule | None:
    """The admins' storm threshold, or None when detection is off."""
    return rule_from_setting(settings.get(session, keys.STORM_THRESHOLD))


@dataclass
class Watched:
    started: list[int]
    ended: list[int]
    warming: set[tuple[int, str]] = field(default_factory=set)  # (account, thread) a third of the way


def watch(ctx: Context) -> Watched:
    """Enter the storms that start and end the ones that have calmed; the ids of each."""
    now = ctx.clock.now()
    result = Watched([], [])
    with ctx.transaction() as session:
        rule = current_rule(session)
        current = storms.active(session)
        if rule is None and not current:
            return result
    classifier = current_classifier(ctx) if rule is not None else None
    with ctx.transaction() as session:
        current = storms.active(session, for_update=True)
        activity = storms.activity(session, now - WINDOW)
        accounts = sorted(set(activity.accounts) | {s.account_id for s in current})
        baseline = storms.counts_between(
            session, accounts, now - WINDOW - timedelta(days=BASELINE_DAYS), now - WINDOW
        )
        storming = {(s.account_id, s.thread_key) for s in current}
        for storm in current:
            count = _count(storm, activity, storming)
            if storm.started_at <= now - WINDOW and calmed(count, storm.level):
                if storms.end(session, storm.id, now, count):
                    result.ended.append(storm.id)
                    storming.discard((storm.account_id, storm.thread_key))
            else:
                storms.note_peak(session, storm.id, count)
        if rule is None or classifier is None:
            return result
        for (account_id, thread_key), count in sorted(activity.threads.items()):
            normal = normal_rate(baseline.get(account_id, 0))
            if (account_id, thread_key) not in storming and rule.warming(count, normal):
                result.warming.add((account_id, thread_key))
            if (account_id, thread_key) in storming or not rule.starts(count, normal):
                continue
            entered = _enter(session, classifier, rule, account_id, thread_key, activity, count, normal, now)
            if entered is not None:
                result.started.append(entered.id)
                storming.add((account_id, thread_key))
        for account_id in sorted(activity.accounts):
            if (account_id, storms.ACCOUNT_WIDE) in storming:
                continue
            outside = _outside_thread_storms(account_id, activity, storming)
            normal = normal_rate(baseline.get(account_id, 0))
            if rule.warming(outside, normal):
                result.warming.add((account_id, storms.ACCOUNT_WIDE))
            if rule.starts(outside, normal):
                entered = _enter(
                    session, classifier, rule, account_id, storms.ACCOUNT_WIDE, activity, outside, normal, now
                )
                if entered is not None:
                    result.started.append(entered.id)
                    storming.add((account_id, storms.ACCOUNT_WIDE))
    for storm_id in result.started:
        log.warning("storm %s started: its posts are gathered on one summary card", storm_id)
    for storm_id in result.ended:
        log.info("storm %s ended", storm_id)
    return result


def _outside_thread_storms(account_id: int, activity: storms.Activity, storming: set[tuple[int, str]]) -> int:
    inside = sum(
        count
        for (account, thread), count in activity.threads.items()
        if account == account_id and (account, thread) in storming
    )
    return activity.accounts.get(account_id, 0) - inside


def _count(storm: Storm, activity: storms.Activity, storming: set[tuple[int, str]]) -> int:
    if storm.thread_key == storms.ACCOUNT_WIDE:
        return _outside_thread_storms(storm.account_id, activity, storming)
    return activity.threads.get((storm.account_id, storm.thread_key), 0)


def _enter(
    session: Session,
    classifier: Classifier,
    rule: StormRule,
    account_id: int,
    thread_key: str,
    activity: storms.Activity,
    count: int,
    normal: float,
    now: datetime,
) -> Storm | None:
    text = storms.post_text(session, account_id, thread_key) if thread_key else None
    storm = storms.start(
        session,
        account_id=account_id,
        platform=activity.platforms.get(account_id, ""),
        thread_key=thread_key,
        post_text=text,
        level=rule.level(normal),
        normal=normal,
        count=count,
        now=now,
    )
    if storm is None:
        return None
    recent = storms.join_recent(session, storm, now - WINDOW - EARLIEST)
    triaged = [row for row in recent if row.category is not None]
    if triaged:
        try:
            vectors = list(classifier.vectors([row.text for row in triaged]))
        except Exception:
            log.exception("sentence vectors failed for storm %s; its first posts have no theme", storm.id)
            vectors = [None] * len(triaged)
        themes = Themes.from_json(storm.themes)
        to_gather: dict[int, int | None] = {}
        to_theme: dict[int, int | None] = {}
        for row, vector in zip(triaged, vectors, strict=True):
            placement = place(themes, row.id, row.category, row.urgent, vector)
            if placement.gathered and row.card_status == CARD_PENDING:
                to_gather[row.id] = placement.theme
            else:
                to_theme[row.id] = placement.theme
        storms.gather(session, storm.id, to_gather, now)
        storms.set_themes(session, to_theme)
        storm.themes = themes.to_json()
    return storm


# -- triage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """What triage knows of one mention it is about to write."""

    id: int
    account_id: int
    thread_key: str
    created_at: datetime
    storm_id: int | None
    category: str
    urgent: bool


@dataclass(frozen=True)
class Shown:
    storm_id: int | None
    card_status: str
    theme: int | None = None
    repeats: int | None = None
    not_before: datetime | None = None  # the card waits: its thread is warming up


def placements(
    session: Session,
    arrivals: Sequence[Arrival],
    vectors: Sequence[object | None],
    warming: set[tuple[int, str]] | None = None,
    now: datetime | None = None,
) -> dict[int, Shown]:
    """For each mention: its storm (if any), and whether it gets a card or joins the summary; the
    ordinary posts of a thread (or account) that is warming up get a card that waits HOLD."""
    # A mention taken into a storm that has ended before triage reached it keeps its storm for the
    # record, and gets a card of its own.
    shown = {a.id: Shown(a.storm_id, CARD_PENDING) for a in arrivals}
    if warming and now is not None:
        for a in arrivals:
            if (
                not a.urgent
                and a.category != "question"
                and (
                    (a.account_id, a.thread_key) in warming or (a.account_id, storms.ACCOUNT_WIDE) in warming
                )
            ):
                shown[a.id] = Shown(a.storm_id, CARD_PENDING, not_before=now + HOLD)
    current = storms.active(session)
    if not current:
        return shown
    by_scope = {(s.account_id, s.thread_key): s for s in current}
    by_id = {s.id: s for s in current}
    locked: dict[int, tuple[Storm, Themes]] = {}
    for arrival, vector in zip(arrivals, vectors, strict=True):
        storm = _storm_of(arrival, by_id, by_scope)
        if storm is None:
            continue
        if storm.id not in locked:
            row = storms.lock(session, storm.id) or storm
            locked[storm.id] = (row, Themes.from_json(row.themes))
        _, themes = locked[storm.id]
        placement: Placement = place(themes, arrival.id, arrival.category, arrival.urgent, vector)
        status = CARD_SUMMARY if placement.gathered else CARD_PENDING
        shown[arrival.id] = Shown(storm.id, status, placement.theme, placement.repeats)
    for row, themes in locked.values():
        row.themes = themes.to_json()
    return shown


def _storm_of(
    arrival: Arrival, by_id: dict[int, Storm], by_scope: dict[tuple[int, str], Storm]
) -> Storm | None:
    if arrival.storm_id is not None:
        return by_id.get(arrival.storm_id)  # taken in when its storm began; None if it has ended since
    storm = by_scope.get((arrival.account_id, arrival.thread_key)) or by_scope.get(
        (arrival.account_id, storms.ACCOUNT_WIDE)
    )
    if storm is None or arrival.created_at < storm.started_at - WINDOW - EARLIEST:
        return None  # an old post read late is not part of today's storm
    return storm
