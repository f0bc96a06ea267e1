"""The `/twoway` dispatcher and the app's transport, driven by signed requests over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import func, select

from bot.app.wiring import COMMANDS
from bot.core.context import Context
from bot.core.errors import UserError
from bot.review.cards import post_pending_cards
from bot.slack.commands import CommandReply, CommandRequest
from storage import settings as stored_settings
from storage import staff
from storage.models import AuditEvent
from tests.support.signed import running_app
from tests.support.world import ADMIN, OFFICER, REVIEW, STRANGER, mention, world


@pytest.fixture
def probe() -> Iterator[list[str]]:
    """A throwaway subcommand that records its calls and work after the ack."""
    calls: list[str] = []
    gate = threading.Event()

    @COMMANDS.command("probe", "officer", "/twoway probe WORD", "test only")
    def _probe(ctx: Context, request: CommandRequest) -> CommandReply:
        if not request.args:
            raise UserError("Say a word.")
        calls.append("handler:" + request.text)

        def after() -> None:
            gate.wait(5)
            calls.append("after")

        return CommandReply(f"probe got {request.text}", after=after)

    calls.append("registered")
    yield calls
    gate.set()
    COMMANDS.remove("probe")


def test_help_is_the_default_and_ephemeral(ctx: Context) -> None:
    with running_app(ctx) as h:
        result = h.command("", OFFICER)
        assert result.status == 200
        assert result.json["response_type"] == "ephemeral"
        assert "/twoway setup" in result.text
        assert "/twoway help" in result.text


def test_unknown_subcommand_gets_the_usage_and_changes_nothing(ctx: Context) -> None:
    with running_app(ctx) as h:
        result = h.command("frobnicate now", ADMIN)
        assert result.json["response_type"] == "ephemeral"
        assert "Unknown subcommand `frobnicate`" in result.text
        assert "/twoway help" in result.text
        with ctx.transaction() as session:
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_command_needing_a_role_names_it_and_who_grants_it(ctx: Context) -> None:
    with running_app(ctx) as h:
        with ctx.transaction() as session:
            staff.set_role(session, ADMIN, "admin", "test", ctx.clock.now())
        result = h.command("setup", STRANGER, channel_id=REVIEW)
        assert "You need the admin role" in result.text
        assert f"<@{ADMIN}>" in result.text
        assert "/twoway role @you admin" in result.text
        with ctx.transaction() as session:
            assert stored_settings.get(session, "channel") is None


def test_bad_arguments_get_the_message_and_the_usage_line(ctx: Context, probe: list[str]) -> None:
    with running_app(ctx) as h:
        with ctx.transaction() as session:
            staff.set_role(session, OFFICER, "officer", "test", ctx.clock.now())
        result = h.command("probe", OFFICER)
        assert result.text == "Say a word.\nUsage: `/twoway probe WORD`"
        assert probe == ["registered"]


def test_reply_is_the_ack_and_after_runs_later(ctx: Context, probe: list[str]) -> None:
    """The ack does not wait for the slow follow-up work."""
    with running_app(ctx) as h:
        with ctx.transaction() as session:
            staff.set_role(session, OFFICER, "officer", "test", ctx.clock.now())
        result = h.sender.command("probe hello world", OFFICER)
        assert result.text == "probe got hello world"
        assert probe == ["registered", "handler:hello world"]  # `after` is still waiting on its gate
        COMMANDS.remove("probe")
        h.wait(10)
        assert probe[-1] == "after"


@pytest.mark.parametrize("text", ["payload", "setup payload", "help payload=1", 'status {"payload": 1}'])
def test_the_word_payload_in_a_command_is_answered_not_404(ctx: Context, text: str) -> None:
    """Bolt reads any form body containing "payload" as an interaction; the app corrects that."""
    with running_app(ctx) as h:
        with ctx.transaction() as session:
            staff.set_role(session, ADMIN, "admin", "test", ctx.clock.now())
        result = h.command(text, ADMIN, channel_id=REVIEW)
        assert result.status == 200
        assert result.json["response_type"] == "ephemeral"
        assert result.text
        with ctx.transaction() as session:
            assert stored_settings.get(session, "channel") is None


def test_installed_bolt_has_the_payload_quirk_and_bolt_request_corrects_it() -> None:
    from slack_bolt.request import BoltRequest

    from bot.slack.serve import bolt_request

    raw = urlencode({"command": "/twoway", "text": "show payload", "user_id": "U1"})
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert BoltRequest(body=raw, headers=headers).body == {}  # what Bolt alone makes of it
    fixed = bolt_request(raw, "", headers)
    assert fixed.body["text"] == "show payload"
    assert fixed.raw_body == raw


def test_payload_quirk_fix_keeps_signature_checks(ctx: Context) -> None:
    with running_app(ctx) as h:
        assert h.sender.command("payload", ADMIN, bad_signature=True).status == 401
        # A real interaction still parses as one; a malformed one is refused, never a 500.
        body = urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})})
        assert h.sender.post(body).status == 400


def test_admin_sets_up_grants_roles_and_officer_sends_only_through_slack(ctx: Context) -> None:
    """The whole path through signed requests: setup, role, card, send."""
    with world(ctx, twoway_channel=None) as w:
        newbie = "U0NEWBIE01"
        mid = w.new_mention()
        assert post_pending_cards(ctx) == 0
        w.fake.set_channel("C0CHOSEN01", is_member=True)
        answer = w.h.command("setup", ADMIN, channel_id="C0CHOSEN01")
        assert "review channel" in answer.text
        assert post_pending_cards(ctx) == 1
        card = w.card(mid)
        assert card.channel == "C0CHOSEN01"
        refused = w.h.click(card, "send_reply:1", user_id=newbie)
        assert "You need the officer role" in "\n".join(w.h.ephemeral_texts(refused))
        granted = w.h.command(f"role <@{newbie}|newbie> officer", ADMIN, channel_id="C0CHOSEN01")
        assert "officer" in granted.text
        w.h.click(card, "send_reply:1", user_id=newbie)
        assert len(w.fake_x.replies) == 1
        assert mention(ctx, mid).responded_by == newbie


def test_health_check_and_unknown_paths(ctx: Context) -> None:
    with running_app(ctx) as h:
        assert requests.get(h.server.url + "/healthz", timeout=5).text == "ok"
        assert requests.get(h.server.url + "/nope", timeout=5).status_code == 404
        assert requests.get(h.server.url + "/slack/events", timeout=5).status_code == 404


def event_body(kind: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TWOWAY",
            "api_app_id": "A0TWOWAY",
            "event": {"type": kind, "event_ts": "1.1"},
            "event_id": "Ev01",
            "event_time": 1,
        }
    )


def test_uninstall_event_is_recorded_once_despite_slack_retries(ctx: Context) -> None:
    with running_app(ctx) as h:
        first = h.sender.post(event_body("app_uninstalled"), content_type="application/json")
        retry = h.sender.post(event_body("app_uninstalled"), content_type="application/json", retry_num=1)
        h.wait()
        assert (first.status, retry.status) == (200, 200)
        with ctx.transaction() as session:
            count = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "slack_app_uninstalled")
            )
        assert count == 1


def test_url_verification_is_answered(ctx: Context) -> None:
    with running_app(ctx) as h:
        body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
        result = h.sender.post(body, content_type="application/json")
        assert result.status == 200
        assert "abc123" in result.body


def test_socket_mode_needs_no_signing_secret_and_serves_only_health(ctx: Context) -> None:
    from pydantic import SecretStr

    from bot.app.wiring import build_slack
    from bot.slack.serve import start_http_server

    ctx.settings = ctx.settings.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-1"),
            "slack_app_token": SecretStr("xapp-1"),
            "slack_signing_secret": None,
        }
    )
    slack = build_slack(ctx)
    server = start_http_server(ctx, None, events=False)
    try:
        assert requests.get(server.url + "/healthz", timeout=5).text == "ok"
        assert (
            requests.post(server.url + "/slack/events", data="command=/twoway", timeout=5).status_code == 404
        )
    finally:
        server.stop()
        slack.close()


def test_error_handler_answers_a_form_in_the_form_and_a_click_ephemerally() -> None:
    """The last line of defence never answers 500 and never shows internals."""
    from bot.slack.app import _on_error

    told: list[dict[str, object]] = []
    view = {"type": "view_submission", "view": {"state": {"values": {"reply": {"text": {"value": "x"}}}}}}
    answer = _on_error(RuntimeError("db password=hunter2"), view, lambda **kw: told.append(kw))
    assert answer.status == 200
    assert json.loads(answer.body)["response_action"] == "errors"
    assert "hunter2" not in answer.body
    assert "nothing was changed" in json.loads(answer.body)["errors"]["reply"]
    click = {"type": "block_actions", "response_url": "https://hooks.example/1"}
    answer = _on_error(UserError("You cannot do that."), click, lambda **kw: told.append(kw))
    assert told == [{"text": "You cannot do that.", "response_type": "ephemeral", "replace_original": False}]
    assert json.loads(answer.body)["text"] == "You cannot do that."
