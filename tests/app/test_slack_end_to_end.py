"""Polled from X and Facebook, triaged, carded, answered: only fakes and signed Slack requests."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from bot.app.pipeline import process
from bot.core.context import Context
from bot.intake.accounts import register_env_accounts
from bot.intake.polling import poll_all_once
from storage.models import Mention
from tests.support.fakes.graph_api import FakeGraph
from tests.support.fakes.x_api import FakeX
from tests.support.signed import running_app
from tests.support.world import OFFICER, REVIEW, add_staff, x_settings


def test_mentions_from_x_and_facebook_become_cards_that_officers_answer(ctx: Context, clock: object) -> None:
    now = ctx.clock.now()
    with FakeX(now=now - timedelta(minutes=30)) as x, FakeGraph(now=now - timedelta(minutes=30)) as graph:
        tweet = x.add_mention("thank you for the quick help last night", author="jane")
        post = graph.add_post("Road closure on Main St today")
        comment = graph.add_comment(post, "Is the bridge open for bikes?", author="Sam Rider")
        env = {
            **x_settings(x),
            "facebook_graph_url": graph.url,
            "facebook_page_id": graph.page["id"],
            "facebook_page_token": SecretStr(graph.page_token),
            "twoway_channel": REVIEW,
        }
        with running_app(ctx, **env) as h:
            add_staff(ctx)
            register_env_accounts(ctx)
            poll_all_once(ctx)
            process(ctx)
            cards = h.fake.messages(REVIEW)
            assert len(cards) == 2
            with ctx.transaction() as session:
                rows = {m.platform: m for m in session.query(Mention).all()}
            assert rows["x"].external_id == tweet["id"]
            assert rows["facebook"].external_id == comment["id"]
            assert all(m.card_status == "posted" for m in rows.values())
            process(ctx)
            assert len(h.fake.messages(REVIEW)) == 2, "a second sweep posts nothing new"

            fb_card = h.fake.message(REVIEW, rows["facebook"].card_ts or "")
            assert "Sam Rider" in str(fb_card.blocks)
            assert "Facebook" in str(fb_card.blocks)
            h.click(fb_card, "edit_reply", user_id=OFFICER)
            view = h.fake.views_opened[-1]["view"]
            answer = "Yes, the bridge is open for bikes & pedestrians."
            h.sender.submit_view(
                "edit_reply",
                {"reply": {"text": {"type": "plain_text_input", "value": answer}}},
                view["private_metadata"],
                user_id=OFFICER,
            )
            h.wait()
            assert [r["message"] for r in graph.comment_replies] == [answer]
            assert [r["object_id"] for r in graph.comment_replies] == [comment["id"]]

            x_card = h.fake.message(REVIEW, rows["x"].card_ts or "")
            h.click(x_card, "dismiss", user_id=OFFICER, option_value="not_needed")
            with ctx.transaction() as session:
                states = {m.platform: (m.state, m.reply_status) for m in session.query(Mention).all()}
            assert states == {"facebook": ("replied", "sent"), "x": ("dismissed", "none")}
