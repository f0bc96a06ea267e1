"""Learning from staff corrections: stored, retrained, kept only when not worse, and used by triage."""

from __future__ import annotations

import json
import logging
import zlib

import pytest
from sqlalchemy import select

import handlers.adapt
from bot.core.context import Context
from bot.intake.training import current_classifier, retrain, scheduled_retrain
from domain import CATEGORIES
from handlers import embeddings
from handlers.adapt import MIN_CORRECTIONS, learn
from handlers.classifier import Classifier, base_examples, fit, load_default, train_agency
from storage import classifiers as models
from storage.corrections import add_correction, count_corrections, list_corrections
from storage.models import AuditEvent, ClassifierModel
from tests.conftest import FIT_TIMEOUT, FakeClock

# This agency answers parking-ticket complaints with the appeal process, so staff file them as
# questions; the shipped model reads most of them as criticism or other.
PARKING = [
    "This parking ticket on Main St is a scam, I was there five minutes",
    "Got a parking ticket outside my own house, this is ridiculous",
    "$75 parking ticket for a sign nobody can read. Unreal",
    "Another parking ticket on my street for street sweeping that never happens. Joke",
    "Parking tickets on Sunday now? Greedy",
    "Ticketed for parking in front of my own driveway. Ridiculous",
    "Your parking enforcement guy gave me a ticket while I was unloading groceries, come on",
    "Parking ticket again on Figueroa, the meter was broken. Absurd",
    "Why do I keep getting parking tickets when the signs are covered by trees? Ridiculous",
    "Parking tickets everywhere in Venice today, what a money grab",
    "Ticket for parking 2 minutes late at the meter. Seriously?",
    "The parking ticket I got yesterday is wrong, the plate number isn't even mine. Terrible",
]
LOCAL = [(t, "question") for t in PARKING] + [
    ("Thank you officers for the quick help tonight", "compliment"),
    ("How do I request a copy of a report?", "question"),
    ("You people never answer the phone", "criticism"),
    ("The mayor is a joke", "other"),
]
UNSEEN_PARKING = "Parking ticket while my hazards were on and the ticket has the wrong street on it. Unreal"

CLEAR = [
    ("Thank you so much officers, you were wonderful", "compliment"),
    ("Great job catching the car thief!", "compliment"),
    ("Congrats on the promotion Captain!", "compliment"),
    ("Appreciate your help today officer", "compliment"),
    ("How do I get my impounded car back?", "question"),
    ("Where can I file a report for a stolen phone?", "question"),
    ("Is the 10 freeway still closed?", "question"),
    ("Who do I call about illegal dumping?", "question"),
    ("Useless department, never show up", "criticism"),
    ("You guys are a joke, nobody came", "criticism"),
    ("Where were you when my store got robbed", "criticism"),
    ("Disgraceful behavior by your officers", "criticism"),
    ("The mayor should resign", "other"),
    ("BREAKING: crash on the 405 https://t.co/a", "other"),
    ("lol this thread", "other"),
    ("Go Dodgers!", "other"),
]


def contradictory() -> list[tuple[str, str]]:
    """Careless clicks: each post is corrected right once, and a near-copy of it wrongly."""
    examples = []
    for i, (text, label) in enumerate(CLEAR):
        wrong = CATEGORIES[(CATEGORIES.index(label) + 1 + i % 3) % 4]
        examples += [(text, label), (text + " !!", wrong)]
    return examples


def store(ctx: Context, clock: FakeClock, examples: list[tuple[str, str]], by: str = "U1") -> None:
    with ctx.transaction() as session:
        for text, label in examples:
            add_correction(
                session,
                mention_id=None,
                text=text,
                label=label,
                previous_label="criticism",
                urgent=False,
                by=by,
                now=clock.now(),
            )
            clock.advance(seconds=1)


def test_corrections_are_stored_and_listed_oldest_first(ctx: Context, clock: FakeClock) -> None:
    store(ctx, clock, LOCAL[:3], by="U42")
    with ctx.transaction() as session:
        rows = list_corrections(session)
        assert count_corrections(session) == 3
    assert [(r.text, r.label) for r in rows] == LOCAL[:3]
    assert {r.corrected_by for r in rows} == {"U42"}
    assert rows[0].created_at < rows[2].created_at
    assert rows[0].previous_label == "criticism"
    assert rows[0].urgent is False


def test_an_unknown_label_is_refused(ctx: Context, clock: FakeClock) -> None:
    with ctx.transaction() as session, pytest.raises(ValueError, match="unknown category 'praise'"):
        add_correction(
            session,
            mention_id=None,
            text="x",
            label="praise",
            previous_label=None,
            urgent=None,
            by="U1",
            now=clock.now(),
        )


def test_consistent_corrections_are_learnt_and_used(ctx: Context, clock: FakeClock) -> None:
    assert load_default().classify(UNSEEN_PARKING).category != "question"
    store(ctx, clock, LOCAL)
    result = retrain(ctx)
    assert result.accepted
    assert result.n_corrections == len(LOCAL)
    assert result.heldback_after is not None
    assert result.heldback_before is not None
    assert result.heldback_after >= result.heldback_before
    assert "accepted" in result.line()
    with ctx.transaction() as session:
        active = models.active_model(session)
        assert active is not None
        assert active.id == result.model_id
        assert active.n_examples == len(LOCAL)  # the labels the agency layer learnt from
        assert active.metrics["accepted"] is True
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "model_trained")))
    assert len(events) == 1
    assert events[0].details["model_id"] == result.model_id
    assert events[0].details["n_corrections"] == len(LOCAL)
    assert current_classifier(ctx).classify(UNSEEN_PARKING).category == "question"
    # Sixteen labels about parking tickets leave every other kind of post as the shipped model
    # read it (right for all but one of these: "Great job catching the car thief!" is read as
    # criticism, unsure, by the thirteenth round's model).
    texts = [t for t, _ in CLEAR]
    as_shipped = [t.category for t in load_default().classify_many(texts)]
    assert [t.category for t in current_classifier(ctx).classify_many(texts)] == as_shipped
    assert sum(got == want for got, (_, want) in zip(as_shipped, CLEAR, strict=True)) >= len(CLEAR) - 1


def test_contradictory_corrections_are_rejected_and_the_shipped_model_stays(
    ctx: Context, clock: FakeClock
) -> None:
    store(ctx, clock, contradictory())
    result = retrain(ctx)
    assert not result.accepted
    assert result.heldback_after is not None
    assert result.heldback_before is not None
    assert result.heldback_after < result.heldback_before
    assert "kept the current model" in result.line()
    with ctx.transaction() as session:
        assert models.active_model(session) is None
        attempt = session.get(ClassifierModel, result.model_id)
        assert attempt is not None
        assert attempt.active is False
        assert attempt.metrics["accepted"] is False
    assert current_classifier(ctx) is load_default()


def test_a_rejected_attempt_does_not_retire_the_active_model(ctx: Context, clock: FakeClock) -> None:
    """Careless clicks are rejected; the model in use, which still files the new parking
    complaints as staff do, holds up on those later labels and stays."""
    store(ctx, clock, LOCAL)
    good = retrain(ctx)
    later_parking = [
        ("Parking ticket at the beach lot even though I paid the app. Scam", "question"),
        ("Ticket for parking near the school at 6am, nobody was even there. Ridiculous", "question"),
    ]
    store(ctx, clock, contradictory() + later_parking)
    bad = retrain(ctx)
    assert good.accepted
    assert not bad.accepted
    assert "still holds up" in bad.reason
    with ctx.transaction() as session:
        active = models.active_model(session)
        assert active is not None
        assert active.id == good.model_id


def test_too_few_corrections_are_not_learnt() -> None:
    adaptation = learn(LOCAL[: MIN_CORRECTIONS - 1])
    assert not adaptation.accepted
    assert adaptation.model is None
    assert "at least" in adaptation.reason


def test_the_latest_label_for_a_text_wins() -> None:
    from handlers.adapt import unique

    assert unique([("a", "other"), ("b", "question"), (" a ", "criticism")]) == [
        ("a", "criticism"),
        ("b", "question"),
    ]


def test_scheduled_retrain_runs_only_when_new_corrections_exist(ctx: Context, clock: FakeClock) -> None:
    def attempts() -> int:
        with ctx.transaction() as session:
            return len(list(session.scalars(select(ClassifierModel.id))))

    scheduled_retrain(ctx)
    assert attempts() == 0
    store(ctx, clock, LOCAL)
    scheduled_retrain(ctx)
    assert attempts() == 1
    scheduled_retrain(ctx)
    assert attempts() == 1
    store(ctx, clock, [("Where is the lost and found?", "question")])
    scheduled_retrain(ctx)
    assert attempts() == 2


def test_current_classifier_is_cached_until_a_newer_model_is_active(ctx: Context, clock: FakeClock) -> None:
    first = current_classifier(ctx)
    assert first is load_default()
    assert current_classifier(ctx) is first
    store(ctx, clock, LOCAL)
    assert retrain(ctx).accepted
    second = current_classifier(ctx)
    assert second is not first
    assert current_classifier(ctx) is second


def test_an_unreadable_stored_model_falls_back_to_the_shipped_one(
    ctx: Context, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with ctx.transaction() as session:
        models.save_model(session, blob=b"garbage", metrics={}, n_examples=1, active=True, now=clock.now())
    with caplog.at_level(logging.WARNING, logger="bot.intake.training"):
        assert current_classifier(ctx) is load_default()
    assert "cannot be loaded" in caplog.text


def test_an_active_model_this_version_cannot_load_is_retrained(ctx: Context, clock: FakeClock) -> None:
    """After an upgrade changes the model format, the agency's corrections are learnt again."""
    store(ctx, clock, LOCAL)
    assert retrain(ctx).accepted
    with ctx.transaction() as session:
        row = models.active_model(session)
        assert row is not None
        row.blob = zlib.compress(json.dumps({"format": 1}).encode())  # what an older TwoWay saved
        stale = row.id
    scheduled_retrain(ctx)
    with ctx.transaction() as session:
        fresh = models.active_model_id(session)
    assert fresh is not None
    assert fresh != stale
    assert current_classifier(ctx).classify(UNSEEN_PARKING).category == "question"
    scheduled_retrain(ctx)  # a loadable model and no new corrections: nothing to do
    with ctx.transaction() as session:
        assert models.active_model_id(session) == fresh


@pytest.mark.timeout(FIT_TIMEOUT)
def test_an_agency_model_of_the_earlier_recipe_is_learnt_again(ctx: Context, clock: FakeClock) -> None:
    """Earlier releases refitted the base recipe on the corrections; an upgrade replaces such a
    model with an agency layer learnt from the same corrections, without waiting for new ones."""
    store(ctx, clock, LOCAL)
    assert retrain(ctx).accepted
    earlier = fit([*base_examples(), *LOCAL], encoder=embeddings.STATIC)  # no agency layer
    assert earlier.layer is None
    with ctx.transaction() as session:
        row = models.active_model(session)
        assert row is not None
        row.blob = earlier.to_bytes()
        stale = row.id
    scheduled_retrain(ctx)
    with ctx.transaction() as session:
        row = models.active_model(session)
        assert row is not None
        assert row.id != stale
        assert Classifier.from_bytes(row.blob).layer is not None


@pytest.mark.timeout(FIT_TIMEOUT)
def test_an_agency_model_on_an_earlier_releases_base_is_learnt_again(ctx: Context, clock: FakeClock) -> None:
    """A release that ships a better base model reaches agencies with a model of their own at the
    next scheduled run, learnt from the same corrections, without waiting for a new one."""
    store(ctx, clock, LOCAL)
    assert retrain(ctx).accepted
    earlier_base = fit(list(base_examples())[::2], encoder=embeddings.STATIC)  # an older release's base
    with ctx.transaction() as session:
        row = models.active_model(session)
        assert row is not None
        row.blob = train_agency(LOCAL, earlier_base).to_bytes()
        stale = row.id
    scheduled_retrain(ctx)
    with ctx.transaction() as session:
        row = models.active_model(session)
        assert row is not None
        assert row.id != stale
        assert Classifier.from_bytes(row.blob).base().to_bytes() == load_default().to_bytes()
    scheduled_retrain(ctx)  # now on this release's base: nothing to do
    with ctx.transaction() as session:
        assert models.active_model_id(session) == row.id


@pytest.mark.timeout(FIT_TIMEOUT)
def test_installing_the_embeddings_extra_retrains_the_agency_model_with_it(
    ctx: Context, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(ctx, clock, LOCAL)
    assert retrain(ctx).accepted
    with ctx.transaction() as session:
        static = models.active_model_id(session)
    # The extra is installed: this stand-in only records the choice, the static vectors do the work.
    vectors = embeddings.load(embeddings.STATIC)
    monkeypatch.setattr(embeddings, "default_name", lambda: "minilm")
    monkeypatch.setattr(embeddings, "load", lambda _name: vectors)
    minilm_base = fit(list(base_examples()), encoder="minilm")  # what a fresh process would load
    monkeypatch.setattr(handlers.adapt, "load_default", lambda: minilm_base)
    scheduled_retrain(ctx)
    with ctx.transaction() as session:
        row = models.active_model(session)
        assert row is not None
        assert row.id != static
        assert Classifier.from_bytes(row.blob).encoder == "minilm"


def answered(ctx: Context, clock: FakeClock, examples: list[tuple[str, str]]) -> None:
    """Items staff answered under the label TwoWay gave them: labels they stood by."""
    from datetime import timedelta

    from tests.support.rows import add_account, add_mention

    with ctx.transaction() as session:
        account = add_account(session, clock.now())
        for text, label in examples:
            add_mention(
                session,
                account,
                clock.now(),
                text=text,
                category=label,
                state="replied",
                response_after=timedelta(minutes=5),
                responded_by="U1",
            )
            clock.advance(seconds=1)


def test_answered_items_stand_by_their_labels_so_careless_clicks_are_caught(
    ctx: Context, clock: FakeClock
) -> None:
    """Every click is a post the model got wrong, so on clicks alone the shipped model scores
    nothing and any new model looks better. The labels of answered items even that out: here the
    team answered 12 thank-yous as compliments while one clerk filed 16 under "other". With no
    thank-you answered, the clerk's labels are all the agency says about thanks and the agency
    model learns them, as it would learn any convention the agency's labels agree on."""
    # One clerk files every thank-you under "other" (no reply needed, they think).
    careless = [
        (text, "other")
        for text in (
            "Thank you for everything you do, stay safe out there",
            "Big thanks to the officers at the parade today",
            "Shoutout to the dispatcher who kept me calm last night",
            "You guys rock, appreciate the quick response",
            "So grateful for the officer who found my dog",
            "Congrats to the academy graduates",
            "Thank you LAPD for keeping the marathon safe",
            "Respect to the officers working the holidays",
            "Thanks to the officers who helped at the crash on the 101",
            "Thank you for the quick help today officers",
            "Grateful for Officer Lee, true professional",
            "Appreciate all of you, thank you",
            "Thanks for the toy drive, the kids loved it",
            "Thank you officers for your kindness to my grandma",
            "Great work today, thank you",
            "Much respect to the motor officers at the parade",
        )
    ] + [("Your officers were rude and dismissive at the station", "criticism")]
    # With no thank-you answered, the clerk's labels are the agency's only word on thanks: learnt.
    assert learn(careless, confirmations=[c for c in CLEAR if c[1] != "compliment"]).accepted
    thanked = [
        ("Thank you to the officers who came so fast last night", "compliment"),
        ("Huge thanks to the crossing guard on 5th street", "compliment"),
        ("Grateful to the detectives who solved my case", "compliment"),
        ("Thanks for keeping our neighborhood safe", "compliment"),
        ("Appreciate the officers at the school today", "compliment"),
        ("Thank you for the community BBQ, great event", "compliment"),
        ("Kudos to the K9 unit, amazing demo", "compliment"),
        ("So thankful for the officer who changed my tire", "compliment"),
    ]
    answered(ctx, clock, CLEAR + thanked)
    store(ctx, clock, careless)
    result = retrain(ctx)
    assert not result.accepted, result.reason
    with ctx.transaction() as session:
        assert models.active_model(session) is None
        (attempt,) = session.scalars(select(ClassifierModel)).all()
    assert attempt.metrics["n_confirmations"] == len(CLEAR) + len(thanked)


def test_a_model_in_use_that_later_labels_prove_worse_is_retired(ctx: Context, clock: FakeClock) -> None:
    """Staff changed their mind about parking tickets: the old agency model is not kept forever."""
    store(ctx, clock, LOCAL)
    assert retrain(ctx).accepted
    complaints = [
        "Parking ticket on Hill St for a sign that fell down. Ridiculous",
        "Ticketed again for street sweeping that never came. Unreal",
        "$90 parking ticket while I was loading my kid into the car. Shameful",
        "Got a parking ticket at a broken meter on Pico. Terrible",
        "Parking enforcement ticketed the whole block during the funeral. Disgraceful",
        "Another parking ticket for a faded curb. What a joke",
        "Parking ticket outside the hospital while visiting my mom. Awful",
        "Ticket for parking where your own officer told me to park. Ridiculous",
        "Parking tickets on a holiday, unbelievable",
        "They gave me a parking ticket with the wrong plate on it. Terrible",
        "Parking ticket at 6am on a Sunday, what a scam",
        "Parking enforcement is out of control on my street. Ridiculous",
    ]
    store(ctx, clock, [(t, "criticism") for t in complaints] + contradictory())
    result = retrain(ctx)
    assert not result.accepted
    assert "triage uses the shipped model again" in result.reason
    with ctx.transaction() as session:
        assert models.active_model(session) is None
        retired = session.scalars(select(AuditEvent).where(AuditEvent.action == "model_retired")).all()
    assert len(retired) == 1
    assert (
        current_classifier(ctx).classify(UNSEEN_PARKING).category
        == load_default().classify(UNSEEN_PARKING).category
    )


def test_labels_of_one_category_alone_are_not_learnt() -> None:
    """On one category a model that files everything under it scores perfectly, so nothing is
    judged; the audit measured such a model taking macro-F1 on unseen posts from 0.72 to 0.42."""
    adaptation = learn([(text, "question") for text in PARKING])
    assert not adaptation.accepted
    assert adaptation.model is None
    assert "one category" in adaptation.reason


def test_retiring_a_model_never_switches_off_a_newer_one(ctx: Context, clock: FakeClock) -> None:
    """A retrain elsewhere may activate a new model while an old one is being judged."""
    with ctx.transaction() as session:
        old = models.save_model(session, blob=b"old", metrics={}, n_examples=1, active=True, now=clock.now())
        new = models.save_model(session, blob=b"new", metrics={}, n_examples=1, active=True, now=clock.now())
        assert not models.deactivate(session, old.id)
        assert models.active_model_id(session) == new.id
        assert models.deactivate(session, new.id)
        assert models.active_model_id(session) is None
