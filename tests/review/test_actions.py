"""Card clicks driven as signed Slack requests: send, edit, like, dismiss, reclassify, assign."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.core.context import Context
from storage.models import AuditEvent, Correction, Mention, Reply
from tests.support.fakes.server import Response
from tests.support.signed import find_element
from tests.support.world import ADMIN, DRAFTS, OFFICER, REVIEW, STRANGER, SUPERVISOR, World, mention, world


def replies_of(ctx: Context, mention_id: int) -> list[Reply]:
    with ctx.transaction() as session:
        return list(session.scalars(select(Reply).where(Reply.mention_id == mention_id).order_by(Reply.id)))


def audit_actions(ctx: Context, mention_id: int) -> list[str]:
    with ctx.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.mention_id == mention_id).order_by(AuditEvent.id)
            )
        )


def told(w: World, result: Any, user: str | None = None) -> str:
    return "\n".join(w.h.ephemeral_texts(result, user))


# -- Send ------------------------------------------------------------------------------------------


def test_send_posts_the_draft_and_updates_the_card_in_place(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        result = w.h.click(card, "send_reply:2", user_id=OFFICER)
        assert result.status == 200
        [posted] = w.fake_x.replies
        assert posted["text"] == mention(ctx, mid).drafts["items"][1]["text"]  # type: ignore[index]
        assert posted["reply"]["in_reply_to_tweet_id"] == mention(ctx, mid).external_id
        row = mention(ctx, mid)
        assert (row.state, row.reply_status, row.responded_by) == ("replied", "sent", OFFICER)
        assert row.first_response_at is not None
        updated = w.card(mid)
        text = str(updated.blocks)
        assert "Replied" in text
        assert f"<@{OFFICER}>" in text
        assert f"status/{posted['id']}" in text
        assert all(b["type"] != "actions" for b in updated.blocks), "the action buttons are gone"
        assert len(w.fake.messages(REVIEW)) == 1
        assert audit_actions(ctx, mid)[-2:] == ["reply_requested", "reply_sent"]


def test_twenty_five_concurrent_send_clicks_post_one_reply(ctx: Context) -> None:
    """Officers, double-clicks and retries at once: one public reply, the others told who sent it."""
    with world(ctx) as w:
        mid, card = w.posted()
        users = [OFFICER, SUPERVISOR, ADMIN]

        def click(n: int) -> Any:
            return w.h.sender.click(
                f"send_reply:{n % 3 + 1}",
                user_id=users[n % 3],
                channel=card.channel,
                message_ts=card.ts,
                block_id=f"m:{mid}:d{n % 3 + 1}",
                value=f"{mid}:{n % 3 + 1}",
            )

        with ThreadPoolExecutor(25) as pool:
            results = list(pool.map(click, range(25)))
        w.h.wait()
        assert all(r.status == 200 for r in results)
        assert len(w.fake_x.replies) == 1
        assert len(replies_of(ctx, mid)) == 1
        losers = [told(w, r) for r in results if w.fake.responses_to(r.response_url)]
        assert len(losers) == 24
        sender = replies_of(ctx, mid)[0].requested_by
        assert all(
            f"<@{sender}>" in text and ("Already sent" in text or "being sent" in text) for text in losers
        )


def test_platform_refusal_shows_on_the_card_with_retry(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.fake_x.fail_next(
            r"/2/tweets$",
            Response(403, {"title": "Forbidden", "detail": "You are not allowed", "status": 403}),
        )
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        row = mention(ctx, mid)
        assert (row.state, row.reply_status) == ("open", "failed")
        updated = w.card(mid)
        assert "refused the reply" in str(updated.blocks)
        [reply] = replies_of(ctx, mid)
        _block_id, retry = find_element(updated.blocks, "retry_send")
        assert retry["value"] == f"{mid}:{reply.id}"
        w.h.click(updated, "retry_send", user_id=OFFICER)
        assert len(w.fake_x.replies) == 1
        assert mention(ctx, mid).reply_status == "sent"
        assert [r.status for r in replies_of(ctx, mid)] == ["failed", "sent"]


@pytest.mark.parametrize(
    ("failure", "action_id"),
    [(403, "retry_send"), (503, "confirm_posted"), (503, "confirm_not_posted")],
)
def test_a_reply_button_naming_a_reply_of_another_item_changes_nothing(
    ctx: Context, failure: int, action_id: str
) -> None:
    """The value `<mention>:<reply>` must name this item's reply: another item's is refused as not
    this card's, and neither reply moves."""
    with world(ctx) as w:
        mid, card = w.posted()
        other, other_card = w.posted()
        for its_card in (card, other_card):
            w.fake_x.fail_next(r"/2/tweets$", Response(failure, {"title": "No", "status": failure}))
            w.h.click(its_card, "send_reply:1", user_id=OFFICER)
        [foreign] = replies_of(ctx, other)
        updated = w.card(mid)
        block_id, _ = find_element(updated.blocks, action_id)
        before = [(r.mention_id, r.status) for r in replies_of(ctx, mid) + replies_of(ctx, other)]
        result = w.h.sender.click(
            action_id,
            user_id=OFFICER,
            channel=updated.channel,
            message_ts=updated.ts,
            block_id=block_id,
            value=f"{mid}:{foreign.id}",
        )
        w.h.wait()
        assert told(w, result) == "This button doesn't belong to this card. Nothing was changed."
        assert [(r.mention_id, r.status) for r in replies_of(ctx, mid) + replies_of(ctx, other)] == before
        assert len(w.fake_x.calls(r"/2/tweets$", "POST")) == 2


def test_ambiguous_outcome_is_unknown_never_retried_and_asks_staff(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.fake_x.fail_next(r"/2/tweets$", Response(503, {"title": "Service Unavailable", "status": 503}))
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        assert mention(ctx, mid).reply_status == "unknown"
        assert len(w.fake_x.calls(r"/2/tweets$", "POST")) == 1, "no automatic retry"
        updated = w.card(mid)
        assert "could not confirm" in str(updated.blocks)
        assert "Check the post on X" in str(updated.blocks)
        # Another officer clicking Send on a stale copy of the card is refused.
        again = w.h.click(card, "send_reply:2", user_id=SUPERVISOR)
        assert "may have been posted" in told(w, again)
        assert len(w.fake_x.calls(r"/2/tweets$", "POST")) == 1
        # Staff checked X: it was not posted. The card offers the drafts again.
        w.h.click(updated, "confirm_not_posted", user_id=OFFICER)
        assert mention(ctx, mid).reply_status == "failed"
        find_element(w.card(mid).blocks, "send_reply:1")
        text = str(w.card(mid).blocks)
        assert "The reply was not posted" in text
        assert "refused" not in text, "X refused nothing: staff found it was not posted"
        late = w.h.click(updated, "confirm_posted", user_id=SUPERVISOR)  # a stale copy of the card
        assert "already recorded what happened" in told(w, late)
        assert mention(ctx, mid).reply_status == "failed"


def test_a_reply_confirmed_posted_counts_as_answered_when_it_was_sent(ctx: Context, clock: Any) -> None:
    """Staff check X hours later: the response time is the reply's, not the check's."""
    with world(ctx) as w:
        mid, card = w.posted()
        sent_at = clock.now()
        w.fake_x.fail_next(r"/2/tweets$", Response(500, {"title": "Internal", "status": 500}))
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        clock.advance(hours=3)
        w.h.click(w.card(mid), "confirm_posted", user_id=SUPERVISOR)
        row = mention(ctx, mid)
        assert row.state == "replied"
        assert row.first_response_at == sent_at


def test_a_platform_answer_that_arrives_after_the_sweep_gave_up_on_it_settles_the_reply(
    ctx: Context, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """X answers after STALE_SENDING: the reply was `unknown`; X's answer is the truth, once."""
    from bot.review.cards import post_pending_cards
    from connectors.x import XConnector

    real_reply = XConnector.reply

    def slow_reply(self: XConnector, *args: Any) -> Any:
        posted = real_reply(self, *args)
        clock.advance(minutes=11)  # the call hung; meanwhile the sweep turned the reply unknown
        post_pending_cards(ctx)
        assert mention(ctx, mid).reply_status == "unknown"
        return posted

    with world(ctx) as w:
        mid, card = w.posted()
        monkeypatch.setattr(XConnector, "reply", slow_reply)
        clicked_at = clock.now()
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        row = mention(ctx, mid)
        assert (row.state, row.reply_status) == ("replied", "sent")
        assert row.first_response_at == clicked_at  # answered when sent, not when X answered
        [reply] = replies_of(ctx, mid)
        [posted] = w.fake_x.replies
        assert (reply.status, reply.external_id) == ("sent", posted["id"])
        assert "could not confirm" not in str(w.card(mid).blocks)
        assert audit_actions(ctx, mid)[-2:] == ["reply_unknown", "reply_sent"]


def test_a_late_platform_answer_never_overwrites_what_staff_recorded(
    ctx: Context, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.review import replies
    from bot.review.cards import post_pending_cards
    from connectors.x import XConnector

    real_reply = XConnector.reply

    def slow_reply(self: XConnector, *args: Any) -> Any:
        posted = real_reply(self, *args)
        clock.advance(minutes=11)
        post_pending_cards(ctx)
        [reply] = replies_of(ctx, mid)
        replies.confirm_unknown(ctx, mid, reply.id, posted=False, by=SUPERVISOR)  # a wrong check
        return posted

    with world(ctx) as w:
        mid, card = w.posted()
        monkeypatch.setattr(XConnector, "reply", slow_reply)
        result = w.h.click(card, "send_reply:1", user_id=OFFICER)
        assert "has now posted this reply" in told(w, result)
        assert [r.status for r in replies_of(ctx, mid)] == ["failed"]  # the person's record stands
        assert "reply_late_answer" in audit_actions(ctx, mid)


def test_a_click_on_a_card_whose_post_was_not_recorded_yet_says_to_wait(ctx: Context) -> None:
    """Slack showed the card but its answer was lost (crash, timeout): the sweep adopts it soon."""
    with world(ctx) as w:
        mid, card = w.posted()
        with ctx.transaction() as session:
            session.execute(
                update(Mention)
                .where(Mention.id == mid)
                .values(card_status="posting", card_ts=None, card_channel=None)
            )
        result = w.h.click(card, "send_reply:1", user_id=OFFICER)
        assert "has not recorded this card yet" in told(w, result)
        assert w.fake_x.replies == []


def test_unknown_reply_confirmed_posted_closes_the_item(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.fake_x.fail_next(r"/2/tweets$", Response(500, {"title": "Internal", "status": 500}))
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        w.h.click(w.card(mid), "confirm_posted", user_id=SUPERVISOR)
        row = mention(ctx, mid)
        assert (row.state, row.reply_status) == ("replied", "sent")
        assert "reply_confirmed_posted" in audit_actions(ctx, mid)
        # Nobody knows the reply's address: the card links the post it answers, and shows no
        # "View the reply" label that looks like a link and is not one.
        status = next(b for b in w.card(mid).blocks if b.get("block_id") == f"m:{mid}:status")
        assert "View the reply" not in status["text"]["text"]
        assert f"<{row.url}|Open the post on X to see the reply>" in status["text"]["text"]


# -- roles and tampering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "options", "role"),
    [
        ("send_reply:1", {}, "officer"),
        ("like", {}, "officer"),
        ("dismiss", {"option_value": "spam"}, "officer"),
        ("reclassify", {"option_value": "question"}, "officer"),
        ("assign", {"selected_user": "U0OFFICER1"}, "supervisor"),
        ("edit_reply", {}, "officer"),
    ],
)
def test_user_without_the_role_is_told_and_nothing_changes(
    ctx: Context, action: str, options: dict[str, Any], role: str
) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        before = mention(ctx, mid)
        user = STRANGER if role == "officer" else OFFICER
        result = w.h.click(card, action, user_id=user, **options)
        text = told(w, result)
        assert f"You need the {role} role" in text
        assert f"<@{ADMIN}>" in text
        assert "/twoway role" in text
        after = mention(ctx, mid)
        assert (after.state, after.reply_status, after.like_status, after.assignee, after.category) == (
            before.state,
            before.reply_status,
            before.like_status,
            before.assignee,
            before.category,
        )
        assert w.fake_x.replies == []
        assert w.fake_x.likes == []
        assert w.fake.views_opened == []
        assert w.fake.api_calls("chat.update") == []


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "",
        "1:2:3",
        "1:1:ZZZZZZZZZZ",
        "1:1:",
        "-1:1",
        "99999:1",
        "{other}:1",
        "1:9",
        "0:1",
        "1;DROP TABLE mentions:1",
    ],
)
def test_tampered_send_values_get_an_error_and_change_nothing(ctx: Context, value: str) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        other, _ = w.posted("another mention")
        value = value.replace("{other}", str(other))
        result = w.h.sender.click(
            "send_reply:1",
            user_id=OFFICER,
            channel=card.channel,
            message_ts=card.ts,
            block_id=f"m:{mid}:d1",
            value=value,
        )
        w.h.wait()
        assert result.status == 200
        text = told(w, result)
        assert "Nothing was changed" in text
        assert w.fake_x.replies == []
        assert replies_of(ctx, mid) == []
        assert replies_of(ctx, other) == []
        assert w.fake.api_calls("chat.update") == []


def test_another_cards_button_cannot_act_on_this_card(ctx: Context) -> None:
    """A value naming another item, sent from this card's message, is refused."""
    with world(ctx) as w:
        _mid, card = w.posted()
        other, _other_card = w.posted("second")
        result = w.h.sender.click(
            "like",
            user_id=OFFICER,
            channel=card.channel,
            message_ts=card.ts,
            block_id=f"m:{other}",
            value=str(other),
        )
        w.h.wait()
        assert "doesn't belong to this card" in told(w, result)
        assert w.fake_x.likes == []
        assert mention(ctx, other).like_status is None


def test_bad_and_stale_signatures_are_refused_with_401(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        for options in ({"bad_signature": True}, {"stale": True}):
            result = w.h.sender.click(
                "send_reply:1",
                user_id=OFFICER,
                channel=card.channel,
                message_ts=card.ts,
                block_id=f"m:{mid}:d1",
                value=f"{mid}:1",
                **options,
            )
            assert result.status == 401
            assert w.h.sender.command("help", ADMIN, **options).status == 401
        w.h.wait()
        assert w.fake_x.replies == []


# -- Edit & send ----------------------------------------------------------------------------------------


def edit_submit(w: World, card: Any, text: str, user: str) -> Any:
    view = w.fake.views_opened[-1]["view"]
    assert view["callback_id"] == "edit_reply"
    return w.h.sender.submit_view(
        "edit_reply",
        {"reply": {"text": {"type": "plain_text_input", "value": text}}},
        view["private_metadata"],
        user_id=user,
    )


def test_edit_opens_a_prefilled_modal_and_posts_the_text_verbatim(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        [opened] = w.fake.views_opened
        view = opened["view"]
        first_input = next(b for b in view["blocks"] if b["type"] == "input")
        assert first_input["element"]["multiline"] is True
        assert first_input["element"]["initial_value"] == mention(ctx, mid).drafts["items"][0]["text"]  # type: ignore[index]
        assert "/280" in json.dumps(view)
        text = "Thanks & welcome <3 — see https://example.gov/a-very-long-path?x=1&y=2 for hours"
        result = edit_submit(w, card, text, OFFICER)
        w.h.wait()
        assert (result.status == 200 and result.body in ("", "{}")) or result.json == {}
        [posted] = w.fake_x.replies
        assert posted["text"] == text
        assert replies_of(ctx, mid)[0].source == "edited"
        assert "Replied" in str(w.card(mid).blocks)


def test_edit_too_long_for_x_is_refused_in_the_form_with_the_count(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        result = edit_submit(w, card, "a" * 312, OFFICER)
        w.h.wait()
        assert result.json["response_action"] == "errors"
        assert "312/280 weighted characters" in result.json["errors"]["reply"]
        assert w.fake_x.replies == []
        assert replies_of(ctx, mid) == []


@pytest.mark.parametrize("text", ["\u200b\u200b", "\u2060 \u200d", "\u3164", "\u202e\u202c", "\x00\n\x1b"])
def test_an_edit_that_shows_nothing_is_refused_and_nothing_goes_out(ctx: Context, text: str) -> None:
    """Invisible characters pass `strip()`; posting them would publish an empty-looking reply and
    mark the item answered."""
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        result = edit_submit(w, card, text, OFFICER)
        w.h.wait()
        assert result.json == {"response_action": "errors", "errors": {"reply": "Write a reply first."}}
        assert w.fake_x.replies == []
        assert replies_of(ctx, mid) == []
        assert mention(ctx, mid).state == "open"


def test_control_characters_are_taken_out_of_an_edited_reply(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        edit_submit(w, card, "We are\x00 looking\x1b into it.\r\nThank you\x07", OFFICER)
        w.h.wait()
        [posted] = w.fake_x.replies
        assert posted["text"] == "We are looking into it.\nThank you"
        assert replies_of(ctx, mid)[0].text == posted["text"]


def test_an_edited_reply_that_loses_the_race_is_given_back(ctx: Context) -> None:
    """Two officers submit Edit & send at once and both pass the form's check: one reply goes out,
    and the other officer, whose form has closed, gets their words back with who won."""
    from bot.review import replies

    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        winner = edit_submit(w, card, "answer from one", OFFICER)
        assert winner.status == 200
        w.h.wait()
        # The second submission passed its check before the first claim; it reaches the claim now.
        loser = replies.send_reply(ctx, mid, "answer from two\nwith a second line", "edited", SUPERVISOR)
        assert loser.outcome == "refused"
        assert f"Already sent by <@{OFFICER}>" in loser.message
        assert "> answer from two\n> with a second line" in loser.message
        assert [r["text"] for r in w.fake_x.replies] == ["answer from one"]
        draft = replies.send_reply(ctx, mid, DRAFTS[0], "draft:1", SUPERVISOR)
        assert "Your text" not in draft.message, "a draft is still on the card: nothing to give back"


def test_after_an_edited_reply_is_refused_edit_and_send_starts_from_that_text(ctx: Context) -> None:
    """X refused the officer's own words (a duplicate): the form opens with them, to change a
    few words, not with draft 1."""
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        w.fake_x.fail_next(
            r"/2/tweets$",
            Response(
                403,
                {
                    "title": "Forbidden",
                    "detail": "You are not allowed to create a Tweet with duplicate content.",
                    "status": 403,
                },
            ),
        )
        edit_submit(w, card, "Our own words & more", OFFICER)
        w.h.wait()
        assert mention(ctx, mid).reply_status == "failed"
        w.h.click(w.card(mid), "edit_reply", user_id=OFFICER)
        view = w.fake.views_opened[-1]["view"]
        first_input = next(b for b in view["blocks"] if b["type"] == "input")
        assert first_input["element"]["initial_value"] == "Our own words & more"
        assert "The draft is 20/280" in first_input["hint"]["text"]


def test_the_facebook_form_says_the_limit_of_what_can_be_typed_in_it(ctx: Context, clock: Any) -> None:
    """Facebook takes 8,000 characters, Slack's box 3,000: the hint promises only what fits."""
    from tests.review.test_hide import hider, intake

    with hider(ctx, clock) as w:
        comment = w.graph.add_comment(w.graph.add_post("Road closure"), "when does it reopen?")
        intake(ctx)
        _mid, card = w.card_of(comment["id"])
        w.h.click(card, "edit_reply", user_id=OFFICER)
        view = w.h.fake.views_opened[-1]["view"]
        first_input = next(b for b in view["blocks"] if b["type"] == "input")
        hint = first_input["hint"]["text"]
        assert first_input["element"]["max_length"] == 3000
        assert hint.startswith("Up to 3000 characters: Slack's limit for this box (Facebook takes 8000).")
        assert "/3000." in hint
        assert "/8000" not in hint


def test_edit_by_someone_without_a_role_is_refused_in_the_form(ctx: Context) -> None:
    with world(ctx) as w:
        _mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        result = edit_submit(w, card, "hello", STRANGER)
        assert "You need the officer role" in result.json["errors"]["reply"]
        assert w.fake_x.replies == []


# -- Like, dismiss, reclassify, assign, manual ----------------------------------------------------------------


def test_like_likes_once_and_shows_who(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "like", user_id=OFFICER)
        again = w.h.click(card, "like", user_id=SUPERVISOR)
        assert w.fake_x.likes == [mention(ctx, mid).external_id]
        assert "Already liked by" in told(w, again)
        text = str(w.card(mid).blocks)
        assert f"Liked by <@{OFFICER}>" in text
        with pytest.raises(LookupError):
            find_element(w.card(mid).blocks, "like")


def test_dismiss_with_a_reason_closes_the_item_once(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "dismiss", user_id=OFFICER, option_value="handled_elsewhere")
        row = mention(ctx, mid)
        assert (row.state, row.dismissed_reason, row.dismissed_by) == (
            "dismissed",
            "handled_elsewhere",
            OFFICER,
        )
        assert "Handled elsewhere" in str(w.card(mid).blocks)
        late = w.h.click(card, "send_reply:1", user_id=SUPERVISOR)
        assert "needing no reply" in told(w, late)
        assert w.fake_x.replies == []
        assert audit_actions(ctx, mid).count("dismissed") == 1


@pytest.mark.parametrize(
    "picked",
    [
        {"selected_option": "because"},  # a reason that is not one of the options
        {"element_type": "static_select"},  # no option at all: Slack never sends that
    ],
)
def test_a_dismiss_without_a_listed_reason_changes_nothing(ctx: Context, picked: dict[str, Any]) -> None:
    """Refused as not valid, never read as "no reply needed"."""
    with world(ctx) as w:
        mid, card = w.posted()
        block_id, _ = find_element(card.blocks, "dismiss")
        result = w.h.sender.click(
            "dismiss", user_id=OFFICER, channel=card.channel, message_ts=card.ts, block_id=block_id, **picked
        )
        w.h.wait()
        assert "not valid" in told(w, result)
        assert mention(ctx, mid).state == "open"


@pytest.mark.parametrize(
    ("action_id", "value", "state", "category"),
    [
        ("dismiss", "{mid}", "dismissed", None),  # a plain "No reply needed" button
        ("dismiss", "{mid}:spam", "dismissed", None),
        ("reclassify", "{mid}:question", "open", "question"),
    ],
)
def test_buttons_naming_the_item_in_their_value_work_too(
    ctx: Context, action_id: str, value: str, state: str, category: str | None
) -> None:
    """A client that sends `<id>[:choice]` as a button value instead of a select is understood."""
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.sender.click(
            action_id,
            user_id=OFFICER,
            channel=card.channel,
            message_ts=card.ts,
            block_id="actions",
            value=value.format(mid=mid),
        )
        w.h.wait()
        row = mention(ctx, mid)
        assert row.state == state
        if category is not None:
            assert row.category == category
        else:
            assert row.dismissed_reason in {"not_needed", "spam"}


def test_a_button_value_naming_another_card_changes_nothing(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        other, _ = w.posted()
        result = w.h.sender.click(
            "dismiss",
            user_id=OFFICER,
            channel=card.channel,
            message_ts=card.ts,
            block_id="actions",
            value=str(other),
        )
        w.h.wait()
        assert "doesn't belong" in told(w, result)
        assert mention(ctx, other).state == "open"
        assert mention(ctx, mid).state == "open"


def test_reclassify_records_the_correction_and_redraws(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "reclassify", user_id=OFFICER, option_value="question")
        assert mention(ctx, mid).category == "question"
        with ctx.transaction() as session:
            assert (
                session.scalar(
                    select(func.count()).select_from(Correction).where(Correction.mention_id == mid)
                )
                == 1
            )
        text = str(w.card(mid).blocks)
        assert "Question" in text
        assert f"reclassified by <@{OFFICER}>" in text


def test_send_on_a_card_drawn_before_a_reclassify_sends_nothing_and_shows_the_new_drafts(
    ctx: Context,
) -> None:
    with world(ctx) as w:
        mid, seen = w.posted("where can I get a permit for a parade?", category="question")
        w.h.click(seen, "reclassify", user_id=SUPERVISOR, option_value="compliment")
        redrawn = len(w.fake.api_calls("chat.update"))
        # The officer's Slack still shows the card as it was before the reclassify.
        stale = w.h.click(seen, "send_reply:1", user_id=OFFICER)
        assert "nothing was sent" in told(w, stale, OFFICER)
        assert w.fake_x.replies == []
        assert replies_of(ctx, mid) == []
        assert len(w.fake.api_calls("chat.update")) == redrawn + 1  # drawn again, to be sure
        current = w.card(mid)
        w.h.click(current, "send_reply:1", user_id=OFFICER)
        [posted] = w.fake_x.replies
        assert posted["text"] == mention(ctx, mid).drafts["items"][0]["text"]  # type: ignore[index]


def test_when_the_redraw_failed_the_old_cards_send_redraws_it_instead_of_sending_unseen_words(
    ctx: Context,
) -> None:
    with world(ctx) as w:
        mid, card = w.posted("where can I get a permit for a parade?", category="question")
        shown = str(card.blocks)
        w.fake.fail_next(r"chat\.update$", Response(200, {"ok": False, "error": "msg_too_long"}))
        w.h.click(card, "reclassify", user_id=SUPERVISOR, option_value="compliment")
        still = w.card(mid)
        assert str(still.blocks) == shown  # Slack kept the old card
        refused = w.h.click(still, "send_reply:1", user_id=OFFICER)
        assert "nothing was sent" in told(w, refused, OFFICER)
        assert w.fake_x.replies == []
        assert "Compliment" in str(w.card(mid).blocks)  # this time the redraw went through


def test_send_on_a_stale_card_for_a_draft_that_is_gone_redraws_instead_of_refusing_the_value(
    ctx: Context,
) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        with ctx.transaction() as session:
            drafts = {
                "items": [{"text": "Thanks for reaching out, we will look into it.", "source": "template"}]
            }
            session.execute(update(Mention).where(Mention.id == mid).values(drafts=drafts))
        before = len(w.fake.api_calls("chat.update"))
        stale = w.h.click(card, "send_reply:3", user_id=OFFICER)  # the old card still shows three
        assert "nothing was sent" in told(w, stale, OFFICER)
        assert w.fake_x.replies == []
        assert len(w.fake.api_calls("chat.update")) == before + 1
        assert "send_reply:3" not in str(w.card(mid).blocks)


def test_a_send_value_without_the_draft_mark_sends_the_current_draft(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        block_id, _ = find_element(card.blocks, "send_reply:2")
        w.h.sender.click(
            "send_reply:2",
            user_id=OFFICER,
            channel=card.channel,
            message_ts=card.ts,
            block_id=block_id,
            value=f"{mid}:2",
        )
        w.h.wait()
        [posted] = w.fake_x.replies
        assert posted["text"] == mention(ctx, mid).drafts["items"][1]["text"]  # type: ignore[index]


def test_supervisor_assigns_from_the_card(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.h.click(card, "assign", user_id=SUPERVISOR, selected_user=OFFICER)
        assert mention(ctx, mid).assignee == OFFICER
        assert f"Assigned to <@{OFFICER}>" in str(w.card(mid).blocks)
        assert w.fake.dms(OFFICER), "the assignee gets a DM"


def test_mark_replied_manually_on_a_restricted_x_item(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted(explicit_mention=False)
        forged = w.h.sender.click(
            "send_reply:1",
            user_id=OFFICER,
            channel=card.channel,
            message_ts=card.ts,
            block_id=f"m:{mid}:d1",
            value=f"{mid}:1",
        )
        w.h.wait()
        assert "cannot reply" in told(w, forged)
        assert w.fake_x.replies == []
        w.h.click(card, "mark_replied_manually", user_id=OFFICER)
        row = mention(ctx, mid)
        assert (row.state, row.reply_status, row.responded_by) == ("replied", "manual", OFFICER)
        assert "Marked as replied manually" in str(w.card(mid).blocks)
        assert "marked_replied_manually" in audit_actions(ctx, mid)


@pytest.mark.parametrize("action", ["send_reply:1", "dismiss", "like", "mark_replied_manually"])
def test_a_click_naming_an_item_past_postgresqls_integer_is_told_there_is_no_such_item(
    ctx: Context, action: str
) -> None:
    """A crafted value (or a pasted tweet id) beyond the database's integer: the same answer as
    any other unknown item, on PostgreSQL as on SQLite, and nothing is changed."""
    with world(ctx) as w:
        mid, _ = w.posted()
        value = "3000000000:1" if action.startswith("send_reply") else "3000000000"
        result = w.h.sender.click(
            action,
            user_id=OFFICER,
            channel=REVIEW,
            message_ts="1.000001",
            block_id="x",
            value=value,
        )
        w.h.wait()
        assert result.status == 200
        assert "no item #3000000000" in told(w, result)
        row = mention(ctx, mid)
        assert (row.state, row.reply_status, row.like_status) == ("open", "none", None)


def test_no_listener_answers_500(ctx: Context) -> None:
    """An action from a message that is not a card, with a value for nothing, is acked and explained."""
    with world(ctx) as w:
        w.posted()
        result = w.h.sender.click(
            "like", user_id=OFFICER, channel=REVIEW, message_ts="1.000001", block_id="x", value="12"
        )
        w.h.wait()
        assert result.status == 200
        assert "no item #12" in told(w, result) or "doesn't belong" in told(w, result)
        with ctx.transaction() as session:
            assert (
                session.scalar(
                    select(func.count()).select_from(Mention).where(Mention.like_status.is_not(None))
                )
                == 0
            )


def test_reply_left_sending_by_a_crash_becomes_unknown_not_resent(ctx: Context, clock: Any) -> None:
    from bot.review.cards import post_pending_cards

    with world(ctx) as w:
        mid, _card = w.posted()
        with ctx.transaction() as session:
            session.add(
                Reply(
                    mention_id=mid,
                    text="hi",
                    source="draft:1",
                    status="sending",
                    requested_by=OFFICER,
                    requested_at=clock.now(),
                )
            )
            session.execute(update(Mention).where(Mention.id == mid).values(reply_status="sending"))
        post_pending_cards(ctx)
        assert mention(ctx, mid).reply_status == "sending"  # still fresh
        clock.advance(minutes=11)
        post_pending_cards(ctx)
        assert mention(ctx, mid).reply_status == "unknown"
        assert "could not confirm" in str(w.card(mid).blocks)
        assert w.fake_x.replies == []


def test_like_left_liking_by_a_crash_is_offered_again_not_repeated_by_itself(
    ctx: Context, clock: Any
) -> None:
    from bot.review.cards import post_pending_cards
    from storage import audit

    with world(ctx) as w:
        mid, _card = w.posted()
        with ctx.transaction() as session:  # what the claim leaves behind when the process dies
            session.execute(update(Mention).where(Mention.id == mid).values(like_status="liking"))
            audit.record(session, clock.now(), "like_requested", actor=OFFICER, mention_id=mid)
        post_pending_cards(ctx)
        assert mention(ctx, mid).like_status == "liking"  # still fresh: the like may be under way
        clock.advance(minutes=11)
        post_pending_cards(ctx)
        post_pending_cards(ctx)
        assert mention(ctx, mid).like_status == "failed"
        assert w.fake_x.likes == [], "the sweep never likes on its own"
        assert audit_actions(ctx, mid)[-2:] == ["like_requested", "like_failed"]
        # X may have taken the like before the crash: the card does not say it did not.
        assert "The like did not go through" not in str(w.card(mid).blocks)
        assert "The like may not have gone through; check on X" in str(w.card(mid).blocks)
        w.h.click(w.card(mid), "like", user_id=OFFICER)
        assert w.fake_x.likes == [mention(ctx, mid).external_id]
        assert mention(ctx, mid).like_status == "liked"


def test_revoked_credentials_are_a_definite_failure_with_retry(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.fake_x.revoke()
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        row = mention(ctx, mid)
        assert (row.state, row.reply_status) == ("open", "failed")
        assert "credentials refused" in (replies_of(ctx, mid)[0].error or "")
        find_element(w.card(mid).blocks, "retry_send")
        assert w.fake_x.replies == []


def test_a_failed_card_redraw_never_loses_the_sent_reply(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        w.fake.fail_next(r"chat\.update$", Response(200, {"ok": False, "error": "message_not_found"}))
        w.h.click(card, "send_reply:1", user_id=OFFICER)
        assert mention(ctx, mid).reply_status == "sent"
        assert len(w.fake_x.replies) == 1
        again = w.h.click(card, "send_reply:1", user_id=SUPERVISOR)
        assert "Already sent by" in told(w, again)
        assert len(w.fake_x.replies) == 1
