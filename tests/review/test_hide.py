"""The Hide button: offered where the platform can hide an item, hides it once, audited, redrawn.

Signed Slack clicks on the real app; the Facebook connector (facebook-sdk) against the fake Graph
API and the Threads connector against the fake Threads API; SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from bot.core.context import Context
from bot.intake.accounts import register_env_accounts
from bot.intake.polling import poll_all_once
from bot.intake.triage import triage_pending
from bot.review.cards import post_pending_cards
from storage.models import AuditEvent, Mention
from tests.conftest import FakeClock
from tests.support.fakes.graph_api import FakeGraph, graph_error
from tests.support.fakes.server import Recorded, Response
from tests.support.fakes.threads_api import FakeThreads
from tests.support.signed import SlackHarness, find_element, running_app
from tests.support.world import ADMIN, OFFICER, REVIEW, STRANGER, add_staff, mention


@dataclass
class Hider:
    h: SlackHarness
    graph: FakeGraph
    threads: FakeThreads

    def card_of(self, external_id: str) -> tuple[int, Any]:
        ctx = self.h.ctx
        with ctx.transaction() as session:
            row = session.scalar(select(Mention).where(Mention.external_id == external_id))
            assert row is not None
            assert row.card_ts, "no card yet"
            mention_id, channel, ts = row.id, row.card_channel, row.card_ts
        return mention_id, self.h.fake.message(channel, ts)


@contextmanager
def hider(ctx: Context, clock: FakeClock) -> Iterator[Hider]:
    with (
        FakeGraph(now=clock.now()) as graph,
        FakeThreads(now=clock.now(), clock=clock.now) as threads,
        running_app(
            ctx,
            twoway_channel=REVIEW,
            facebook_graph_url=graph.url,
            facebook_page_id=graph.page["id"],  # type: ignore[attr-defined]
            facebook_page_token=SecretStr(graph.page_token),  # type: ignore[attr-defined]
            threads_api_url=threads.url,
            threads_user_id=threads.profile["id"],  # type: ignore[attr-defined]
            threads_token=SecretStr(threads.token),  # type: ignore[attr-defined]
        ) as h,
    ):
        add_staff(ctx)
        yield Hider(h, graph, threads)  # type: ignore[arg-type]


def intake(ctx: Context) -> None:
    register_env_accounts(ctx)
    poll_all_once(ctx)
    triage_pending(ctx)
    post_pending_cards(ctx)


def actions_of(ctx: Context, mention_id: int) -> list[str]:
    with ctx.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.mention_id == mention_id).order_by(AuditEvent.id)
            )
        )


def test_hide_hides_the_comment_once_audits_and_redraws(ctx: Context, clock: FakeClock) -> None:
    with hider(ctx, clock) as w:
        post = w.graph.add_post("Road closure on Main St")
        rude = w.graph.add_comment(post, "you are all useless idiots", author="Angry Person")
        intake(ctx)
        mid, card = w.card_of(rude["id"])
        _block, button = find_element(card.blocks, "hide")
        assert button["value"] == str(mid)
        assert "confirm" in button
        users = [OFFICER, ADMIN, OFFICER, ADMIN]
        with ThreadPoolExecutor(4) as pool:  # a double click and a second officer at once
            list(pool.map(lambda u: w.h.sender.click("hide", user_id=u, channel=card.channel, message_ts=card.ts, block_id=f"m:{mid}", value=str(mid)), users))  # fmt: skip
        w.h.wait()
        assert w.graph.hidden == [rude["id"]]
        row = mention(ctx, mid)
        assert (row.hide_status, row.hidden_by in (OFFICER, ADMIN)) == ("hidden", True)
        assert actions_of(ctx, mid).count("hidden") == 1
        assert actions_of(ctx, mid).count("hide_requested") == 1
        redrawn = w.card_of(rude["id"])[1]
        assert "Hidden on Facebook by" in str(redrawn.blocks)
        assert "'action_id': 'hide'" not in str(redrawn.blocks)


def test_hide_needs_the_officer_role_and_a_refusal_is_offered_again(ctx: Context, clock: FakeClock) -> None:
    with hider(ctx, clock) as w:
        post = w.graph.add_post("Road closure on Main St")
        comment = w.graph.add_comment(post, "buy followers at spam dot com", author="Spam Bot")
        intake(ctx)
        mid, card = w.card_of(comment["id"])
        refused = w.h.click(card, "hide", user_id=STRANGER)
        assert "officer" in "\n".join(w.h.ephemeral_texts(refused))
        assert w.graph.hidden == []
        w.graph.fail_next(r"/\d+_\d+$", graph_error(100, "(#100) Object does not exist"))
        failed = w.h.click(card, "hide", user_id=OFFICER)
        assert "was not hidden" in "\n".join(w.h.ephemeral_texts(failed))
        assert mention(ctx, mid).hide_status == "failed"
        again = w.card_of(comment["id"])[1]
        assert "It was not hidden; try again." in str(again.blocks)
        w.h.click(again, "hide", user_id=OFFICER)
        assert w.graph.hidden == [comment["id"]]
        assert actions_of(ctx, mid)[-4:] == ["hide_requested", "hide_failed", "hide_requested", "hidden"]


def test_a_hide_facebook_made_but_answered_badly_is_not_reported_as_not_hidden(
    ctx: Context, clock: FakeClock
) -> None:
    """Graph hides the comment, then answers with a transient error: nobody knows, so nobody is
    told it was not hidden; Hide is offered again (hiding twice is harmless)."""
    with hider(ctx, clock) as w:
        post = w.graph.add_post("Road closure on Main St")
        comment = w.graph.add_comment(post, "you are all useless idiots", author="Angry Person")
        intake(ctx)
        mid, card = w.card_of(comment["id"])
        real = w.graph.dispatch

        def hides_then_fails(request: Recorded) -> Response:
            answer = real(request)
            if request.method == "POST" and request.param("is_hidden") == "true":
                return graph_error(2, "An unexpected error has occurred.", status=500)
            return answer

        w.graph.dispatch = hides_then_fails  # type: ignore[method-assign]
        result = w.h.click(card, "hide", user_id=OFFICER)
        said = "\n".join(w.h.ephemeral_texts(result))
        assert w.graph.hidden == [comment["id"]]
        assert "could not confirm whether it was hidden" in said
        assert "Check it on Facebook, or click Hide again" in said
        assert "not hidden" not in said
        assert "comment may exist" not in said
        assert mention(ctx, mid).hide_status == "failed"
        redrawn = w.card_of(comment["id"])[1]
        assert "It may not have been hidden; check on Facebook" in str(redrawn.blocks)
        assert "It was not hidden" not in str(redrawn.blocks)
        find_element(redrawn.blocks, "hide")


def test_a_dismissed_item_can_still_be_hidden(ctx: Context, clock: FakeClock) -> None:
    with hider(ctx, clock) as w:
        post = w.graph.add_post("Meet our new K9")
        spam = w.graph.add_comment(post, "CLICK HERE for free crypto", author="Spam Bot")
        intake(ctx)
        _mid, card = w.card_of(spam["id"])
        w.h.click(card, "dismiss", user_id=OFFICER, option_value="spam")
        dismissed = w.card_of(spam["id"])[1]
        assert "Spam or abuse" in str(dismissed.blocks)
        w.h.click(dismissed, "hide", user_id=OFFICER)
        assert w.graph.hidden == [spam["id"]]


def test_threads_offers_hide_on_replies_to_its_posts_only(ctx: Context, clock: FakeClock) -> None:
    with hider(ctx, clock) as w:
        post = w.threads.add_post("Coffee with a cop on Saturday")
        rude = w.threads.add_reply(post, "nobody cares about your coffee", username="troll")
        elsewhere = w.threads.add_mention("@agencypolice the light on 5th is out", username="ana.b")
        intake(ctx)
        _, other = w.card_of(elsewhere["id"])
        assert "'action_id': 'hide'" not in str(other.blocks)
        mid, card = w.card_of(rude["id"])
        w.h.click(card, "hide", user_id=OFFICER)
        assert w.threads.hidden == [rude["id"]]
        assert mention(ctx, mid).hide_status == "hidden"


def test_platforms_without_hiding_show_no_button(ctx: Context, clock: FakeClock) -> None:
    from tests.support.world import world

    with world(ctx) as w:
        _mid, card = w.posted()
        assert "'action_id': 'hide'" not in str(card.blocks)
