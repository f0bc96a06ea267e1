"""Triage: classify new mentions, draft replies, and hand them to the card poster.

A sweep reads a batch of `new` mentions in one short transaction, classifies and drafts them
outside any transaction (no lock is held while the model runs), then, in one more transaction,
claims the rows that are still `new` and writes them in one batch (see `_write`). Two sweeps at
once may both do the work for a row, but only one of them claims it, so every mention is
triaged, audited and carded exactly once. A post the model fails on is shown as "other" with
confidence 0 rather than left unseen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy.orm import Session

import domain
from bot.core.context import Context
from bot.intake.training import current_classifier
from connectors import registry
from handlers.drafts import DraftMaker, PastReply
from handlers.faq import FaqEntry
from handlers.templates import AGENCY_VARIABLES, TemplateSpec, default_pack, shipped
from handlers.urgency import urgent_reason
from storage import audit, faqs, mentions, replies_history, settings, templates
from storage.audit import Action
from storage.corrections import add_correction
from storage.models import NEW, Mention

log = logging.getLogger(__name__)

_Pending = mentions.Untriaged


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


def _classify(ctx: Context, rows: Sequence[_Pending]) -> list[domain.Triage]:
    """Judge a batch at once; replies, and a batch the model fails on, one by one."""

    classifier = current_classifier(ctx)
    plain = [i for i, row in enumerate(rows) if not row.parent_text]
    results: list[domain.Triage | None] = [None] * len(rows)
    try:
        for i, triage in zip(plain, classifier.classify_many([rows[i].text for i in plain]), strict=True):
            results[i] = triage
    except Exception:
        log.exception("classifying a batch of %d mentions failed; classifying them one by one", len(plain))
    for i, row in enumerate(rows):
        if results[i] is None:  # a reply (its parent post is part of what it means), or a retry
            try:
                results[i] = classifier.classify(row.text, row.parent_text)
            except Exception:
                log.exception("classifying mention %d failed; it is shown as 'other'", row.id)
                results[i] = unjudged(row.text, row.parent_text)
    return [r or unjudged(row.text, row.parent_text) for r, row in zip(results, rows, strict=True)]


def _drafts(maker: DraftMaker, row: _Pending, triage: domain.Triage) -> list[domain.Draft]:
    try:
        return maker.make(
            triage=triage,
            text=row.text,
            rules=registry.spec(row.platform).rules,
            author_handle=row.author_handle,
            author_name=row.author_name,
        )
    except Exception:
        log.exception("drafting for mention %d failed; its card has no suggested reply", row.id)
        return []


def triage_pending(ctx: Context, limit: int = 500) -> int:
    """Triage up to `limit` new mentions, oldest first; returns how many this call triaged."""
    now = ctx.clock.now()
    with ctx.transaction() as session:
        rows = mentions.untriaged(session, limit)
        if not rows:
            return 0
        maker = draft_maker(session, now)
    triages = _classify(ctx, rows)
    writes = [
        (row.id, triage, _drafts(maker, row, triage)) for row, triage in zip(rows, triages, strict=True)
    ]

    with ctx.transaction() as session:
        won = _write(session, writes, now)
    if won:
        log.info("triaged %d mentions", won)
    return won


def _write(
    session: Session, writes: Sequence[tuple[int, domain.Triage, list[domain.Draft]]], now: datetime
) -> int:
    """Claim the rows still `new`, write them in one batch and audit them; returns how many.

    The claim is what makes a row triaged once: on PostgreSQL, `FOR UPDATE SKIP LOCKED` leaves
    rows another sweep is writing to that sweep (no waiting, no deadlock); on SQLite the
    transaction already holds the database's write lock (BEGIN IMMEDIATE). The UPDATE keeps its
    `state = 'new'` guard all the same.
    """
    mine = mentions.claim_untriaged(session, [w[0] for w in writes])
    rows = [
        {
            "mention_id": mention_id,
            "category": triage.category,
            "confidence": triage.confidence,
            "urgent": triage.urgent,
            "urgent_reason": triage.urgent_reason,
            "scores": dict(triage.scores),
            "drafts": drafts_json(drafts),
            "triaged_at": now,
        }
        for mention_id, triage, drafts in writes
        if mention_id in mine
    ]
    if not rows:
        return 0
    mentions.write_triage(session, rows)
    for mention_id, triage, _drafts in writes:
        if mention_id in mine:
            audit.record(
                session,
                now,
                Action.TRIAGED,
                mention_id=mention_id,
                category=triage.category,
                confidence=round(triage.confidence, 4),
                urgent=triage.urgent,
            )
    return len(rows)


def reclassify(ctx: Context, mention_id: int, label: str, by: str) -> Mention:
    """Staff set the category: keep it as a labelled example, and redraft for the new category."""
    if label not in domain.CATEGORIES:
        raise ValueError(f"unknown category {label!r}; choose one of {', '.join(domain.CATEGORIES)}")

    now = ctx.clock.now()
    with ctx.transaction() as session:
        mention = mentions.get(session, mention_id, for_update=True)
        if mention is None:
            raise ValueError(f"there is no mention {mention_id}")
        if mention.state == NEW:
            raise ValueError(f"mention {mention_id} has not been triaged yet")
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
    )
