"""Errors inside the Edit & send form: Slack shows them as plain text, so they carry no mrkdwn.

A view's input error is not mrkdwn: `<@U…>` and `<!date^…|…>` would reach the officer as typed.
"""

from __future__ import annotations

import re
import time
from typing import Any

from bot.core.context import Context
from bot.slack.plain_text import _name_of, modal_text
from tests.review.test_actions import edit_submit, replies_of
from tests.support.fakes.server import Response
from tests.support.world import ADMIN, OFFICER, STRANGER, SUPERVISOR, world

RAW = re.compile(r"<[@!#]|&(lt|gt|amp);")


def error_of(result: Any) -> str:
    assert result.json["response_action"] == "errors"
    return str(result.json["errors"]["reply"])


def test_already_sent_names_the_sender_and_the_time_in_plain_words(ctx: Context) -> None:
    with world(ctx) as w:
        w.fake.add_user(SUPERVISOR, name="casey.p", real_name="Casey Park")
        mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)  # the form is open ...
        w.h.click(card, "send_reply:1", user_id=SUPERVISOR)  # ... when someone else sends
        error = error_of(edit_submit(w, card, "my own words", OFFICER))
        [reply] = replies_of(ctx, mid)
        assert reply.completed_at is not None
        assert error == f"Already sent by casey.p at {reply.completed_at:%Y-%m-%d %H:%M} UTC."
        assert len(w.fake_x.replies) == 1


def test_the_role_refusal_names_the_admins_and_keeps_no_tokens(ctx: Context) -> None:
    with world(ctx) as w:
        w.fake.add_user(ADMIN, name="ada")
        _mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        error = error_of(edit_submit(w, card, "hello", STRANGER))
        assert "You need the officer role" in error
        assert "admins here: ada." in error
        assert not RAW.search(error), error
        assert w.fake_x.replies == []


def test_a_name_slack_will_not_give_is_someone_else(ctx: Context) -> None:
    with world(ctx) as w:
        _mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        w.fake.fail_next(r"users\.info$", Response(200, {"ok": False, "error": "missing_scope"}))
        error = error_of(edit_submit(w, card, "hello", STRANGER))
        assert "admins here: someone else." in error
        assert not RAW.search(error), error


def test_a_slow_users_info_does_not_make_the_form_miss_slacks_three_seconds(ctx: Context) -> None:
    with world(ctx) as w:
        _mid, card = w.posted()
        w.h.click(card, "edit_reply", user_id=OFFICER)
        w.fake.fail_next(r"users\.info$", Response(200, {"ok": True, "user": {"name": "late"}}, delay=5))
        started = time.monotonic()
        error = error_of(edit_submit(w, card, "hello", STRANGER))
        assert time.monotonic() - started < 2.5
        assert "admins here: someone else." in error


def test_each_kind_of_token_becomes_words(ctx: Context) -> None:
    ctx.slack = None  # nobody to ask: users become "someone else", the rest needs no lookup
    text = (
        "By <@U0ADMIN01> at <!date^1796607998^{date_short_pretty} at {time}|2026-12-07 01:46 UTC>"
        " in <#C0REVIEW01|review>, see <https://example.gov/a?x=1&amp;y=2|the guide> or"
        " <https://example.gov>; &lt;3 &amp; more, <!here>, <@U0SOMEONE|sam>."
    )
    assert modal_text(ctx, text) == (
        "By someone else at 2026-12-07 01:46 UTC in #review, see the guide or"
        " https://example.gov; <3 & more, @here, sam."
    )


def test_a_name_is_the_display_name_else_the_real_name_else_the_user_name() -> None:
    profile = {"display_name": "", "real_name": "Ada Lovelace"}
    assert _name_of({"name": "ada", "profile": {"display_name": "ada.l", "real_name": "Ada"}}) == "ada.l"
    assert _name_of({"name": "ada", "real_name": "Ada L", "profile": profile}) == "Ada Lovelace"
    assert _name_of({"name": "ada", "profile": {"display_name": " "}}) == "ada"
    assert _name_of({}) is None
