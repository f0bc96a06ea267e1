"""The few Slack calls supervision needs: DMs, links to cards, files."""

from __future__ import annotations

import logging
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.core.context import Context

log = logging.getLogger(__name__)

_WORKSPACE_URL = "supervision.workspace_url"
_POSTING = "supervision.posting_client"


def open_dm(ctx: Context, user: str) -> str:
    """The id of the bot's DM channel with `user`."""
    assert ctx.slack is not None
    response = ctx.slack.conversations_open(users=user)
    channel: Any = response.get("channel") or {}
    return str(channel["id"])


def workspace_url(ctx: Context) -> str | None:
    """`https://agency.slack.com/`, from auth.test once per process."""
    if _WORKSPACE_URL not in ctx.extras:
        if ctx.slack is None:
            return None
        try:
            url = ctx.slack.auth_test().get("url")
        except Exception:
            log.warning("auth.test failed; card links will be left out", exc_info=True)
            return None
        ctx.extras[_WORKSPACE_URL] = str(url) if url else None
    value = ctx.extras[_WORKSPACE_URL]
    return str(value) if value else None


def card_url(ctx: Context, channel: str | None, ts: str | None) -> str | None:
    """A link to a card built without an API call per card (the queue shows fifteen at once)."""
    base = workspace_url(ctx)
    if not (base and channel and ts):
        return None
    return f"{base.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def permalink(ctx: Context, channel: str | None, ts: str | None) -> str | None:
    """Slack's own permalink for one message, falling back to the built link."""
    if ctx.slack is None or not (channel and ts):
        return None
    try:
        link = ctx.slack.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        return str(link) if link else card_url(ctx, channel, ts)
    except Exception:
        log.warning("chat.getPermalink failed for %s/%s", channel, ts, exc_info=True)
        return card_url(ctx, channel, ts)


def send_file_to_user(
    ctx: Context, user: str, file: bytes | str, filename: str, title: str, comment: str
) -> None:
    """Upload a file into the bot's DM with `user` (a path or the bytes)."""
    assert ctx.slack is not None
    channel = open_dm(ctx, user)
    ctx.slack.files_upload_v2(
        channel=channel, file=file, filename=filename, title=title, initial_comment=comment
    )


def posting_client(ctx: Context) -> WebClient:
    """A client for messages that must appear once: retries only 429s, which posted nothing.

    The general client also retries connection errors, and a retried post can appear twice.
    """
    assert ctx.slack is not None
    cached = ctx.extras.get(_POSTING)
    if cached is not None and cached[0] is ctx.slack:
        return cast(WebClient, cached[1])
    client = WebClient(
        token=ctx.slack.token,
        base_url=ctx.slack.base_url,
        timeout=ctx.slack.timeout,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    ctx.extras[_POSTING] = (ctx.slack, client)
    return client
