"""Ids read from clicks: ASCII digits only, nothing after them, and none too large for a row.

A reply id beyond PostgreSQL's `integer` names no reply and is answered as one; a block id with
another script's digits ("m:١") or a trailing newline ("m:1\\n") names no item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.context import Context
from bot.review import action_ids
from storage import replies
from storage.models import MAX_ID, Mention, Reply
from tests.conftest import BACKENDS
from tests.support.fakes.server import Response
from tests.support.world import OFFICER, World, mention, world

TOO_LARGE = MAX_ID + 1  # 2147483648
BAD_VALUE = "This button's value is not valid. Nothing was changed."
NOT_THIS_CARD = "This button doesn't belong to this card. Nothing was changed."


def told(w: World, result: Any) -> str:
    return "\n".join(w.h.ephemeral_texts(result))


def click(w: World, card: Any, action_id: str, block_id: str, **options: Any) -> str:
    result = w.h.sender.click(
        action_id, user_id=OFFICER, channel=card.channel, message_ts=card.ts, block_id=block_id, **options
    )
    w.h.wait()
    return told(w, result)


# -- reply ids beyond PostgreSQL's integer -----------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "action_id"),
    [(403, "retry_send"), (503, "confirm_posted"), (503, "confirm_not_posted")],
)
def test_a_reply_id_too_large_for_a_row_is_no_reply_of_this_card(
    ctx: Context, failure: int, action_id: str
) -> None:
    """Through the real click path, on SQLite and (with TEST_DATABASE_URL) PostgreSQL, where asking
    for such an id was an error ("something went wrong")."""
    with world(ctx) as w:
        mid, card = w.posted()
        w.fake_x.fail_next(r"/2/tweets$", Response(failure, {"title": "No", "status": failure}))
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        before = mention(ctx, mid).reply_status
        assert click(w, w.card(mid), action_id, f"m:{mid}", value=f"{mid}:{TOO_LARGE}") == NOT_THIS_CARD
        assert mention(ctx, mid).reply_status == before
        assert len(w.fake_x.calls(r"/2/tweets$", "POST")) == 1


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_reply_getters_answer_none_for_an_id_postgresql_cannot_hold(ctx: Context, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite takes any integer; the overflow is PostgreSQL's")
    with ctx.transaction() as session:
        assert replies.get(session, TOO_LARGE) is None
        assert replies.get(session, 0) is None
        assert replies.sent_at(session, TOO_LARGE) is None
        assert session.scalar(select(Reply.id)) is None  # the transaction is still usable


def test_reply_getters_find_a_reply_within_range(ctx: Context) -> None:
    with world(ctx) as w:
        mid, _card = w.posted()
        at = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
        with ctx.transaction() as session:
            reply_id = replies.add_reply(session, mid, "thanks", "draft:1", "sending", OFFICER, at).id
        with ctx.transaction() as session:
            found = replies.get(session, reply_id)
            assert found is not None
            assert found.mention_id == mid
            assert replies.sent_at(session, reply_id) == at


# -- block ids: ASCII digits, anchored at the very end ----------------------------------------------


@pytest.mark.parametrize(
    "value", ["m:\u0661", "m:1\n", "m:\u0661:status", "m:1:d1\n", "m:\uff11", "m:", "m:1:"]
)
def test_a_block_id_with_other_digits_or_a_trailing_newline_names_no_item(value: str) -> None:
    assert action_ids.mention_from_block(value) is None


@pytest.mark.parametrize(("value", "expected"), [("m:1", 1), ("m:42:status", 42), ("m:7:d3", 7)])
def test_a_block_id_of_a_card_names_its_item(value: str, expected: int) -> None:
    assert action_ids.mention_from_block(value) == expected


@pytest.mark.parametrize("value", ["s:\u0661", "s:1\n", "s:1:\u0662", "s:1:5\n", "s:\u0661:5"])
def test_a_storm_block_id_with_other_digits_or_a_trailing_newline_names_no_storm(value: str) -> None:
    assert action_ids.storm_from_block(value) is None
    assert action_ids.storm_drawn_at(value) is None


def test_a_storm_block_id_names_its_storm_and_when_it_was_drawn() -> None:
    drawn = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    block = action_ids.storm_block(3, drawn)
    assert action_ids.storm_from_block(block) == 3
    assert action_ids.storm_drawn_at(block) == drawn
    assert action_ids.storm_from_block("s:3") == 3


def test_send_action_ids_and_draft_marks_take_nothing_after_them() -> None:
    assert action_ids.SEND_REPLY_PATTERN.match("send_reply:1")
    assert not action_ids.SEND_REPLY_PATTERN.match("send_reply:1\n")
    mark = action_ids.draft_mark("thanks")
    assert action_ids.parse_send_value(f"5:1:{mark}") == (5, 1, mark)
    assert action_ids.parse_send_value(f"5:1:{mark}\n") is None


@pytest.mark.parametrize("block_id", ["m:\u0661", "m:1\n"])
def test_a_click_whose_block_id_has_other_digits_changes_nothing(ctx: Context, block_id: str) -> None:
    """Reclassify reads its item from the block id only: "m:١" was read as item #1."""
    with world(ctx) as w:
        mid, card = w.posted()
        assert mid == 1
        shown = {"text": {"type": "plain_text", "text": "Question"}, "value": "question"}
        assert click(w, card, "reclassify", block_id, selected_option=shown) == BAD_VALUE
        with ctx.transaction() as session:
            assert session.scalar(select(Mention.category).where(Mention.id == mid)) == "compliment"


def test_a_send_click_with_another_scripts_digit_sends_nothing(ctx: Context) -> None:
    """ "send_reply:١" (an Arabic-Indic one) was taken for draft 1 and sent it."""
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.sender.click(
            "send_reply:\u0661",
            user_id=OFFICER,
            channel=card.channel,
            message_ts=card.ts,
            block_id=f"m:{mid}",
            value=f"{mid}:1",
        )
        w.h.wait()
        assert w.fake_x.calls(r"/2/tweets$", "POST") == []
        assert mention(ctx, mid).reply_status == "none"


@pytest.mark.parametrize("token", ["U0123ABCD\n", "<@U0123ABCD>\n", "C0123ABCD\n"])
def test_slack_ids_take_nothing_after_them(token: str) -> None:
    from bot.core import ids

    assert ids.typed_user(token.rstrip("\n")) or ids.is_channel_id(token.rstrip("\n"))
    assert not ids.is_user_id(token)
    assert not ids.is_channel_id(token)
    assert ids.USER_MENTION.match(token) is None
