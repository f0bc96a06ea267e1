"""A post its author edits after its card is up: judged again on the new words, its card redrawn.

Driven as X does it (the fake X makes a new version with the whole edit chain) through the real
poller, triage, card poster and the pipeline's edit sweep.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.app.pipeline import process
from bot.core.context import Context
from bot.intake.polling import poll_all_once
from bot.intake.triage import reclassify
from storage.models import AuditEvent, Mention
from tests.conftest import FakeClock
from tests.review.test_platform_refusals import posted_then_502
from tests.support.storms import mentions_of, storming, turn
from tests.support.world import OFFICER, REVIEW, World, mention, world

QUESTION = "@agency where do I report a lost wallet?"
NOW_AN_EMERGENCY = QUESTION + " UPDATE there is a man with a gun outside my house right now please send help"


def cycle(ctx: Context) -> None:
    poll_all_once(ctx)
    process(ctx)


def _only(ctx: Context) -> Mention:
    with ctx.transaction() as session:
        [row] = session.scalars(select(Mention)).all()
        return row


def _card_text(w: World, mention_id: int) -> str:
    return str(w.card(mention_id).blocks)


def test_an_edit_into_an_emergency_flags_the_card_and_tells_the_channel(ctx: Context) -> None:
    with world(ctx) as w:
        tweet = w.fake_x.add_mention(QUESTION, author="walletguy")
        cycle(ctx)
        first = _only(ctx)
        assert (first.category, first.urgent) == ("question", False)
        w.fake_x.edit(tweet, NOW_AN_EMERGENCY, keep_old=True)
        cycle(ctx)
        cycle(ctx)  # read again: still one item, judged once per edit
        row = _only(ctx)
        assert row.id == first.id
        assert row.external_id == tweet["id"]
        assert row.text == NOW_AN_EMERGENCY
        assert row.urgent
        assert row.urgent_reason
        assert all(
            d["text"].startswith("If this is an emergency, call 911 now.") for d in row.drafts["items"]
        )
        card = _card_text(w, row.id)
        assert "man with a gun" in card
        assert ":pencil2: Edited on the platform" in card
        assert len(w.fake.messages(REVIEW, top_level=True)) == 1  # no second card
        notices = [m for m in w.fake.replies(REVIEW, str(row.card_ts)) if "was edited on X" in m.text]
        assert len(notices) == 1
        assert "may now report an emergency" in notices[0].text
        with ctx.transaction() as session:
            actions = [
                e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.mention_id == row.id))
            ]
        assert actions.count("edited") == 1
        assert actions.count("retriaged") == 1


def test_the_records_keep_the_text_as_first_read(ctx: Context) -> None:
    with world(ctx) as w:
        tweet = w.fake_x.add_mention(QUESTION)
        cycle(ctx)
        w.fake_x.edit(tweet, QUESTION + " (found it, thanks anyway)")
        cycle(ctx)
        with ctx.transaction() as session:
            [edit] = session.scalars(select(AuditEvent).where(AuditEvent.action == "edited")).all()
        assert (edit.details["previous_text"], edit.details["text"]) == (QUESTION, _only(ctx).text)


def test_an_edit_after_the_reply_went_out_only_redraws_the_card(ctx: Context) -> None:
    with world(ctx) as w:
        tweet = w.fake_x.add_mention(QUESTION)
        cycle(ctx)
        row = _only(ctx)
        w.h.click(w.card(row.id), "send_reply:1", user_id=OFFICER)
        w.h.wait()
        assert mention(ctx, row.id).state == "replied"
        w.fake_x.edit(tweet, NOW_AN_EMERGENCY)
        cycle(ctx)
        after = _only(ctx)
        assert (after.state, after.category, after.urgent) == ("replied", "question", False)
        assert after.text == NOW_AN_EMERGENCY
        assert "Edited on the platform" in _card_text(w, row.id)
        assert not [m for m in w.fake.replies(REVIEW, str(row.card_ts)) if "was edited on X" in m.text]


def test_a_category_staff_set_survives_an_edit_and_a_flag_is_never_taken_away(ctx: Context) -> None:
    with world(ctx) as w:
        tweet = w.fake_x.add_mention(NOW_AN_EMERGENCY)
        cycle(ctx)
        row = _only(ctx)
        assert row.urgent
        reclassify(ctx, row.id, "criticism", OFFICER)
        w.fake_x.edit(tweet, "@agency where do I report a lost wallet? sorry wrong account")
        cycle(ctx)
        after = _only(ctx)
        assert (after.category, after.urgent) == ("criticism", True)
        assert after.urgent_reason == row.urgent_reason


def test_a_gathered_storm_post_edited_into_an_emergency_gets_a_card_of_its_own(
    ctx: Context, clock: FakeClock
) -> None:
    """In a storm urgent posts have their own cards, first; an edit that makes one urgent too."""
    with storming(ctx, clock, urgent=0) as (w, storm):
        gathered = [m for m in mentions_of(ctx) if m.card_status == "summary"]
        target = gathered[0]
        tweet = w.fake_x.tweets[target.external_id]
        w.fake_x.edit(tweet, tweet["text"] + " UPDATE there is a man with a gun outside my house right now")
        turn(w)
        after = mention(ctx, target.id)
        assert after.urgent
        assert after.card_status == "posted"
        assert after.card_ts
        assert "man with a gun" in str(w.card(target.id).blocks)
        assert after.storm_id == storm.id  # still counted in its storm, shown on its own card


def test_an_edit_while_a_reply_may_be_out_is_judged_once_the_reply_is_settled(ctx: Context) -> None:
    """X timed out on the reply (it may be out), the author edited the post into an emergency, and
    staff then found the reply was not posted: the item is open again and must be judged on the
    new words, not left as the question it was."""
    with world(ctx) as w:
        tweet = w.fake_x.add_mention(QUESTION, author="walletguy")
        cycle(ctx)
        row = _only(ctx)
        posted_then_502(w)
        w.fake_x.replies.clear()
        w.h.click(w.card(row.id), "send_reply:1", user_id=OFFICER)
        w.h.wait()
        assert mention(ctx, row.id).reply_status == "unknown"
        w.fake_x.edit(tweet, NOW_AN_EMERGENCY)
        cycle(ctx)
        assert not mention(ctx, row.id).urgent  # not judged while the reply may be out
        w.h.click(w.card(row.id), "confirm_not_posted", user_id=OFFICER)
        w.h.wait()
        cycle(ctx)
        after = _only(ctx)
        assert (after.state, after.reply_status) == ("open", "failed")
        assert after.urgent
        assert after.drafts["items"][0]["text"].startswith("If this is an emergency, call 911 now.")
