"""The simulated public: written by the team, and covering what a newcomer should see TwoWay do."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest

from bot.app.sandbox import seed
from bot.core.context import Context
from bot.intake.storms import current_rule
from bot.sandbox.feed import (
    ACCOUNT_POSTS,
    FAQ_ANSWER,
    FAQ_QUESTION,
    SCRIPT,
    Item,
    arriving_items,
    initial_items,
)
from domain import CATEGORIES
from handlers.classifier import load_default
from handlers.faq import FaqEntry, FaqIndex


def by_key(key: str) -> Item:
    return next(item for item in SCRIPT if item.key == key)


def test_the_feed_has_every_category_and_an_emergency_as_triage_sees_them() -> None:
    triages = load_default().classify_many([item.text for item in SCRIPT])
    assert {t.category for t in triages} == set(CATEGORIES)
    assert any(t.urgent for t in triages)
    assert any(t.urgent for t, item in zip(triages, SCRIPT, strict=True) if item.platform == "x")


def test_a_question_in_the_feed_is_answered_by_the_seeded_faq() -> None:
    index = FaqIndex([FaqEntry(1, FAQ_QUESTION, FAQ_ANSWER)])
    matched = [item for item in SCRIPT if index.match(item.text) is not None]
    assert matched, "no post matches the FAQ the sandbox seeds"
    assert all("?" in item.text for item in matched)


def test_the_feed_has_an_x_reply_without_a_mention_and_facebook_replies_under_replies() -> None:
    assert any(i.platform == "x" and not i.mentions_account and i.on in ACCOUNT_POSTS for i in SCRIPT)
    replies = [i for i in SCRIPT if i.platform == "facebook" and i.reply_to]
    assert replies
    # A reply to a reply: its author answers someone who answered the first comment.
    first = by_key("fb-bridge")
    later = [i for i in replies if i.reply_to == first.key]
    assert len(later) >= 2
    assert later[-1].author == first.author


def test_posts_that_would_ping_the_channel_or_inject_html_are_in_the_feed() -> None:
    texts = " ".join(item.text for item in SCRIPT)
    assert "<!channel>" in texts
    assert "<@U" in texts
    assert "<script>" in texts


def test_the_first_posts_are_there_at_start_and_more_keep_coming() -> None:
    assert len(initial_items()) >= 5
    assert len(arriving_items()) >= 10
    assert all(item.age_minutes is not None and item.age_minutes > 0 for item in initial_items())
    assert all(key in ACCOUNT_POSTS for key in {i.on for i in SCRIPT if i.on})
    assert all(i.reply_to in {j.key for j in SCRIPT[: SCRIPT.index(i)]} for i in SCRIPT if i.reply_to)


def test_no_sandbox_post_comes_from_the_dev_file(dev_csv: Path) -> None:
    """The evaluation file stays out of everything shipped, the sandbox's posts included."""

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z0-9']+", text.lower()))

    rows = list(csv.DictReader(dev_csv.open(encoding="utf-8")))
    dev_texts = {row["text"].strip() for row in rows}
    dev = [words(row["text"]) for row in rows]
    for item in SCRIPT:
        assert item.text not in dev_texts
        mine = words(item.text)
        if len(mine) >= 6:
            assert max(len(mine & other) / len(mine | other) for other in dev) < 0.5, item.text


@pytest.mark.parametrize("every", [8.0, 3.0, 1.0])
def test_the_feed_at_its_own_pace_is_never_a_storm_but_a_real_burst_still_is(
    ctx: Context, every: float
) -> None:
    """A fresh sandbox has no history, so the default threshold (30 posts in 10 minutes) took its
    normal feed for a storm after a few minutes and gathered ordinary posts on a summary card."""
    seed(ctx, every)
    with ctx.transaction() as session:
        rule = current_rule(session)
    assert rule is not None
    whole_feed = math.ceil(600 / every)  # every post of the feed in 10 minutes, on one account
    assert not rule.starts(whole_feed, normal=0.0)
    assert rule.starts(3 * whole_feed, normal=0.0)


def test_a_feed_faster_than_a_post_a_second_is_a_storm_on_purpose(ctx: Context) -> None:
    seed(ctx, 0.05)  # `twoway sandbox --every 0.05`: twenty posts a second
    with ctx.transaction() as session:
        rule = current_rule(session)
    assert rule is not None
    assert rule.starts(30, normal=0.0)
