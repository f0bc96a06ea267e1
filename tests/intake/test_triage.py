"""The triage step on a real database: classify, draft, open, exactly once; and Reclassify."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import bot.intake.triage
import domain
from bot.core.context import Context
from bot.intake.training import current_classifier
from bot.intake.triage import reclassify, redraft, triage_pending
from connectors import registry
from handlers.text import fits
from storage import faqs, settings
from storage.models import (
    CARD_PENDING,
    NEW,
    OPEN,
    REPLIED,
    REPLY_SENT,
    Account,
    AuditEvent,
    Correction,
    Mention,
    Reply,
)
from tests.conftest import FakeClock

AGENCY = {
    "agency_name": "Springfield Police Department",
    "phone": "(555) 010-2000",
    "website": "https://springfield.example.gov",
    "records_url": "https://springfield.example.gov/records",
}
POSTS = [
    ("x", "Thank you to the officers who helped me change my tire on the highway tonight!", None),
    ("x", "How do I get a copy of a police report for my insurance?", None),
    ("facebook", "Nobody answered when I called about the break-in. Useless department.", None),
    ("facebook", "Same here, they never call back", "Anyone else waiting weeks for a callback?"),
    ("x", "Someone is breaking into cars on Elm St right now, please send help", None),
    ("x", "lol ok", None),
]


_ids = itertools.count(1000)


def add_account(ctx: Context, platform: str = "x") -> int:
    with ctx.transaction() as session:
        found = session.scalar(select(Account.id).where(Account.platform == platform))
        if found is not None:
            return found
        account = Account(
            platform=platform,
            external_id=f"acct-{platform}",
            handle="SpringfieldPD",
            created_at=ctx.clock.now(),
        )
        session.add(account)
        session.flush()
        return account.id


def add_mentions(ctx: Context, posts: list[tuple[str, str, str | None]], state: str = NEW) -> list[int]:
    accounts = {p: add_account(ctx, p) for p in {platform for platform, _, _ in posts}}
    ids = []
    with ctx.transaction() as session:
        for n, (platform, text, parent) in enumerate(posts):
            mention = Mention(
                account_id=accounts[platform],
                platform=platform,
                external_id=f"{platform}-{next(_ids)}",
                author_id=f"user-{n}",
                author_handle=f"neighbor{n}",
                author_name=f"Neighbor {n}",
                text=text,
                parent_text=parent,
                created_at=ctx.clock.now() - timedelta(minutes=5),
                ingested_at=ctx.clock.now(),
                state=state,
            )
            session.add(mention)
            session.flush()
            ids.append(mention.id)
    return ids


def set_agency(ctx: Context) -> None:
    with ctx.transaction() as session:
        for key, value in AGENCY.items():
            settings.put(session, key, value, "UADMIN", ctx.clock.now())


def load(ctx: Context, mention_id: int) -> Mention:
    with ctx.transaction() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        return mention


def audit_of(ctx: Context, action: str) -> list[AuditEvent]:
    with ctx.transaction() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def test_triage_classifies_drafts_and_opens_every_new_mention(ctx: Context, clock: FakeClock) -> None:
    set_agency(ctx)
    ids = add_mentions(ctx, POSTS)
    clock.advance(minutes=1)
    assert triage_pending(ctx) == len(POSTS)
    classifier = current_classifier(ctx)
    for mention_id, (platform, text, parent) in zip(ids, POSTS, strict=True):
        mention = load(ctx, mention_id)
        expected = classifier.classify(text, parent)
        assert (mention.state, mention.card_status, mention.triaged_at) == (OPEN, CARD_PENDING, clock.now())
        assert (mention.category, mention.urgent) == (expected.category, expected.urgent)
        assert mention.confidence == pytest.approx(expected.confidence)
        assert mention.urgent_reason == expected.urgent_reason
        assert mention.scores == pytest.approx(dict(expected.scores))
        assert mention.drafts is not None
        items = mention.drafts["items"]
        assert 1 <= len(items) <= 3
        for item in items:
            assert set(item) == {"text", "source", "key", "match", "score"}
            assert fits(item["text"], registry.spec(platform).rules)
            assert "{" not in item["text"]
        if mention.urgent:
            assert all(item["text"].startswith("If this is an emergency, call 911 now.") for item in items)
    events = audit_of(ctx, "triaged")
    assert [e.mention_id for e in events] == ids[::-1]  # newest first
    assert events[0].details.keys() == {"category", "confidence", "urgent"}
    assert triage_pending(ctx) == 0


def test_only_new_mentions_are_triaged_newest_first_up_to_the_limit(ctx: Context) -> None:
    done = add_mentions(ctx, [("x", "Already handled, thanks", None)], state=OPEN)
    ids = add_mentions(ctx, [("x", f"Question number {n}: when is the lobby open?", None) for n in range(5)])
    assert triage_pending(ctx, limit=3) == 3
    assert [load(ctx, i).state for i in ids] == [NEW, NEW, OPEN, OPEN, OPEN]
    assert load(ctx, done[0]).category is None  # not touched
    assert triage_pending(ctx, limit=3) == 2
    assert len(audit_of(ctx, "triaged")) == 5


def test_an_faq_and_the_agency_phone_reach_the_drafts(ctx: Context) -> None:
    set_agency(ctx)
    with ctx.transaction() as session:
        faqs.add(
            session,
            "How do I get a copy of a police report?",
            "Request it online at {records_url}.",
            "UADMIN",
            ctx.clock.now(),
        )
    [mention_id] = add_mentions(
        ctx, [("x", "how can I get a copy of the police report from my crash?", None)]
    )
    triage_pending(ctx)
    mention = reclassify(ctx, mention_id, "question", by="UOFFICER")
    first = mention.drafts["items"][0]  # type: ignore[index]
    assert first["source"] == "faq"
    assert first["text"] == "@neighbor0 Request it online at https://springfield.example.gov/records."
    assert first["match"] == "How do I get a copy of a police report?"
    texts = " ".join(item["text"] for item in mention.drafts["items"])  # type: ignore[index]
    assert "https://springfield.example.gov/records" in texts


def test_two_sweeps_at_once_triage_each_mention_exactly_once(ctx: Context) -> None:
    ids = add_mentions(ctx, [("x", f"Post {n}: thanks for the help on Main St", None) for n in range(240)])
    current_classifier(ctx)  # load once, so both threads start on equal terms
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            counts.append(triage_pending(ctx, limit=1000))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(counts) == len(ids)
    events = audit_of(ctx, "triaged")
    assert sorted(e.mention_id for e in events if e.mention_id is not None) == ids
    with ctx.transaction() as session:
        assert session.scalar(select(func.count()).where(Mention.state == NEW)) == 0


def test_reclassify_stores_a_labelled_example_and_redrafts(ctx: Context, clock: FakeClock) -> None:
    set_agency(ctx)
    [mention_id] = add_mentions(
        ctx, [("x", "Great job as always, only took you three hours to show up", None)]
    )
    triage_pending(ctx)
    before = load(ctx, mention_id)
    clock.advance(minutes=3)
    mention = reclassify(ctx, mention_id, "criticism", by="UOFFICER")
    assert (mention.category, mention.confidence) == ("criticism", 1.0)
    assert mention.drafts is not None
    assert mention.drafts["category_set_by"] == "UOFFICER"
    items = mention.drafts["items"]
    assert items[0]["key"].startswith("criticism.")
    assert all("thank" not in item["text"].lower() for item in items)
    with ctx.transaction() as session:
        correction = session.scalars(select(Correction)).one()
        assert (correction.mention_id, correction.text, correction.label) == (
            mention_id,
            before.text,
            "criticism",
        )
        assert (correction.previous_label, correction.urgent) == (before.category, before.urgent)
        assert (correction.corrected_by, correction.created_at) == ("UOFFICER", clock.now())
    [event] = audit_of(ctx, "reclassified")
    assert (event.actor, event.mention_id, event.details) == (
        "UOFFICER",
        mention_id,
        {"from": before.category, "to": "criticism"},
    )
    assert load(ctx, mention_id).category == "criticism"

    again = reclassify(ctx, mention_id, "compliment", by="USUPER")
    assert again.drafts is not None
    assert all("thank" in item["text"].lower() for item in again.drafts["items"])
    with ctx.transaction() as session:
        labels = list(session.scalars(select(Correction.previous_label).order_by(Correction.id)))
    assert labels == [before.category, "criticism"]


@pytest.mark.parametrize(
    ("label", "message"), [("praise", "unknown category"), ("urgent", "unknown category")]
)
def test_reclassify_refuses_unknown_labels_and_changes_nothing(
    ctx: Context, label: str, message: str
) -> None:
    [mention_id] = add_mentions(ctx, [("x", "Thanks for the help", None)])
    triage_pending(ctx)
    before = load(ctx, mention_id)
    with pytest.raises(ValueError, match=message):
        reclassify(ctx, mention_id, label, by="UOFFICER")
    after = load(ctx, mention_id)
    assert (after.category, after.drafts) == (before.category, before.drafts)
    with ctx.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Correction)) == 0
    assert audit_of(ctx, "reclassified") == []


def test_reclassify_refuses_missing_and_untriaged_mentions(ctx: Context) -> None:
    [mention_id] = add_mentions(ctx, [("x", "Thanks for the help", None)])
    with pytest.raises(ValueError, match="not been triaged"):
        reclassify(ctx, mention_id, "compliment", by="UOFFICER")
    with pytest.raises(ValueError, match="no mention 9999"):
        reclassify(ctx, 9999, "compliment", by="UOFFICER")


def test_a_reply_the_agency_sent_before_is_offered_for_a_similar_post(ctx: Context, clock: FakeClock) -> None:
    [old_id] = add_mentions(
        ctx, [("x", "Huge thanks to the officers who helped me change my tire on the highway", None)]
    )
    triage_pending(ctx)
    reclassify(ctx, old_id, "compliment", by="UOFFICER")
    with ctx.transaction() as session:
        old = session.get(Mention, old_id)
        assert old is not None
        old.state, old.reply_status = REPLIED, REPLY_SENT
        session.add(
            Reply(
                mention_id=old_id,
                text="@neighbor0 Thank you, Neighbor 0! We'll pass this along to the team.",
                status=REPLY_SENT,
                requested_by="UOFFICER",
                requested_at=clock.now(),
                completed_at=clock.now(),
                external_id="999",
            )
        )
    [new_id] = add_mentions(
        ctx, [("x", "Huge thanks to the officers who helped me change a tire today", None)]
    )
    triage_pending(ctx)
    mention = reclassify(ctx, new_id, "compliment", by="UOFFICER")
    first = mention.drafts["items"][0]  # type: ignore[index]
    assert first["source"] == "history"
    assert first["text"] == (
        f"@{mention.author_handle} Thank you, {mention.author_name}! We'll pass this along to the team."
    )


def test_redraft_uses_settings_changed_since_triage(ctx: Context) -> None:
    [mention_id] = add_mentions(ctx, [("x", "Your officers were rude and I want answers", None)])
    triage_pending(ctx)
    reclassify(ctx, mention_id, "criticism", by="UOFFICER")
    assert "(555) 010-2000" not in str(load(ctx, mention_id).drafts)
    set_agency(ctx)
    mention = redraft(ctx, mention_id)
    assert "(555) 010-2000" in str(mention.drafts)
    assert mention.drafts is not None
    assert mention.drafts["category_set_by"] == "UOFFICER"


class _BrittleClassifier:
    """A model that fails on one post, and on any batch holding it."""

    def classify(self, text: str, parent_text: str | None = None) -> domain.Triage:
        if "boom" in text:
            raise RuntimeError("model failure")
        return domain.Triage(category="question", confidence=0.8)

    def classify_many(self, texts: list[str]) -> list[domain.Triage]:
        return [self.classify(text) for text in texts]


def test_a_post_the_model_fails_on_is_still_shown_and_urgency_still_checked(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.intake.triage, "current_classifier", lambda _ctx: _BrittleClassifier())
    ids = add_mentions(
        ctx,
        [
            ("x", "When is the lobby open?", None),
            ("x", "boom: someone is breaking into my house right now", None),
        ],
    )
    assert triage_pending(ctx) == 2
    fine, failed = load(ctx, ids[0]), load(ctx, ids[1])
    assert (fine.category, fine.confidence) == ("question", 0.8)
    assert (failed.state, failed.category, failed.confidence) == (OPEN, "other", 0.0)
    assert failed.urgent is True
    assert failed.drafts is not None
    assert failed.drafts["items"][0]["text"].startswith("If this is an emergency, call 911 now.")


def test_a_backlog_is_triaged_in_chunks_and_each_chunk_is_handed_on_at_once(ctx: Context) -> None:
    """The card poster is woken after every chunk instead of after the whole backlog."""
    ids = add_mentions(ctx, [("x", f"Question {n}: is the lobby open on Sunday?", None) for n in range(250)])
    opened: list[int] = []

    def handed_on() -> None:
        with ctx.transaction() as session:
            opened.append(
                session.scalar(select(func.count()).select_from(Mention).where(Mention.state == OPEN)) or 0
            )

    assert triage_pending(ctx, after_chunk=handed_on) == 250
    assert opened == [100, 200, 250]
    assert load(ctx, ids[-1]).triaged_at is not None
