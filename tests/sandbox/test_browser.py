"""The sandbox in a real browser: what a newcomer sees and does after `make run`.

Each test works on its own card (found by its author's name), in one running sandbox, through
the page only: the clicks become signed requests to TwoWay's `/slack/events`, as Slack's would.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import REPO
from tests.sandbox.conftest import RunningSandbox

# CI refreshes the README's screenshot; elsewhere it is taken all the same, beside the test's files,
# so a developer's `make test` leaves the working tree as it was.
README_SCREENSHOT = REPO / "docs" / "sandbox.png"
WAIT = 60_000  # ms: the first poll, triage and the card post take a few seconds on a busy machine


@pytest.fixture
def page(browser: Any, sandbox: RunningSandbox) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(WAIT)
    yield opened
    context.close()
    assert errors == [], errors


def open_as(page: Any, sandbox: RunningSandbox, role: str) -> None:
    page.goto(f"{sandbox.url}/?as={role}")
    page.locator("#live.on").wait_for()


def card(page: Any, author: str) -> Any:
    """The channel's card of the post by `author` (a top-level message that names them)."""
    found = page.locator("#conv-C0SANDBOX1 article.message:not(.reply):not(.ephemeral)").filter(
        has=page.locator(".block.section", has_text=author)
    )
    found.first.wait_for()
    return found.first


def timeline_post(page: Any, platform: str, text: str) -> Any:
    return page.locator(f"#timeline-{platform} li.post", has_text=text)


def test_a_mention_appears_as_a_card_and_new_ones_keep_arriving(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "officer")
    first = card(page, "Priya Natarajan")
    assert "above and beyond" in first.inner_text().lower()
    assert first.get_by_role("button", name="Send").count() >= 1
    # A post the sandbox publishes after start-up arrives on the open page without a reload.
    urgent = card(page, "Jordan Blake")
    assert "URGENT" in urgent.inner_text()
    assert page.locator("#timeline-x li.post", has_text="Birch Lane").count() >= 1


def test_send_updates_the_card_and_the_reply_shows_in_the_public_timeline(
    page: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    open_as(page, sandbox, "officer")
    target = card(page, "Priya Natarajan")
    draft = target.locator(".block.section", has=page.get_by_role("button", name="Send")).first
    reply_text = draft.locator("blockquote").inner_text().strip()
    draft.get_by_role("button", name="Send").click()
    expect(card(page, "Priya Natarajan")).to_contain_text("Replied by @Dana Reyes", timeout=WAIT)
    expect(card(page, "Priya Natarajan").get_by_role("button", name="Send")).to_have_count(0)
    sent = timeline_post(page, "x", reply_text[:40])
    sent.first.wait_for()
    assert "sent from TwoWay" in sent.first.inner_text()
    shot = README_SCREENSHOT if os.environ.get("CI") == "true" else tmp_path / "sandbox.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a rendered page, not an empty image


def test_edit_and_send_opens_the_modal_and_posts_the_edited_text(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "officer")
    target = card(page, "Marcus Webb")
    target.get_by_role("button", name="Edit & send").click()
    modal = page.locator("#modal")
    modal.wait_for()
    box = modal.locator("textarea")
    assert box.input_value().strip() != ""  # prefilled with the first draft
    edited = "Hi Marcus, reports are ready five business days after the crash: maplefalls.example/records"
    box.fill(edited)
    modal.get_by_role("button", name="Send").click()
    modal.wait_for(state="detached")
    timeline_post(page, "x", edited).first.wait_for()
    expect(card(page, "Marcus Webb")).to_contain_text(edited, timeout=WAIT)
    expect(card(page, "Marcus Webb").get_by_role("button", name="Edit & send")).to_have_count(0)


def test_an_empty_edit_is_refused_in_the_modal(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "officer")
    card(page, "Dee Alvarez").get_by_role("button", name="Edit & send").click()
    modal = page.locator("#modal")
    modal.locator("textarea").fill("")
    modal.get_by_role("button", name="Send").click()
    modal.locator(".input-error", has_text="Write a reply first").wait_for()
    modal.get_by_role("button", name="Cancel").click()
    modal.wait_for(state="detached")


def test_assign_sends_the_officer_a_dm(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "supervisor")
    target = card(page, "Linda Kowalski")
    number = re.search(r"#(\d+)", target.inner_text())
    assert number is not None
    target.locator("select[data-action=assign]").select_option(label="Dana Reyes (officer)")
    expect(card(page, "Linda Kowalski")).to_contain_text("Assigned to @Dana Reyes", timeout=WAIT)
    open_as(page, sandbox, "officer")
    page.locator('.conv-link[data-conv^="D"]').click()
    dm = page.locator("#conv-D0REYES001 article.message", has_text=f"#{number.group(1)}")
    dm.first.wait_for()
    assert "assigned" in dm.first.inner_text().lower()


def test_twoway_queue_answers_ephemerally(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "supervisor")
    composer = page.locator("#conv-C0SANDBOX1 [data-composer] input")
    composer.fill("/twoway queue all")
    composer.press("Enter")
    answer = page.locator("#conv-C0SANDBOX1 article.ephemeral", has_text="/twoway queue all").last
    answer.wait_for()
    assert "Only visible to you" in answer.inner_text()
    assert re.search(r"#\d+", answer.inner_text())


def test_an_officer_is_refused_an_admin_command(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "officer")
    composer = page.locator("#conv-C0SANDBOX1 [data-composer] input")
    composer.fill("/twoway faq add Where is the station? | 12 Elm St")
    composer.press("Enter")
    answer = page.locator("#conv-C0SANDBOX1 article.ephemeral", has_text="/twoway faq add").last
    answer.wait_for()
    assert "You need the admin role" in answer.inner_text()


def test_public_text_stays_literal_on_the_page(page: Any, sandbox: RunningSandbox) -> None:
    """What would ping the channel or run a script in Slack shows as the characters typed."""
    open_as(page, sandbox, "officer")
    troll = card(page, "Chris Novak")
    text = troll.locator(".block.section", has_text="5th & Main").first.inner_text()
    assert "<!channel>" in text
    assert "<@U0CHEN0001>" in text
    assert "<script>alert('hi')</script>" in text
    assert troll.locator(".mention").count() == 0
    assert page.locator(".messages script").count() == 0


def test_the_report_chart_arrives_by_dm_as_an_image(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "supervisor")
    composer = page.locator("#conv-C0SANDBOX1 [data-composer] input")
    composer.fill("/twoway report 7d")
    composer.press("Enter")
    page.locator("#conv-C0SANDBOX1 article.ephemeral", has_text="/twoway report 7d").last.wait_for()
    page.locator('.conv-link[data-conv^="D"]').click()
    chart = page.locator("#conv-D0CHEN0001 figure.file img").last
    chart.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 200", arg=chart.element_handle())


def test_hide_asks_first_as_slack_does_and_cancel_sends_nothing(page: Any, sandbox: RunningSandbox) -> None:
    clicks: list[str] = []
    page.on("request", lambda r: clicks.append(r.url) if r.url.endswith("/sandbox/action") else None)
    open_as(page, sandbox, "officer")
    card(page, "Bill Harmon").get_by_role("button", name="Hide").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Hide it from the public?")
    expect(dialog).to_contain_text("Only its author and their friends will still see it on Facebook")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    page.keyboard.press("Escape")  # nothing else is closed by it
    assert clicks == []
    assert "Hidden" not in card(page, "Bill Harmon").inner_text()

    card(page, "Bill Harmon").get_by_role("button", name="Hide").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Hide").click()
    expect(card(page, "Bill Harmon")).to_contain_text("Hidden on Facebook by @Dana Reyes", timeout=WAIT)
    assert len(clicks) == 1


def test_no_way_of_opening_a_card_link_leaves_the_machine(
    browser: Any, page: Any, sandbox: RunningSandbox
) -> None:
    outside: list[str] = []

    def local_only(route: Any) -> None:
        if route.request.url.startswith(sandbox.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", local_only)
    open_as(page, sandbox, "officer")
    link = card(page, "Priya Natarajan").locator("a.link", has_text="Open on X").first
    assert link.get_attribute("href") == "#"
    for how in ({"button": "middle"}, {"modifiers": ["Control"]}, {"modifiers": ["Shift"]}, {}):
        link.click(**how)
        expect(page.locator("#toast")).to_contain_text("links to x.com go nowhere")
    page.wait_for_timeout(500)
    assert outside == []
    assert [p.url for p in page.context.pages] == [page.url]


def test_open_card_keeps_who_you_are(page: Any, sandbox: RunningSandbox) -> None:
    open_as(page, sandbox, "supervisor")
    composer = page.locator("#conv-C0SANDBOX1 [data-composer] input")
    composer.fill("/twoway queue all")
    composer.press("Enter")
    answer = page.locator("#conv-C0SANDBOX1 article.ephemeral", has_text="/twoway queue all").last
    opener = answer.locator("a", has_text="open card").first
    with page.context.expect_page() as opened:
        opener.click(button="middle")  # a new tab
    tab = opened.value
    tab.wait_for_load_state()
    assert re.search(r"[?&]as=supervisor\b", tab.url)
    expect(tab.locator("#as")).to_have_value("supervisor")
    expect(tab.locator("article.message.flash")).to_have_count(1)
    tab.close()
    opener.click()  # this tab: the card is on the page already
    expect(page.locator("#conv-C0SANDBOX1 article.message.flash")).to_have_count(1)
    expect(page.locator("#as")).to_have_value("supervisor")
