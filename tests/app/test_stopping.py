"""A stop (SIGTERM in a deploy) while a backlog of cards waits: the Slack worker ends at its next
step instead of posting the backlog at Slack's pace for minutes past the host's kill, and the
next start posts what was left, each card once. SQLite and PostgreSQL."""

from __future__ import annotations

from bot.app.pipeline import STEP, deliver
from bot.core.context import Context, Stopping
from tests.support.fakes.server import Recorded, Response
from tests.support.world import REVIEW, mention, world


def test_a_stop_ends_the_card_backlog_at_the_next_step_and_the_next_start_posts_the_rest(
    ctx: Context,
) -> None:
    with world(ctx) as w:
        items = [w.new_mention(f"where do I pick up my impounded car? ({n})") for n in range(12)]
        real = w.fake.dispatch

        def dispatch(request: Recorded) -> Response:
            if request.path.endswith("chat.postMessage"):
                ctx.state(Stopping).event.set()  # SIGTERM arrives while the first card is posted
            return real(request)

        w.fake.dispatch = dispatch  # type: ignore[method-assign]
        posted = deliver(ctx)
        assert 1 <= posted <= STEP
        waiting = [m for m in items if mention(ctx, m).card_status == "pending"]
        assert len(waiting) == len(items) - posted

        w.fake.dispatch = real  # type: ignore[method-assign]
        ctx.forget_state()  # the next start
        assert deliver(ctx) == len(waiting)
        assert all(mention(ctx, m).card_status == "posted" for m in items)
        assert len(w.fake.messages(REVIEW, top_level=True)) == len(items)
