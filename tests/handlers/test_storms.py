"""The storm rule and the grouping of a storm's posts into themes: pure functions."""

from __future__ import annotations

import numpy as np
import pytest

from handlers import embeddings
from handlers.storms import (
    DEFAULT_MINIMUM,
    StormRule,
    calmed,
    normal_rate,
    parse_rule,
    place,
    rule_from_setting,
)
from handlers.themes import MAX_THEMES, Themes


def test_a_storm_is_relative_to_the_accounts_normal_rate_with_a_floor() -> None:
    rule = StormRule(multiple=10, minimum=30)
    assert rule.level(0.0) == 30  # a quiet account: the floor
    assert rule.level(2.0) == 30
    assert rule.level(7.5) == 75  # a busy one: ten times its normal
    assert rule.starts(30, 0.0)
    assert not rule.starts(29, 0.0)
    assert not rule.starts(60, 7.5)
    assert normal_rate(7 * 24 * 6 * 3) == 3.0  # a week at three per ten minutes


def test_a_storm_ends_below_half_the_level_that_started_it() -> None:
    assert not calmed(15, 30)
    assert calmed(14, 30)
    assert calmed(0, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10x", StormRule(10, DEFAULT_MINIMUM)),
        ("5 40", StormRule(5, 40)),
        ("2.5X 12", StormRule(2.5, 12)),
        ("off", None),
    ],
)
def test_admins_write_the_threshold_as_a_multiple_and_an_optional_minimum(
    text: str, expected: StormRule | None
) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "give the multiple"),
        ("ten", "is not a multiple"),
        ("1x", "between 2x"),
        ("10x many", "is not a number"),
        ("10x 2", "between 5"),
        ("10x 40 50", "give the multiple"),
    ],
)
def test_a_bad_threshold_is_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_rule(text)


def test_a_stored_setting_reads_back_and_odd_values_fall_back_to_the_default() -> None:
    assert rule_from_setting(StormRule(4, 12).as_setting()) == StormRule(4, 12)
    assert rule_from_setting(None) == StormRule()
    assert rule_from_setting({"multiple": "lots"}) == StormRule()
    assert rule_from_setting({"multiple": 0.5, "minimum": 1}) == StormRule()
    assert rule_from_setting(False) is None


def vectors(texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
    return embeddings.load(embeddings.STATIC).encode(texts)


def test_posts_that_say_the_same_thing_share_a_theme_and_the_themes_survive_storage() -> None:
    texts = [
        "Fire that officer today.",
        "That officer should be fired today!",
        "Thank you officers for keeping us safe",
        "Thank you to our officers for keeping us all safe",
        "Which roads are closed near the park?",
    ]
    themes = Themes()
    labels = [themes.assign(n, v) for n, v in enumerate(vectors(texts))]
    assert labels[0] == labels[1]
    assert labels[2] == labels[3]
    assert len({labels[0], labels[2], labels[4]}) == 3
    again = Themes.from_json(themes.to_json())
    assert [t.count for t in again.themes] == [2, 2, 1]
    assert again.assign(9, vectors(["fire the officer today"])[0]) == labels[0]
    assert again.top(1)[0][1].count == 3


def test_a_post_without_a_known_word_joins_no_theme_and_themes_are_capped() -> None:
    themes = Themes()
    assert themes.assign(1, np.zeros(8)) is None
    basis = np.eye(MAX_THEMES + 1)
    assert [themes.assign(n, basis[n]) for n in range(MAX_THEMES)] == list(range(MAX_THEMES))
    assert themes.assign(99, basis[MAX_THEMES]) is None  # unlike all of them, and no room


def test_in_a_storm_urgent_posts_and_new_questions_keep_cards_and_repeats_are_gathered() -> None:
    themes = Themes()
    q1, q2, q3, angry = vectors(
        [
            "When will the body camera video be released?",
            "When are you releasing the bodycam video?",
            "Is the community meeting on Thursday still happening?",
            "This is a disgrace",
        ]
    )
    assert place(themes, 1, "question", False, q1).gathered is False
    repeat = place(themes, 2, "question", False, q2)
    assert (repeat.gathered, repeat.repeats) == (True, 1)
    assert place(themes, 3, "question", False, q3).gathered is False  # another question
    assert place(themes, 4, "criticism", True, angry).gathered is False  # urgent, whatever else
    assert place(themes, 5, "criticism", False, angry).gathered is True
    assert place(themes, 6, "question", False, None).gathered is False  # no vector: its own card
    assert [(a.mention_id, a.repeats) for a in themes.repeated()] == [(1, 1)]
