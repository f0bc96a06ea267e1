"""The errors that hurt most: thanks to a post that is no compliment, an emergency without 911.

Every post here was written for these tests; none is a training example or a dev-file row.
"""

from __future__ import annotations

import pytest

import domain
from connectors import registry
from handlers.classifier import Classifier, load_default, unsure
from handlers.drafts import drafting_category, make_drafts
from handlers.harm import first_drafts, harm, thanks_author
from handlers.templates import STORM_CATEGORIES, URGENT_LEAD, default_pack
from handlers.urgency import MAYBE_REASON

AGENCY = {
    "agency_name": "Lakeside Police",
    "phone": "(555) 010-3000",
    "website": "https://lakeside.example.gov",
    "records_url": "https://lakeside.example.gov/records",
}


@pytest.fixture(scope="module")
def model() -> Classifier:
    return load_default()


def scores(**given: float) -> dict[str, float]:
    rest = (1.0 - sum(given.values())) / (4 - len(given))
    return {c: given.get(c, rest) for c in domain.CATEGORIES}


@pytest.mark.parametrize(
    ("category", "confidence", "given", "expected"),
    [
        ("compliment", 0.96, scores(compliment=0.96), False),  # clear
        ("question", 0.7, scores(question=0.7, criticism=0.2), False),  # a clear lead
        ("criticism", 0.45, scores(criticism=0.45, other=0.3), True),  # below the bar
        ("question", 0.55, scores(question=0.55, criticism=0.4), True),  # runner-up too close
        ("other", 0.62, scores(other=0.62, compliment=0.3), False),
        ("compliment", 0.58, scores(compliment=0.58, criticism=0.41), True),
        ("other", 0.35, scores(other=0.9), True),  # another language: confidence capped
        ("criticism", 0.3, scores(compliment=0.6, criticism=0.3), True),  # guarded compliment
    ],
)
def test_unsure_says_so_when_the_category_is_a_coin_toss(
    category: str, confidence: float, given: dict[str, float], expected: bool
) -> None:
    assert unsure(category, confidence, given) is expected


def draft_texts(triage: domain.Triage, text: str) -> list[str]:
    drafts = make_drafts(
        triage=triage,
        text=text,
        rules=registry.spec("facebook").rules,
        author_handle="",
        author_name="",
        variables=AGENCY,
        templates=default_pack(),
        faqs=(),
        history=(),
    )
    return [d.text for d in drafts]


@pytest.mark.parametrize(
    ("category", "given"),
    [
        ("compliment", scores(compliment=0.52, criticism=0.4)),
        ("compliment", scores(compliment=0.45, other=0.35)),
        ("question", scores(question=0.48, criticism=0.45)),
        ("criticism", scores(criticism=0.4, other=0.38)),
    ],
)
def test_an_unsure_post_gets_neutral_drafts_that_point_to_a_channel(
    category: domain.Category, given: dict[str, float]
) -> None:
    triage = domain.Triage(category=category, confidence=given[category], scores=given)
    assert drafting_category(triage) == "other"
    texts = draft_texts(triage, "well that was something")
    assert texts
    for text in texts:
        assert not thanks_author(text), text
        assert "direct message" in text or "(555) 010-3000" in text or "lakeside.example.gov" in text


@pytest.mark.parametrize(
    "text",
    [
        "We've seen your message. If there's something Lakeside Police can help with, send us a direct message.",
        "For news and updates, visit our website.",
        "We hear you, and we're sorry about your experience.",
        "If this is an emergency, call 911 now.",
    ],
)
def test_neutral_replies_do_not_count_as_thanks(text: str) -> None:
    assert not thanks_author(text)


@pytest.mark.parametrize(
    "text",
    [
        "Thank you so much for this!",
        "Thanks for asking.",
        "We appreciate it",
        "This made our day.",
        "Kind words",
    ],
)
def test_thanks_and_praise_count_as_thanks(text: str) -> None:
    assert thanks_author(text)


def test_only_compliment_templates_thank_anyone() -> None:
    """A misjudged post must never be thanked by a template of another category. (A storm's
    statement and pinned reply answer everyone, not one author, and are never a post's draft.)"""
    for spec in default_pack():
        if spec.category not in STORM_CATEGORIES:
            assert thanks_author(spec.text) == (spec.category == "compliment"), spec.key


# Posts that are no compliment although they praise, thank or cheer: none may be thanked.
NOT_TO_BE_THANKED = [
    "Great job guys, three car break-ins on my block this month and not one call back",
    "thanks for the $300 ticket while my stolen bike sits in some guy's yard",
    "Wow amazing police work, arresting a kid for selling water on a hot day 👏👏",
    "thank u for blocking the whole freeway for 4 hours for a car chase lol",
    "Appreciate nothing about this department. Where were you when my store got hit",
    "Shout out to the neighbor who caught the guy on camera, because you sure didn't",
    "good job to the mayor for finally fixing the streetlights on Elm",
    "Congrats on the new helicopter, maybe now answer the non-emergency line",
]


def test_praise_wrapped_around_a_complaint_is_rarely_thanked(model: Classifier) -> None:
    """At most one of these eight. When written, the shipped model thanked one: sarcasm told only
    through what the praise is for ("amazing police work, arresting a kid for selling water"),
    with no cue of hostility, failure or mockery for the guard to read."""
    triages = model.classify_many(NOT_TO_BE_THANKED)
    firsts = first_drafts(NOT_TO_BE_THANKED, triages)
    thanked = [t for t, draft in zip(NOT_TO_BE_THANKED, firsts, strict=True) if thanks_author(draft)]
    assert len(thanked) <= 1, thanked


def test_harm_counts_first_drafts_only() -> None:
    posts = ["You people are useless", "Thank you officers!", "someone is kicking my door in"]
    triages = [
        domain.Triage(category="compliment", confidence=0.95, scores=scores(compliment=0.95)),  # wrong
        domain.Triage(category="compliment", confidence=0.95, scores=scores(compliment=0.95)),
        domain.Triage(category="question", confidence=0.9, scores=scores(question=0.9)),  # missed
    ]
    figures = harm(posts, triages, ["criticism", "compliment", "question"], [False, False, True])
    assert figures["thanks_to_non_compliment"] == 0.5  # 1 of the 2 posts that are no compliment
    assert figures["emergency_without_911"] == 1.0
    flagged = [*triages[:2], domain.Triage(category="question", confidence=0.9, urgent=True)]
    assert (
        harm(posts, flagged, ["criticism", "compliment", "question"], [None, None, True])[
            "emergency_without_911"
        ]
        == 0.0
    )
    assert harm(posts[:1], triages[:1], ["criticism"], [None])["emergency_without_911"] is None


def test_a_possible_emergency_that_is_not_flagged_still_leads_with_911() -> None:
    triage = domain.Triage(category="criticism", confidence=0.9, urgent=False, urgent_reason=MAYBE_REASON)
    texts = draft_texts(
        triage, "you never come, and that guy is back at the corner with something in his hand"
    )
    assert texts
    assert all(t.startswith(URGENT_LEAD) for t in texts)
