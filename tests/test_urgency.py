"""Urgency: reports of an emergency happening now, not news, history or hypotheticals."""

from __future__ import annotations

import pytest

from handlers.classifier import load_default
from handlers.urgency import urgent_reason

URGENT = [
    ("Someone is breaking into my neighbor's house right now, please send someone", "reports a break-in"),
    ("shots fired near 3rd and Main right now", "mentions shots fired"),
    ("My life is in danger, my ex is outside my door with a knife", "says a life is in danger"),
    ("hearing gunshots outside my building, happening now!!", "mentions shots fired"),
    ("there's a guy with a gun in front of my house right now", "reports a weapon"),
    (
        "A man is attacking a woman at the bus stop on Western right now, please help",
        "reports an attack in progress",
    ),
    (
        "can't find my daughter, she's 6, she was at the park on Pico 10 minutes ago",
        "reports a missing child",
    ),
    ("been on hold with 911 for 20 minutes, someone is in my backyard", "reports a break-in"),
    (
        "Please send officers, there is a fight with bats in the parking lot right now",
        "asks for officers to be sent now",
    ),
    ("my neighbor's house is on fire and nobody is answering", "reports a fire"),
]

NOT_URGENT = [
    "BREAKING: shots fired in Van Nuys yesterday, suspect arrested",
    "Last year someone broke into my car and you never came",
    "If someone breaks into my house I know you won't come",
    "The fireworks were fire last night 🔥",
    "Great job on the gun buyback",
    "Fire the chief already",
    "RIP to the officer who was shot last week. Prayers",
    "What's the non-emergency number for a noise complaint?",
    "Thank you for the quick response to the robbery on our street last night",
    "This movie about a kidnapping was so good",
    "my phone is dying lol",
    "",
]


@pytest.mark.parametrize(("text", "reason"), URGENT)
def test_emergencies_happening_now_are_flagged_with_a_reason(text: str, reason: str) -> None:
    assert urgent_reason(text) == reason
    triage = load_default().classify(text)
    assert triage.urgent
    assert triage.urgent_reason == reason


@pytest.mark.parametrize("text", NOT_URGENT)
def test_news_history_and_hypotheticals_are_not_flagged(text: str) -> None:
    assert urgent_reason(text) is None
    assert not load_default().classify(text).urgent


def test_a_cue_echoing_the_parent_post_is_not_a_new_report() -> None:
    """Replying "shots fired right now??" under the agency's own shots-fired alert reports nothing new."""
    text = "Shots fired right now near 5th and Main?? stay inside everyone"
    assert urgent_reason(text) == "mentions shots fired"
    assert urgent_reason(text, parent_text="Shots fired at 5th and Main, avoid the area") is None
    assert not load_default().classify(text, parent_text="Shots fired at 5th and Main").urgent
    assert load_default().classify(text, parent_text="Road closure on 5th tonight").urgent


def test_urgency_does_not_depend_on_case() -> None:
    assert urgent_reason("SHOTS FIRED RIGHT NOW ON MY STREET") == "mentions shots fired"
