"""Refusals that say more than "nothing was posted": a duplicate of an attempt staff recorded as
not posted, a rate limit with a reset time, a post deleted on the platform.

Signed Slack clicks on the real app; the X connector (tweepy) against the fake X API and the
Facebook connector (facebook-sdk) against the fake Graph API; SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.core.context import Context
from storage import queue
from storage.models import AuditEvent, Mention, Reply
from tests.conftest import FakeClock
from tests.review.test_hide import hider, intake
from tests.support.fakes.graph_api import rate_limited
from tests.support.fakes.server import Recorded, Response
from tests.support.signed import find_element
from tests.support.world import OFFICER, SUPERVISOR, World, mention, world


def replies_of(ctx: Context, mention_id: int) -> list[Reply]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Reply).where(Reply.mention_id == mention_id).order_by(Reply.id)))


def actions_of(ctx: Context, mention_id: int) -> list[str]:
    with ctx.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.mention_id == mention_id).order_by(AuditEvent.id)
            )
        )


def told(w: World, result: Any) -> str:
    return "\n".join(w.h.ephemeral_texts(result))


def tweets_posted(w: World) -> int:
    return len(w.fake_x.calls(r"/2/tweets$", "POST"))


def chased_ids(ctx: Context) -> list[int]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Mention.id).where(queue.chased())))


# -- a duplicate after an attempt recorded as not posted ------------------------------------------------


def posted_then_502(w: World) -> None:
    """X publishes the next reply but the gateway answers 502: the outcome is unknown."""
    real = w.fake_x.dispatch
    once = {"left": 1}

    def dispatch(request: Recorded) -> Response:
        answer = real(request)
        if request.method == "POST" and request.path.endswith("/2/tweets") and once["left"]:
            once["left"] = 0
            return Response(502, {"title": "Bad Gateway", "status": 502})
        return answer

    w.fake_x.dispatch = dispatch  # type: ignore[method-assign]


def test_a_duplicate_refusal_after_a_not_posted_check_asks_staff_to_check_x_again(ctx: Context) -> None:
    """Staff missed the reply on X and clicked "It was not posted"; Send again gets X's duplicate
    refusal. That is X saying the first reply is public: no advice to reword and resend."""
    with world(ctx) as w:
        mid, card = w.posted()
        posted_then_502(w)
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        assert mention(ctx, mid).reply_status == "unknown"
        w.h.click(w.card(mid), "confirm_not_posted", user_id=OFFICER)
        result = w.h.click(w.card(mid), "send_reply:1", user_id=OFFICER)

        text = told(w, result)
        assert "already posted this exact text" in text
        assert "Check the post on X" in text
        assert "change a few words" not in text
        assert mention(ctx, mid).reply_status == "unknown"
        assert [r.status for r in replies_of(ctx, mid)] == ["failed", "unknown"]
        updated = w.card(mid)
        assert "X already has this exact text from the account" in str(updated.blocks)
        assert "change a few words" not in str(updated.blocks)
        find_element(updated.blocks, "confirm_posted")
        assert "retry_send" not in str(updated.blocks)
        assert len(w.fake_x.replies) == 1

        w.h.click(updated, "confirm_posted", user_id=SUPERVISOR)
        row = mention(ctx, mid)
        assert (row.state, row.reply_status) == ("replied", "sent")
        assert len(w.fake_x.replies) == 1, "nothing more went out"


def test_the_same_template_refused_for_another_person_still_says_to_reword(ctx: Context) -> None:
    """No earlier attempt on this item: the copy is of a reply to someone else."""
    with world(ctx) as w:
        _first, first_card = w.posted()
        second, second_card = w.posted()
        w.h.click(first_card, "send_reply:1", user_id=OFFICER)
        result = w.h.click(second_card, "send_reply:1", user_id=OFFICER)
        assert "change a few words" in told(w, result)
        assert mention(ctx, second).reply_status == "failed"
        find_element(w.card(second).blocks, "retry_send")


# -- rate limits ------------------------------------------------------------------------------------------


def test_an_x_rate_limit_says_when_and_holds_sends_until_then(ctx: Context, clock: FakeClock) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        reset = int(clock.now().timestamp()) + 900
        w.fake_x.rate_limit_next(reset, path=r"/2/tweets$")
        result = w.h.click(card, "send_reply:1", user_id=OFFICER)
        text = told(w, result)
        assert f"<!date^{reset}^" in text
        assert "in about 15 min" in text
        assert "nothing was posted" in text
        updated = w.card(mid)
        at = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%d %H:%M UTC")
        assert f"X takes replies again after about {at}" in str(updated.blocks)

        for action in ("retry_send", "send_reply:2"):  # neither hammers X before the reset
            again = w.h.click(updated, action, user_id=OFFICER)
            assert "still limiting replies" in told(w, again)
        assert tweets_posted(w) == 1
        [reply] = replies_of(ctx, mid)
        assert reply.status == "failed", "the draft is kept for Retry"

        clock.advance(minutes=16)
        w.h.click(w.card(mid), "retry_send", user_id=OFFICER)
        assert mention(ctx, mid).reply_status == "sent"
        assert w.fake_x.replies[0]["text"] == reply.text


def test_an_edited_reply_held_back_by_a_rate_limit_is_given_back(ctx: Context, clock: FakeClock) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.fake_x.rate_limit_next(int(clock.now().timestamp()) + 600, path=r"/2/tweets$")
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        row = mention(ctx, mid)
        meta = json.dumps({"m": mid, "c": row.card_channel, "t": row.card_ts})
        values = {"reply": {"text": {"type": "plain_text_input", "value": "Our own words, thanks"}}}
        w.h.sender.submit_view("edit_reply", values, meta, user_id=OFFICER)
        w.h.wait()
        [said] = [e["text"] for e in w.fake.ephemerals_for(OFFICER)]
        assert "still limiting replies" in said
        assert "> Our own words, thanks" in said
        assert tweets_posted(w) == 1


def test_a_facebook_rate_limit_says_when_from_graphs_estimate(ctx: Context, clock: FakeClock) -> None:
    clock.current = datetime.now(UTC)  # Graph's estimate counts from the real time
    with hider(ctx, clock) as w:
        comment = w.graph.add_comment(w.graph.add_post("Road closure"), "when does it reopen?")
        intake(ctx)
        _mid, card = w.card_of(comment["id"])
        w.graph.fail_next(r"/comments$", rate_limited(32))
        result = w.h.click(card, "send_reply:1", user_id=OFFICER)
        text = "\n".join(w.h.ephemeral_texts(result))
        assert "Facebook is limiting how many replies" in text
        assert "in about 12 min" in text
        _, updated = w.card_of(comment["id"])
        again = w.h.click(updated, "retry_send", user_id=OFFICER)
        assert "still limiting replies" in "\n".join(w.h.ephemeral_texts(again))
        assert len(w.graph.calls(r"/comments$", "POST")) == 1


# -- a post deleted on the platform ------------------------------------------------------------------


def test_a_reply_to_a_deleted_tweet_records_the_deletion_and_stops_trying(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        assert mid in chased_ids(ctx)
        del w.fake_x.tweets[mention(ctx, mid).external_id]
        result = w.h.click(card, "send_reply:1", user_id=OFFICER)

        assert "no longer exists on X" in told(w, result)
        assert "No reply needed" in told(w, result)
        row = mention(ctx, mid)
        assert row.deleted_at is not None
        assert "deleted" in actions_of(ctx, mid)
        updated = w.card(mid)
        assert "Deleted on the platform" in str(updated.blocks)
        assert mid not in chased_ids(ctx), "SLA notices stop chasing a post that is gone"

        assert "retry_send" not in str(updated.blocks), "a Retry that cannot work is not offered"
        again = w.h.click(card, "send_reply:1", user_id=OFFICER)  # a click on the card as first drawn
        assert "no longer exists on X" in told(w, again)
        assert tweets_posted(w) == 1, "the retry was not sent to X"
        assert [r.status for r in replies_of(ctx, mid)] == ["failed"]


def test_a_reply_to_a_deleted_facebook_comment_records_the_deletion(ctx: Context, clock: FakeClock) -> None:
    with hider(ctx, clock) as w:
        comment = w.graph.add_comment(w.graph.add_post("Road closure"), "when does it reopen?")
        intake(ctx)
        mid, card = w.card_of(comment["id"])
        del w.graph.comments[comment["id"]]
        result = w.h.click(card, "send_reply:1", user_id=OFFICER)
        assert "no longer exists on Facebook" in "\n".join(w.h.ephemeral_texts(result))
        assert mention(ctx, mid).deleted_at is not None
        _, updated = w.card_of(comment["id"])
        assert "Deleted on the platform" in str(updated.blocks)
