"""The page shows TwoWay's mrkdwn as Slack does: public text escaped by TwoWay stays literal."""

from __future__ import annotations

import pytest

from bot.sandbox.mrkdwn import render
from bot.slack.escape import public

NAMES = {"U0CHEN0001": "Maria Chen"}


def html(text: str) -> str:
    return str(render(text, NAMES.get))


@pytest.mark.parametrize(
    "typed",
    [
        "<!channel> wake up",
        "<!here|here> and <!everyone>",
        "ping <@U0CHEN0001> now",
        "<script>alert('x')</script>",
        '<img src=x onerror="alert(1)">',
        "<https://evil.example|click me>",
        "&lt;!channel&gt; already escaped once",
        "@channel @here @everyone",
    ],
)
def test_public_text_escaped_by_twoway_is_never_markup_on_the_page(typed: str) -> None:
    shown = html(f"> {public(typed)}")
    assert "<script" not in shown
    assert "<img" not in shown
    assert "<a " not in shown
    assert 'class="mention' not in shown
    assert "&lt;" in shown or "<" not in typed


def test_twoways_own_markup_becomes_links_mentions_and_formatting() -> None:
    shown = html(
        "*#12* · <https://x.com/jane/status/1|Open on X> · <@U0CHEN0001> · _note_ · ~old~ · `code *x*`"
    )
    assert "<b>#12</b>" in shown
    assert '<a href="#" data-url="https://x.com/jane/status/1"' in shown
    assert ">Open on X</a>" in shown
    assert '<span class="mention" data-user="U0CHEN0001">@Maria Chen</span>' in shown
    assert "<i>note</i>" in shown
    assert "<s>old</s>" in shown
    assert "<code>code *x*</code>" in shown  # no formatting inside code


def test_a_broadcast_written_by_twoway_itself_is_shown_as_one() -> None:
    assert 'class="mention broadcast">@here<' in html("<!here> the queue is long")


def test_links_that_are_not_web_or_mail_are_not_links() -> None:
    shown = html("<javascript:alert(1)|click>")
    assert "href" not in shown
    assert "click" in shown


def test_dates_keep_their_fallback_and_quotes_and_emoji_render() -> None:
    shown = html(
        "&gt; quoted &amp; kept\n:rotating_light: <!date^1700000000^{date_short} at {time}|Nov 14, 2023>"
    )
    assert "<blockquote>quoted &amp; kept</blockquote>" in shown
    assert "🚨" in shown
    assert 'data-ts="1700000000"' in shown
    assert ">Nov 14, 2023</time>" in shown


def test_the_placeholder_characters_cannot_be_smuggled_in() -> None:
    shown = html("<https://ok.example|ok> then \ue0000\ue001 again")
    assert shown.count("<a ") == 1
