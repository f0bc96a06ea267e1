"""Reclassify is first-wins: a card drawn before someone else's reclassify changes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from bot.core.context import Context
from storage.models import Correction
from tests.review.test_actions import told
from tests.support.signed import click_on_message
from tests.support.world import ADMIN, OFFICER, SUPERVISOR, mention, world


def corrections(ctx: Context, mention_id: int) -> list[tuple[str | None, str, str]]:
    with ctx.transaction() as session:
        rows = session.scalars(
            select(Correction).where(Correction.mention_id == mention_id).order_by(Correction.id)
        )
        return [(row.previous_label, row.label, row.corrected_by) for row in rows]


def test_a_second_reclassify_from_the_same_card_is_refused_with_who_and_what(ctx: Context) -> None:
    with world(ctx) as w:
        mid, seen = w.posted("you never show up when we call", category="criticism")
        w.h.click(seen, "reclassify", user_id=OFFICER, option_value="question")
        # The supervisor's Slack still shows the card as Criticism.
        late = w.h.click(seen, "reclassify", user_id=SUPERVISOR, option_value="other")
        text = told(w, late, SUPERVISOR)
        assert f"already reclassified as Question by <@{OFFICER}>" in text
        assert "your card still showed Criticism" in text
        assert "Nothing was changed." in text
        assert mention(ctx, mid).category == "question"
        assert corrections(ctx, mid) == [("criticism", "question", OFFICER)]
        # From the card as it is now, the supervisor's reclassify goes through.
        w.h.click(w.card(mid), "reclassify", user_id=SUPERVISOR, option_value="other")
        assert mention(ctx, mid).category == "other"
        assert corrections(ctx, mid)[-1] == ("question", "other", SUPERVISOR)


def test_two_officers_picking_the_same_new_category_record_it_once(ctx: Context) -> None:
    with world(ctx) as w:
        mid, seen = w.posted("you never show up when we call", category="criticism")
        w.h.click(seen, "reclassify", user_id=OFFICER, option_value="question")
        late = w.h.click(seen, "reclassify", user_id=SUPERVISOR, option_value="question")
        assert f"by <@{OFFICER}>" in told(w, late, SUPERVISOR)
        assert corrections(ctx, mid) == [("criticism", "question", OFFICER)]


def test_concurrent_reclassifies_from_one_card_change_it_once(ctx: Context) -> None:
    """Clicks at the same moment: one wins, each of the others is told who won and to what."""
    with world(ctx) as w:
        mid, seen = w.posted("you never show up when we call", category="criticism")
        picks = [(OFFICER, "question"), (SUPERVISOR, "other"), (ADMIN, "compliment")] * 3

        def click(pick: tuple[str, str]) -> Any:
            user, category = pick
            return click_on_message(w.h.sender, seen, "reclassify", user_id=user, option_value=category)

        with ThreadPoolExecutor(len(picks)) as pool:
            results = list(pool.map(click, picks))
        w.h.wait()
        [(previous, label, by)] = corrections(ctx, mid)
        assert previous == "criticism"
        assert mention(ctx, mid).category == label
        answers = [told(w, r) for r in results]
        assert sum(1 for a in answers if not a) == 1
        assert all(f"by <@{by}>" in a for a in answers if a)
