"""Slack calls beside the channel posts: DMs, links to messages, files."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.core.context import Context

log = logging.getLogger(__name__)


@dataclass
class _Workspace:
    url: str | None = None
    known: bool = False  # auth.test answered (its URL may still be empty)


def open_dm(ctx: Context, user: str) -> str:
    """The id of the bot's DM channel with `user`."""
    assert ctx.slack is not None
    response = ctx.slack.conversations_open(users=user)
    channel: Any = response.get("channel") or {}
    return str(channel["id"])


def workspace_url(ctx: Context) -> str | None:
    """`https://agency.slack.com/`, from auth.test once per process."""
    workspace = ctx.state(_Workspace)
    if not workspace.known:
        if ctx.slack is None:
            return None
        try:
            url = ctx.slack.auth_test().get("url")
        except Exception:
            log.warning("auth.test failed; card links will be left out", exc_info=True)
            return None
        workspace.url, workspace.known = (str(url) if url else None), True
    return workspace.url


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
