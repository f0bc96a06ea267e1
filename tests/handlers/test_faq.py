"""Matching a mention to the agency's FAQ by text similarity."""

from __future__ import annotations

import pytest

from handlers.faq import FAQ_THRESHOLD, FaqEntry, match_faq
from handlers.textmatch import TextIndex, content_words, stem

FAQS = [
    FaqEntry(1, "How do I get a copy of a police report?", "Request it at {records_url}."),
    FaqEntry(2, "How do I pay a parking ticket?", "Pay online at {website}."),
    FaqEntry(3, "My car was towed. Where can I pick it up?", "Call {phone} to find your vehicle."),
    FaqEntry(4, "How do I apply to become a police officer?", "See open positions at {website}."),
    FaqEntry(5, "How do I report a noise complaint?", "Call {phone}, day or night."),
    FaqEntry(6, "Can I do a ride-along with an officer?", "Ride-along requests: {website}."),
    FaqEntry(7, "What are the front lobby hours?", "The lobby is open 8 to 5 on weekdays."),
    FaqEntry(8, "How do I get fingerprinted for a background check?", "Fingerprinting: {website}."),
    FaqEntry(9, "How do I register for the citizens academy?", "Sign up at {website}."),
    FaqEntry(10, "How do I report a lost or stolen item?", "File a report at {website}."),
]


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("need a copy of the police report for my insurance", 1),
        ("where do I request the crash report?", 1),
        ("Where do I pay a parking citation", 2),
        ("got a parking ticket, how can I pay it online?", 2),
        ("my car got towed, how do I get it back?", 3),
        ("where is the impound lot? my truck was towed", 3),
        ("are you hiring? how do I apply", 4),
        ("how can I become a cop in this city", 4),
        ("my neighbors are blasting music at 2am, who do I call about noise?", 5),
        ("can civilians ride along with officers?", 6),
        ("what time is the front lobby open", 7),
        ("Where can I get fingerprints done for a job application?", 8),
        ("when is the next citizens academy class?", 9),
        ("@SpringfieldPD I lost my wallet, how do I report it? https://t.co/abc", 10),
    ],
)
def test_paraphrases_match_their_faq(text: str, faq_id: int) -> None:
    match = match_faq(text, FAQS)
    assert match is not None
    assert match.faq.id == faq_id
    assert FAQ_THRESHOLD <= match.score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Great job at the parade today!",
        "There's a fire on Main St",
        "Why are your officers so rude",
        "Thank you officers for keeping us safe",
        "What happened on 5th street last night? so many sirens",
        "Is the road closed on Highway 9?",
        "Your department is a joke. Nobody answers the phone",
        "The airport was busy today",
        "Thanks for the parking enforcement near the school",
        "the lobby smelled weird",
        "who do I talk to about a lost dog",
        "Do you have a lost and found?",
        "someone just stole my car on main street",
        "great academy graduation ceremony",
        "how do I file a complaint against an officer",
        "I want to report a pothole",
        "How do I get a gun permit?",
        "",
        "🙏🙏🙏",
    ],
)
def test_unrelated_posts_match_nothing(text: str) -> None:
    assert match_faq(text, FAQS) is None


def test_no_faq_no_match() -> None:
    assert match_faq("How do I get a police report?", []) is None


def test_matching_is_deterministic_and_ties_go_to_the_first_listed_faq() -> None:
    twins = [
        FaqEntry(7, "How do I get a police report?", "A"),
        FaqEntry(3, "How do I get a police report?", "B"),
    ]
    first = match_faq("how can I get a police report", twins)
    assert first is not None
    assert first.faq.id == 7
    assert match_faq("how can I get a police report", twins) == first


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [("reports", "report"), ("towed", "tow"), ("towing", "tow"), ("cities", "city"), ("address", "address")],
)
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_content_words_drop_handles_links_numbers_and_common_words() -> None:
    assert content_words("@cityPD hey how do I get my car at 2am? https://t.co/x #help") == ["vehicle"]


def test_index_scores_identical_text_as_one() -> None:
    index = TextIndex(["Where can I pay a parking ticket?", "Lobby hours"])
    best = index.best("where can i pay a parking ticket")
    assert best is not None
    assert best[0] == 0
    assert best[1] == pytest.approx(1.0)
