"""Odd and hostile input sent as Slack sends it: a specific answer, never the generic error, nothing saved.

Each row is a signed `/twoway` command or click through the real `/slack/events` endpoint. Every
change TwoWay makes is audited, so "nothing was saved" is checked on the audit trail and on the
tables a bad argument could write.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.core.context import Context
from bot.slack.app import UNKNOWN_ACTION, UNKNOWN_FORM
from storage.models import AuditEvent, Faq, Mention, Setting, Staff, Template
from tests.support.signed import SIGNING_SECRET
from tests.support.world import ADMIN, OFFICER, STRANGER, SUPERVISOR, World, mention, world

GENERIC = "something went wrong"
BAD_VALUE = "This button's value is not valid. Nothing was changed."


def footprint(ctx: Context) -> tuple[Any, ...]:
    with ctx.transaction() as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (AuditEvent, Setting, Staff, Template, Faq)
        )
        states = tuple(session.execute(select(Mention.id, Mention.state, Mention.assignee)).all())
    return counts, states


def answer_to(w: World, text: str) -> str:
    before = footprint(w.h.ctx)
    result = w.h.command(text, ADMIN)
    assert result.status == 200
    assert footprint(w.h.ctx) == before, f"{text!r} changed something"
    return "\n".join(w.h.ephemeral_texts(result))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("queue ²", "Choose `mine`"),  # "²".isdigit() is true, int("²") fails
        ("pause ²", "No connected account matches"),
        ("template remove ²", "give the template number"),
        ("faq remove 99999999999999999999", "give the faq number"),  # beyond a 64-bit id
        ("digest timezone America", "not a time zone"),  # a folder in tzdata
        ("digest timezone " + "a" * 300, "not a time zone"),
        ("sla quiet 22:00-07:00 Etc", "not a time zone"),
        ("set website https://[x.y", "full web address"),
        ("export 2026-01-01 9999-12-31", "must be between 1970-01-01 and 9998-12-31"),
        ("export 0001-01-01 0001-01-02", "must be between"),
        ("export 30d pdf", "`pdf` is not a format"),
        ("digest weekly monkey", "not a weekday"),
        ("digest weekly sunshine 09:00", "not a weekday"),
        ("role UNICORN admin", "is not a Slack user"),
        ("assign 1 WHATEVER", "is not a Slack user"),
    ],
)
def test_bad_arguments_get_a_specific_answer_and_change_nothing(ctx: Context, text: str, says: str) -> None:
    with world(ctx) as w:
        w.posted()
        told = answer_to(w, text)
        assert says in told, told
        assert GENERIC not in told
        assert "Usage:" in told


def test_time_zone_in_a_digest_error_keeps_its_case(ctx: Context) -> None:
    with world(ctx) as w:
        assert "America/Los_Angeles" in answer_to(w, "digest timezone Mars/Olympus")


@pytest.mark.parametrize(
    ("text", "saved"),
    [
        ("digest weekly monday 09:00", "Mon"),
        ("digest weekly thurs", "Thu"),
        ("role U0TEAM42 officer", "officer"),
    ],
)
def test_real_weekdays_and_user_ids_still_work(ctx: Context, text: str, saved: str) -> None:
    with world(ctx) as w:
        told = "\n".join(w.h.ephemeral_texts(w.h.command(text, ADMIN)))
        assert saved in told, told
        assert "Usage:" not in told


@pytest.mark.parametrize("separator", ["\n", "\t", "\u00a0"])
def test_any_whitespace_ends_the_subcommand(ctx: Context, separator: str) -> None:
    with world(ctx) as w:
        told = "\n".join(w.h.ephemeral_texts(w.h.command(f"sla{separator}urgent 10m", ADMIN)))
        assert "Unknown subcommand" not in told
        assert "10m" in told or "10 min" in told, told


def click(w: World, posted: tuple[int, Any], action: dict[str, Any]) -> tuple[int, list[str]]:
    """A block action on the posted card whose fields may be of the wrong type."""
    mid, card = posted
    action = json.loads(json.dumps(action).replace('"MID"', f'"{mid}"').replace("m:MID", f"m:{mid}"))
    url = w.h.sender.new_response_url()
    payload = {
        "type": "block_actions",
        "user": {"id": ADMIN, "username": "admin", "team_id": "T0TWOWAY"},
        "api_app_id": "A0TWOWAY",
        "team": {"id": "T0TWOWAY", "domain": "twoway-test"},
        "container": {"type": "message", "message_ts": card.ts, "channel_id": card.channel},
        "channel": {"id": card.channel},
        "message": card.as_api(),
        "response_url": url,
        "trigger_id": "trigger-1",
        "actions": [{"block_id": f"m:{mid}", "action_ts": f"{time.time():.6f}", "type": "button", **action}],
    }
    before = footprint(w.h.ctx)
    result = w.h.sender.post(urlencode({"payload": json.dumps(payload)}))
    w.h.wait()
    assert footprint(w.h.ctx) == before
    return result.status, [str(r.get("text", "")) for r in w.fake.responses_to(url)]


@pytest.mark.parametrize(
    "action",
    [
        {"action_id": "like", "value": "²"},
        {"action_id": "like", "value": ["MID"]},
        {"action_id": "send_reply:1", "value": 5, "block_id": "m:MID:d1"},
        {"action_id": "dismiss", "type": "static_select", "selected_option": "spam"},
        {"action_id": "reclassify", "type": "overflow", "selected_option": {"value": 3}},
    ],
    ids=["superscript-digit", "list-value", "number-value", "option-not-an-object", "option-value-a-number"],
)
def test_click_values_of_the_wrong_type_are_refused_as_invalid(ctx: Context, action: dict[str, Any]) -> None:
    with world(ctx) as w:
        posted = w.posted()
        assert click(w, posted, action) == (200, [BAD_VALUE])


def test_an_unknown_button_is_answered_not_left_spinning(ctx: Context) -> None:
    with world(ctx) as w:
        posted = w.posted()
        assert click(w, posted, {"action_id": "frobnicate", "value": "MID"}) == (200, [UNKNOWN_ACTION])


REPLY = {"reply": {"text": {"type": "plain_text_input", "value": "hello"}}}


def test_an_unknown_form_keeps_the_modal_open_with_a_message(ctx: Context) -> None:
    with world(ctx) as w:
        result = w.h.sender.submit_view("frobnicate", REPLY, "{}", user_id=ADMIN)
        assert result.status == 200
        assert json.loads(result.body) == {"response_action": "errors", "errors": {"reply": UNKNOWN_FORM}}


@pytest.mark.parametrize("metadata", ['{"m": 99999999999999999999999}', '{"m": 1e400}'])
def test_edit_form_metadata_out_of_range_is_refused_in_the_form(ctx: Context, metadata: str) -> None:
    with world(ctx) as w:
        w.posted()
        result = w.h.sender.submit_view("edit_reply", REPLY, metadata, user_id=ADMIN)
        assert json.loads(result.body)["errors"]["reply"] == BAD_VALUE
        assert w.fake_x.replies == []


def test_liking_an_item_that_is_not_a_compliment_is_refused(ctx: Context) -> None:
    """A like under a complaint reads as mockery; the card shows no Like button there."""
    with world(ctx) as w:
        posted = w.posted("you never show up when we call", category="criticism")
        status, told = click(w, posted, {"action_id": "like", "value": "MID"})
        assert status == 200
        assert told
        assert "Only compliments are liked" in told[0]
        assert w.fake_x.likes == []


def test_reclassifying_to_the_current_category_changes_nothing(ctx: Context) -> None:
    with world(ctx) as w:
        posted = w.posted("you never show up when we call", category="criticism")
        status, told = click(
            w,
            posted,
            {"action_id": "reclassify", "type": "overflow", "selected_option": {"value": "criticism"}},
        )
        assert (status, len(told)) == (200, 1)
        assert "already filed as criticism" in told[0]


def test_an_edit_form_whose_reply_is_not_text_posts_nothing(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = w.posted()
        metadata = json.dumps({"m": mid, "c": card.channel, "t": card.ts})
        values = {"reply": {"text": {"type": "plain_text_input", "value": 5}}}
        result = w.h.sender.submit_view("edit_reply", values, metadata, user_id=ADMIN)
        assert json.loads(result.body)["errors"]["reply"] == BAD_VALUE
        w.h.wait()
        assert w.fake_x.replies == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00garbage",
        urlencode({"payload": "{}"}).encode(),
        urlencode({"payload": "not json"}).encode(),
        urlencode({"payload": json.dumps({"type": "block_actions", "actions": "x"})}).encode(),
        urlencode({"payload": json.dumps({"type": "block_actions", "actions": [1]})}).encode(),
        urlencode({"payload": json.dumps({"type": "view_submission", "view": "edit_reply"})}).encode(),
        urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": ADMIN}})}).encode(),
        "ÿþ".encode(),
        b"team_id=T1&user_id=U1",
    ],
    ids=[
        "empty",
        "not-utf8",
        "payload-without-type",
        "payload-not-json",
        "actions-a-string",
        "actions-not-objects",
        "form-view-a-string",
        "form-without-a-view",
        "utf8-neither-form-nor-json",
        "form-neither-command-nor-interaction",
    ],
)
def test_a_signed_body_slack_would_never_send_is_400_and_an_unsigned_one_401(
    ctx: Context, body: bytes
) -> None:
    with world(ctx) as w:
        sender = w.h.sender
        stamp = str(int(time.time()))
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}",
        }
        assert (
            sender.session.post(sender.events_url, data=body, headers=headers, timeout=10).status_code == 400
        )
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
        assert (
            sender.session.post(sender.events_url, data=body, headers=headers, timeout=10).status_code == 401
        )


@pytest.mark.parametrize("stamp", ["abc", "", "12.5", "²", "-5"])
def test_a_timestamp_that_is_not_a_whole_number_is_401_and_runs_nothing(
    ctx: Context, stamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A forged command with a stamp int() cannot read: refused like any unsigned request,
    not answered with the generic error (a 200) and a traceback in the log."""
    with world(ctx) as w:
        before = footprint(ctx)
        body = urlencode(
            {
                "command": "/twoway",
                "text": f"role <@{OFFICER}> admin",
                "user_id": ADMIN,
                "team_id": "T0TEAM0001",
            }
        ).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + "0" * 64,
        }
        answer = w.h.sender.session.post(w.h.sender.events_url, data=body, headers=headers, timeout=10)
        assert answer.status_code == 401
        assert GENERIC not in answer.text
        assert footprint(ctx) == before
        assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_closed_modal_is_acknowledged_and_changes_nothing(ctx: Context) -> None:
    """Slack sends view_closed for modals that ask for it: 200, not "unhandled request"."""
    with world(ctx) as w:
        payload = {
            "type": "view_closed",
            "user": {"id": OFFICER},
            "team": {"id": "T0TEAM0001"},
            "view": {"id": "V0CLOSED01", "callback_id": "edit_reply", "private_metadata": "", "state": {}},
            "is_cleared": False,
        }
        stamp = str(int(time.time()))
        body = urlencode({"payload": json.dumps(payload)}).encode()
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}",
        }
        answer = w.h.sender.session.post(w.h.sender.events_url, data=body, headers=headers, timeout=10)
        assert answer.status_code == 200


def test_a_json_event_sent_without_a_content_type_is_still_read(ctx: Context) -> None:
    """Bolt reads a body starting with "{" as JSON whatever the header says; so does the guard."""
    with world(ctx) as w:
        body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}).encode()
        stamp = str(int(time.time()))
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "",
        }
        answer = w.h.sender.session.post(w.h.sender.events_url, data=body, headers=headers, timeout=10)
        assert answer.status_code == 200
        assert "abc123" in answer.text


def assigned_to_officer(w: World) -> tuple[int, Any]:
    posted = w.posted("is the road closed?", category="question")
    w.h.click(posted[1], "assign", user_id=SUPERVISOR, selected_user=OFFICER)
    assert mention(w.h.ctx, posted[0]).assignee == OFFICER
    return posted


@pytest.mark.parametrize(
    "selected", [5, [OFFICER], {"id": OFFICER}, True], ids=["number", "list", "object", "boolean"]
)
def test_an_assign_whose_selected_user_is_not_text_is_refused_and_keeps_the_assignee(
    ctx: Context, selected: Any
) -> None:
    """Only a cleared selection unassigns: a forged or garbled one must not drop the assignee."""
    with world(ctx) as w:
        posted = assigned_to_officer(w)
        action = {"action_id": "assign", "type": "users_select", "selected_user": selected}
        assert click(w, posted, action) == (200, [BAD_VALUE])
        assert mention(ctx, posted[0]).assignee == OFFICER


def test_an_assign_with_the_selection_cleared_unassigns(ctx: Context) -> None:
    with world(ctx) as w:
        mid, card = assigned_to_officer(w)
        payload = {
            "type": "block_actions",
            "user": {"id": SUPERVISOR},
            "container": {"type": "message", "message_ts": card.ts, "channel_id": card.channel},
            "channel": {"id": card.channel},
            "response_url": w.h.sender.new_response_url(),
            "trigger_id": "trigger-1",
            "actions": [
                {"action_id": "assign", "block_id": f"m:{mid}", "type": "users_select", "selected_user": None}
            ],
        }
        assert w.h.sender.post(urlencode({"payload": json.dumps(payload)})).status == 200
        w.h.wait()
        assert mention(ctx, mid).assignee is None


def signed_headers(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


ROLE_GRAB = urlencode(
    {"command": "/twoway", "text": f"role <@{STRANGER}> admin", "user_id": ADMIN, "team_id": "T0TEAM0001"}
).encode()


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        (ROLE_GRAB, "v0=é".encode()),
        (ROLE_GRAB, "v0=" + "0" * 63 + "\u00ff"),
        (b"\xff\xfe\x00garbage", "v0=é".encode()),  # a body that goes to the 400/401 check
    ],
    ids=["command-utf8-signature", "command-latin1-signature", "broken-body"],
)
def test_a_signature_with_characters_slack_never_sends_is_401_without_a_traceback(
    ctx: Context, body: bytes, signature: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """hmac.compare_digest raises on non-ASCII text: a forged header must not reach it as str."""
    with world(ctx) as w:
        before = footprint(ctx)
        headers: dict[str, str | bytes] = {**signed_headers(body), "X-Slack-Signature": signature}
        answer = w.h.sender.session.post(w.h.sender.events_url, data=body, headers=headers, timeout=10)
        w.h.wait()
        assert answer.status_code == 401
        assert GENERIC not in answer.text
        assert footprint(ctx) == before
        assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize(
    "event",
    ["x", 5, ["app_uninstalled"], None, {"type": 5}],
    ids=["string", "number", "list", "missing", "type-a-number"],
)
def test_a_signed_event_callback_whose_event_is_not_an_object_is_400(
    ctx: Context, event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with world(ctx) as w:
        envelope: dict[str, Any] = {"type": "event_callback", "team_id": "T0TEAM0001", "event_id": "Ev1"}
        if event is not None:
            envelope["event"] = event
        before = footprint(ctx)
        result = w.h.sender.post(json.dumps(envelope), content_type="application/json")
        w.h.wait()
        assert result.status == 400
        assert GENERIC not in result.body
        assert footprint(ctx) == before
        assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize(
    "values",
    [
        {"reply": "hello"},
        {"reply": ["hello"]},
        {"reply": {"text": "hello"}},
        {"reply": {"text": ["hello"]}},
        "hello",
        ["hello"],
    ],
    ids=[
        "block-a-string",
        "block-a-list",
        "element-a-string",
        "element-a-list",
        "values-a-string",
        "values-a-list",
    ],
)
def test_an_edit_form_of_the_wrong_shape_is_refused_in_the_form(
    ctx: Context, values: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with world(ctx) as w:
        mid, card = w.posted("where do I get a permit?", category="question")
        metadata = json.dumps({"m": mid, "c": card.channel, "t": card.ts})
        before = footprint(ctx)
        result = w.h.sender.submit_view("edit_reply", values, metadata, user_id=OFFICER)
        w.h.wait()
        assert result.status == 200
        assert json.loads(result.body) == {"response_action": "errors", "errors": {"reply": BAD_VALUE}}
        assert w.fake_x.replies == []
        assert footprint(ctx) == before
        assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("values", ["reply", ["reply"]], ids=["a-string", "a-list"])
def test_an_unknown_form_whose_state_is_not_an_object_names_no_made_up_block(
    ctx: Context, values: Any
) -> None:
    """Slack refuses form errors for blocks the form does not have: no error keyed "r"."""
    with world(ctx) as w:
        result = w.h.sender.submit_view("frobnicate", values, "{}", user_id=ADMIN)
        assert (result.status, result.body) == (200, "")
