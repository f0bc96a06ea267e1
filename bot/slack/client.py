"""The Slack Web API client TwoWay uses everywhere, built from the settings.

`SLACK_API_URL` is honoured (GovSlack, proxies, the fake Slack in tests). Rate limits (429 with
`Retry-After`) and 500/503 answers are retried by slack-sdk's handlers; connection errors keep
the default one-retry handler. A retried `chat.postMessage` can post twice, so anything that
must appear once (a card) is posted with `posting_client_for`, which retries only 429s (Slack
refused, so nothing was posted) and leaves every ambiguous failure to the caller's own check.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.core.config import Settings
from bot.core.context import Context


def _token(settings: Settings) -> str | None:
    return settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None


def make_web_client(settings: Settings) -> WebClient:
    """The general client: reads, updates, ephemerals, DMs, modals."""
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(max_retry_count=1),
        RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=1),
    ]
    return WebClient(
        token=_token(settings),
        base_url=settings.slack_api_url,
        timeout=int(settings.http_timeout),
        retry_handlers=handlers,
    )


def client(ctx: Context) -> WebClient:
    """`ctx.slack`, made from the settings when this process has none yet (a CLI sweep)."""
    if ctx.slack is None:
        ctx.slack = make_web_client(ctx.settings)
    return ctx.slack


def posting_client_for(client: WebClient) -> WebClient:
    """For messages that must exist once, in `client`'s workspace: only a 429 (which posted
    nothing) is retried; see `bot.slack.outbox`."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def single_try_client_for(client: WebClient) -> WebClient:
    """For paced posts (`bot.slack.outbox.paced_post`): no retry at all, the pacer waits out 429s."""
    return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=[])


def may_have_posted(exc: SlackApiError) -> bool:
    """A 5xx (an HTML gateway page too) is not a refusal: Slack may have done the work anyway."""
    status = getattr(exc.response, "status_code", 200)
    return isinstance(status, int) and status >= 500
