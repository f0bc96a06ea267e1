"""Triage: classify new mentions, draft replies, and hand them to the card poster.

A sweep reads a chunk of `new` mentions (newest first) in one short transaction, classifies and
drafts them outside any transaction (no lock is held while the model runs), then, in one more
transaction, claims the rows that are still `new` and writes them in one batch (see `_write`).
Two sweeps at once may both do the work for a row, but only one of them claims it, so every
mention is triaged, audited and carded exactly once. A post the model fails on is shown as "other" with
confidence 0 rather than left unseen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.orm import Session

import domain
from bot.core.context import Context
from bot.intake.storms import Arrival, placements, watch
from bot.intake.training import current_classifier
from connectors import registry
from handlers.classifier import Classifier
from handlers.drafts import DraftMaker, PastReply
from handlers.faq import FaqEntry
from handlers.templates import AGENCY_VARIABLES, TemplateSpec, default_pack, shipped
from handlers.urgency import urgent_reason
from storage import audit, faqs, mentions, replies_history, settings, storms, templates
from storage.audit import Action
from storage.corrections import add_correction
from storage.models import CARD_PENDING, CARD_SUMMARY, NEW, OPEN, REPLY_FAILED, REPLY_NONE, Mention

log = logging.getLogger(__name__)

_Pending = mentions.Untriaged
CHUNK = 100  # mentions judged and written at a time; their cards go out while the next are judged


def agency_variables(session: Session) -> dict[str, str]:
    """The agency placeholders admins set with `/twoway set` (unset ones are left out)."""
    values = settings.get_many(session)
    return {name: str(values[name]) for name in AGENCY_VARIABLES if values.get(name)}


def template_specs(session: Session, now: datetime) -> list[TemplateSpec]:
    """The enabled templates, with the shipped pack seeded first (idempotent); shipped rows an
    older release had and this one does not are skipped (their hints are gone with them)."""
    pack = default_pack()
    templates.seed_builtin(session, [(s.key, s.category, s.text) for s in pack], now)
    return [
        shipped(row.builtin_key, row.category, row.text, f"custom-{row.id}")
        for row in templates.list_templates(session, shipped_keys={s.key for s in pack})
    ]


def draft_maker(session: Session, now: datetime, exclude_mention: int | None = None) -> DraftMaker:
    """Everything drafting needs, read once: templates, FAQs, earlier replies and settings."""
    history = [
        PastReply(
            id=r.reply_id,
            text=r.text,
            mention_text=r.mention_text,
            category=r.category,
            author_handle=r.author_handle,
            author_name=r.author_name,
            mention_id=r.mention_id,
        )
        for r in replies_history.recent_sent(session)
        if r.mention_id != exclude_mention
    ]
    return DraftMaker(
        variables=agency_variables(session),
        templates=template_specs(session, now),
        faqs=[FaqEntry(f.id, f.question, f.answer) for f in faqs.list_faqs(session)],
        history=history,
    )


def drafts_json(drafts: Sequence[domain.Draft], **extra: Any) -> dict[str, Any]:
    return {"items": [asdict(d) for d in drafts], **extra}


def unjudged(text: str, parent_text: str | None) -> domain.Triage:
    """What a mention gets when the classifier fails on it: shown to staff rather than stuck
    unseen, with the urgency rules still applied when they can be."""
    try:
        reason = urgent_reason(text, parent_text)
    except Exception:
        log.exception("the urgency rules failed too")
        reason = None
    return domain.Triage(category="other", confidence=0.0, urgent=reason is not None, urgent_reason=reason)


def _classify(ctx: Context, rows: Sequence[_Pending]) -> tuple[list[domain.Triage], list[Any]]:
    """Judge a batch at once, replies with the post they answer; a batch the model fails on, one
    by one. Also the sentence vector of each post (None where it could not be had), which storms
    group into themes."""
    classifier = current_classifier(ctx)
    results: list[domain.Triage | None] = [None] * len(rows)
    vectors: list[Any] = [None] * len(rows)
    try:
        judged = classifier.judge([row.text for row in rows], [row.parent_text for row in rows])
        results = list(judged.triages)
        vectors = list(judged.vectors)
    except Exception:
        log.exception("classifying a batch of %d mentions failed; classifying them one by one", len(rows))
        try:
            vectors = list(classifier.vectors([row.text for row in rows]))
        except Exception:
            log.warning("no sentence vectors for this batch; storm themes leave it out")
    for i, row in enumerate(rows):
        if results[i] is None:
            try:
                results[i] = classifier.classify(row.text, row.parent_text)
            except Exception:
                log.exception("classifying mention %d failed; it is shown as 'other'", row.id)
                results[i] = unjudged(row.text, row.parent_text)
    triages = [r or unjudged(row.text, row.parent_text) for r, row in zip(results, rows, strict=True)]
    return triages, vectors


def _drafts(maker: DraftMaker, row: _Pending, triage: domain.Triage) -> list[domain.Draft]:
    try:
        return maker.make(
            triage=triage,
            text=row.text,
            rules=registry.spec(row.platform).rules,
            author_handle=row.author_handle,
            author_name=row.author_name,
            in_thread=domain.in_thread(row.parent_id, row.thread),
        )
    except Exception:
        log.exception("drafting for mention %d failed; its card has no suggested reply", row.id)
        return []


def triage_pending(ctx: Context, limit: int = 500, after_chunk: Callable[[], object] | None = None) -> int:
    """Triage up to `limit` new mentions, newest first, CHUNK at a time; returns how many.

    Each chunk is written (and its cards can go out) before the next is judged, so the cards of a
    backlog do not wait for the whole backlog; `after_chunk` is told each time (it wakes the card
    poster). Storms are watched before each chunk, so a burst is recognised before its posts
    reach the channel one by one.
    """
    done = 0
    while done < limit:
        warming: set[tuple[int, str]] = set()
        try:
            warming = watch(ctx).warming
        except Exception:
            log.exception("storm detection failed; triage goes on without it")
        size = min(CHUNK, limit - done)
        won, read = _triage_chunk(ctx, size, warming)
        done += won
        if won and after_chunk is not None:
            after_chunk()
        if read < size or won == 0:  # nothing more, or another sweep is writing these
            break
    if done:
        log.info("triaged %d mentions", done)
    return done


def _triage_chunk(ctx: Context, size: int, warming: set[tuple[int, str]]) -> tuple[int, int]:
    """(mentions this call triaged, mentions it read)."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        rows = mentions.untriaged(session, size)
        if not rows:
            return 0, 0
        maker = draft_maker(session, now)
    triages, vectors = _classify(ctx, rows)
    writes = [
        _Judgement(row, triage, _drafts(maker, row, triage), vector)
        for row, triage, vector in zip(rows, triages, vectors, strict=True)
    ]
    with ctx.transaction() as session:
        # Stamped when written, not when read: a summary card drawn while the model ran did not
        # count these posts, and "dismiss the rest" on it reaches only posts triaged before it.
        won = _write(session, writes, ctx.clock.now(), warming)
    return won, len(rows)


@dataclass(frozen=True)
class _Judgement:
    row: _Pending
    triage: domain.Triage
    drafts: list[domain.Draft]
    vector: Any


def _write(
    session: Session, writes: Sequence[_Judgement], now: datetime, warming: set[tuple[int, str]] | None = None
) -> int:
    """Claim the rows still `new`, write them in one batch and audit them; returns how many.

    The claim is what makes a row triaged once: on PostgreSQL, `FOR UPDATE SKIP LOCKED` leaves
    rows another sweep is writing to that sweep (no waiting, no deadlock); on SQLite the
    transaction already holds the database's write lock (BEGIN IMMEDIATE). The UPDATE keeps its
    `state = 'new'` guard all the same. In a storm, where each mention is shown (its own card or
    the storm's summary card) is decided here, under the storm row's lock.
    """
    mine = mentions.claim_untriaged(session, [w.row.id for w in writes])
    writes = [w for w in writes if w.row.id in mine]
    if not writes:
        return 0
    arrivals = [
        Arrival(
            id=w.row.id,
            account_id=w.row.account_id,
            thread_key=str(w.row[7]),
            created_at=w.row.created_at,
            storm_id=w.row.storm_id,
            category=w.triage.category,
            urgent=w.triage.urgent,
        )
        for w in writes
    ]
    shown = placements(session, arrivals, [w.vector for w in writes], warming, now)
    rows = [
        {
            "mention_id": w.row.id,
            "category": w.triage.category,
            "confidence": w.triage.confidence,
            "urgent": w.triage.urgent,
            "urgent_reason": w.triage.urgent_reason,
            "scores": dict(w.triage.scores),
            "drafts": drafts_json(w.drafts),
            "triaged_at": now,
            "card_status": shown[w.row.id].card_status,
            "storm_id": shown[w.row.id].storm_id,
            "storm_theme": shown[w.row.id].theme,
            "card_not_before": shown[w.row.id].not_before,
        }
        for w in writes
    ]
    mentions.write_triage(session, rows)
    for w in writes:
        where = shown[w.row.id]
        extra: dict[str, Any] = {}
        if where.storm_id is not None:
            extra = {
                "storm_id": where.storm_id,
                "card": "summary" if where.card_status == CARD_SUMMARY else "own",
            }
            if where.repeats is not None:
                extra["asks_again"] = where.repeats
        audit.record(
            session,
            now,
            Action.TRIAGED,
            mention_id=w.row.id,
            category=w.triage.category,
            confidence=round(w.triage.confidence, 4),
            urgent=w.triage.urgent,
            **extra,
        )
    for storm_id in {s.storm_id for s in shown.values() if s.storm_id is not None}:
        storms.touch(session, storm_id)
    return len(rows)


class CategoryChanged(Exception):
    """The category is no longer the one the officer's card showed: someone reclassified first."""


def reclassify(ctx: Context, mention_id: int, label: str, by: str, shown: str | None = None) -> Mention:
    """Staff set the category: keep it as a labelled example, and redraft for the new category.

    `shown` is the category the officer's card showed ("" for none; None when unknown): if it
    changed meanwhile, CategoryChanged is raised under the row lock and nothing is changed, so of
    two officers reclassifying at once the second never overrides a change they did not see."""
    if label not in domain.CATEGORIES:
        raise ValueError(f"unknown category {label!r}; choose one of {', '.join(domain.CATEGORIES)}")

    now = ctx.clock.now()
    with ctx.transaction() as session:
        mention = mentions.get(session, mention_id, for_update=True)
        if mention is None:
            raise ValueError(f"there is no mention {mention_id}")
        if mention.state == NEW:
            raise ValueError(f"mention {mention_id} has not been triaged yet")
        if shown is not None and (mention.category or "") != shown:
            raise CategoryChanged(mention_id)
        previous = mention.category
        add_correction(
            session,
            mention_id=mention.id,
            text=mention.text,
            label=label,
            previous_label=previous,
            urgent=mention.urgent,
            by=by,
            now=now,
        )
        # Staff decided: no "torn between categories" hedging in the drafts.
        triage = domain.Triage(
            category=label,
            confidence=1.0,
            urgent=mention.urgent,
            urgent_reason=mention.urgent_reason,
            scores={label: 1.0},
        )
        drafts = _drafts_for(session, mention, triage, now)
        mention.category, mention.confidence = label, 1.0
        mention.drafts = drafts_json(drafts, category_set_by=by)
        change: dict[str, Any] = {"from": previous, "to": label}
        audit.record(session, now, Action.RECLASSIFIED, actor=by, mention_id=mention.id, **change)
    return mention


def redraft(ctx: Context, mention_id: int) -> Mention:
    """Draft again with today's templates, FAQs and settings (after an admin changed them)."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        mention = mentions.get(session, mention_id, for_update=True)
        if mention is None or mention.state == NEW or mention.category is None:
            raise ValueError(f"mention {mention_id} has not been triaged yet")
        staff_set = (mention.drafts or {}).get("category_set_by")
        triage = domain.Triage(
            category=cast(domain.Category, mention.category),
            confidence=mention.confidence or 0.0,
            urgent=mention.urgent,
            urgent_reason=mention.urgent_reason,
            scores={mention.category: 1.0} if staff_set else dict(mention.scores or {}),
        )
        drafts = _drafts_for(session, mention, triage, now)
        extra = {"category_set_by": staff_set} if staff_set else {}
        mention.drafts = drafts_json(drafts, **extra)
    return mention


def _drafts_for(
    session: Session, mention: Mention, triage: domain.Triage, now: datetime
) -> list[domain.Draft]:
    maker = draft_maker(session, now, exclude_mention=mention.id)
    return maker.make(
        triage=triage,
        text=mention.text,
        rules=registry.spec(mention.platform).rules,
        author_handle=mention.author_handle,
        author_name=mention.author_name,
        in_thread=domain.in_thread(mention.parent_id, mention.conversation_id or mention.external_id),
    )


EDIT_WINDOW = timedelta(days=2)  # edits older than this when first seen are left to the audit trail


@dataclass(frozen=True)
class Retriaged:
    """An edited item read again: its card needs a redraw, and a new urgency a word in the channel."""

    mention_id: int
    became_urgent: bool
    reason: str | None


def retriage_edited(ctx: Context, limit: int = 50) -> list[Retriaged]:
    """Read again what authors edited after triage, so the card shows and judges the words people
    now see: an answered question edited into "a man with a gun is outside right now" must not keep
    its old category and drafts.

    Only an open item whose reply is not going out is judged again (a category staff set stays; a
    flag is never taken away by an edit); every other edited item just gets its card redrawn.
    Each is marked `retriaged` in the audit trail, so it is read once per edit.
    """
    now = ctx.clock.now()
    with ctx.transaction() as session:
        ids = mentions.edited_since_judged(session, now - EDIT_WINDOW, limit)
    if not ids:
        return []
    classifier = current_classifier(ctx)
    done: list[Retriaged] = []
    for mention_id in ids:
        with ctx.transaction() as session:
            mention = mentions.get(session, mention_id, for_update=True)
            if mention is None:
                continue
            before = (mention.category, mention.urgent)
            judged = mention.state == OPEN and mention.reply_status in (REPLY_NONE, REPLY_FAILED)
            if judged:
                _judge_again(session, classifier, mention, now)
            audit.record(
                session,
                now,
                Action.RETRIAGED,
                mention_id=mention_id,
                judged=judged,
                category=mention.category,
                previous_category=before[0],
                urgent=mention.urgent,
            )
            done.append(Retriaged(mention_id, mention.urgent and not before[1], mention.urgent_reason))
    return done


def _judge_again(session: Session, classifier: Classifier, mention: Mention, now: datetime) -> None:
    try:
        triage = classifier.classify(mention.text, mention.parent_text)
    except Exception:
        log.exception(
            "classifying the edited mention %d failed; the urgency rules alone judge it", mention.id
        )
        triage = unjudged(mention.text, mention.parent_text)
    staff_set = (mention.drafts or {}).get("category_set_by")
    if staff_set:  # staff decided the category; the edit only adds urgency
        triage = domain.Triage(
            category=cast(domain.Category, mention.category),
            confidence=1.0,
            urgent=triage.urgent,
            urgent_reason=triage.urgent_reason,
            scores={str(mention.category): 1.0},
        )
    if mention.urgent and not triage.urgent:  # an edit never takes a flag away
        triage = domain.Triage(
            category=triage.category,
            confidence=triage.confidence,
            urgent=True,
            urgent_reason=mention.urgent_reason,
            scores=triage.scores,
        )
    if triage.urgent and not mention.urgent and mention.card_status == CARD_SUMMARY:
        # In a storm urgent posts have cards of their own, first: out of the summary, into the queue.
        mention.card_status = CARD_PENDING
    if mention.storm_id is not None:
        storms.touch(session, mention.storm_id)
    mention.category, mention.confidence = triage.category, triage.confidence
    mention.urgent, mention.urgent_reason = triage.urgent, triage.urgent_reason
    if not staff_set:
        mention.scores = dict(triage.scores)
    extra = {"category_set_by": staff_set} if staff_set else {}
    mention.drafts = drafts_json(_drafts_for(session, mention, triage, now), **extra)
