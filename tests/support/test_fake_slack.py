"""The fake Slack answers slack_sdk's real WebClient the way Slack does (other helpers rely on it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.support.fakes.server import Response
from tests.support.fakes.slack_api import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server  # type: ignore[misc]


def client(fake: FakeSlack) -> WebClient:
    return WebClient(
        token="xoxb-1", base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )


def test_messages_threads_metadata_and_history(fake: FakeSlack) -> None:
    slack = client(fake)
    first = slack.chat_postMessage(
        channel="C1", text="one", metadata={"event_type": "t", "event_payload": {"a": 1}}
    )
    reply = slack.chat_postMessage(channel="C1", text="in thread", thread_ts=first["ts"])
    second = slack.chat_postMessage(channel="C1", text="two")
    assert float(first["ts"]) < float(reply["ts"]) < float(second["ts"])
    assert [m.text for m in fake.messages("C1", top_level=True)] == ["one", "two"]
    assert [m.text for m in fake.replies("C1", first["ts"])] == ["in thread"]
    plain = slack.conversations_history(channel="C1")
    assert [m["text"] for m in plain["messages"]] == ["two", "one"]
    assert "metadata" not in plain["messages"][1]
    full = slack.conversations_history(channel="C1", include_all_metadata=True)
    assert full["messages"][1]["metadata"] == {"event_type": "t", "event_payload": {"a": 1}}
    slack.chat_update(channel="C1", ts=second["ts"], text="two, edited")
    assert fake.message("C1", second["ts"]).text == "two, edited"
    link = slack.chat_getPermalink(channel="C1", message_ts=second["ts"])["permalink"]
    assert link.endswith(second["ts"].replace(".", ""))


def test_errors_come_as_ok_false_with_http_200(fake: FakeSlack) -> None:
    slack = client(fake)
    fake.set_channel("C2", is_member=False)
    with pytest.raises(SlackApiError) as caught:
        slack.chat_postMessage(channel="C2", text="x")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "not_in_channel"
    assert slack.conversations_info(channel="C2")["channel"]["is_member"] is False
    with pytest.raises(SlackApiError):
        slack.chat_update(channel="C1", ts="1.2", text="x")
    with pytest.raises(SlackApiError) as too_many:
        slack.chat_postMessage(channel="C1", blocks=[{"type": "divider"}] * 51, text="x")
    assert too_many.value.response["error"] == "invalid_blocks"


def test_scripted_rate_limit_is_retried_by_the_sdk(fake: FakeSlack) -> None:
    fake.fail_next(
        r"chat\.postMessage$", Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
    )
    client(fake).chat_postMessage(channel="C1", text="after the wait")
    assert len(fake.calls(r"chat\.postMessage$")) == 2
    assert len(fake.messages("C1")) == 1


def test_dms_users_ephemerals_views_and_files(fake: FakeSlack) -> None:
    slack = client(fake)
    fake.add_user("U9", name="pat", real_name="Pat Doe")
    assert slack.users_info(user="U9")["user"]["real_name"] == "Pat Doe"
    channel = slack.conversations_open(users="U9")["channel"]["id"]
    slack.chat_postMessage(channel=channel, text="hi Pat")
    assert [m.text for m in fake.dms("U9")] == ["hi Pat"]
    slack.chat_postEphemeral(channel="C1", user="U9", text="only you")
    assert fake.ephemerals_for("U9")[0]["text"] == "only you"
    view = {"type": "modal", "callback_id": "cb", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    opened = slack.views_open(trigger_id="t1", view=view)["view"]
    slack.views_update(view_id=opened["id"], view={**view, "callback_id": "cb2"})
    assert fake.views_opened[0]["view"]["callback_id"] == "cb"
    assert fake.views_updated[0]["view"]["callback_id"] == "cb2"
    with pytest.raises(SlackApiError):
        slack.views_open(trigger_id="t1", view={**view, "title": {"type": "plain_text", "text": "x" * 25}})
    done = slack.files_upload_v2(
        channel="C1", content=b"png-bytes", filename="chart.png", title="Chart", initial_comment="weekly"
    )
    assert done["file"]["title"] == "Chart"
    [stored] = fake.files
    assert (stored["data"], stored["channel"], stored["initial_comment"]) == (b"png-bytes", "C1", "weekly")


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    from slack_sdk.webhook import WebhookClient

    url = fake.response_url_base + "/abc123"
    WebhookClient(url).send(text="done", response_type="ephemeral")
    assert fake.responses_to(url)[0]["text"] == "done"


def test_enforced_rate_limits_answer_429_with_retry_after_per_channel(fake: FakeSlack) -> None:
    fake.enforce_rate_limits(per_channel_per_second=1.0, burst=2)
    slack = WebClient(token="xoxb-1", base_url=fake.api_url, retry_handlers=[])
    slack.chat_postMessage(channel="C1", text="one")
    slack.chat_postMessage(channel="C1", text="two")  # the burst
    with pytest.raises(SlackApiError) as refused:
        slack.chat_postMessage(channel="C1", text="three")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "1"
    slack.chat_postMessage(channel="C2", text="another channel has its own allowance")
    assert [m.text for m in fake.messages()] == ["one", "two", "another channel has its own allowance"]
    assert fake.rate_limited == [("chat.postMessage", "C1", 1.0)]
