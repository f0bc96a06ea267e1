"""Slack's mrkdwn as readable plain text, for the places Slack shows text as typed: the errors a
view (a form) shows next to its fields. `<@U…>` becomes the person's Slack name, a date its
fallback, a link its label, and `&lt;` `&gt;` `&amp;` their characters."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from typing import Any

from bot.core.context import Context
from bot.slack.client import single_try_client_for
from handlers.text import without_controls

log = logging.getLogger(__name__)

NAME_LOOKUP_SECONDS = 1.0  # every users.info of one form answer together: the ack must beat 3 s
NAME_LOOKUP_TIMEOUT = 1  # seconds, per call (the client takes whole seconds)
MAX_NAME_LOOKUPS = 10  # a role refusal names at most ten admins
SOMEONE_ELSE = "someone else"


_TOKEN = re.compile(r"<([^<>]+)>")
_USER_TOKEN = re.compile(r"<@([UW][A-Z0-9]{1,30})(?:\|[^<>]*)?>")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def modal_text(ctx: Context, text: str) -> str:
    """`text`, written for mrkdwn, as readable plain text for a form's input error.

    Slack shows a view's errors as plain text, so `<@U…>` and `<!date^…|…>` would show as
    typed: a user becomes their Slack name ("someone else" when Slack does not say in time), a
    date its UTC fallback, a link its label, and `&lt;` `&gt;` `&amp;` their characters.
    """
    names = user_names(ctx, _USER_TOKEN.findall(text))
    out, start = [], 0
    for token in _TOKEN.finditer(text):
        out.append(_unescape(text[start : token.start()]))
        out.append(_token_words(token.group(1), names))
        start = token.end()
    out.append(_unescape(text[start:]))
    return "".join(out)


def _token_words(inner: str, names: dict[str, str]) -> str:
    target, bar, label = inner.partition("|")
    if target.startswith("@"):
        return names.get(target[1:]) or (_unescape(label) if bar and label else SOMEONE_ELSE)
    if bar:  # a date's fallback, a link's or a channel's label
        return ("#" if target.startswith("#") else "") + _unescape(label)
    if target.startswith("#"):
        return "a channel"
    if target.startswith("!subteam^"):
        return "a user group"
    if target.startswith("!date^"):
        return "earlier"
    if target.startswith("!"):
        return "@" + target[1:]  # !here, !channel, !everyone
    return _unescape(target)  # a bare link


def user_names(ctx: Context, users: Iterable[str]) -> dict[str, str]:
    """Slack names of `users`, asked all at once (one users.info each, no retry) and waited for
    at most NAME_LOOKUP_SECONDS together, since the form's answer must reach Slack within 3 s.
    Users Slack did not name in time are left out."""
    wanted = sorted(set(users))[:MAX_NAME_LOOKUPS]
    if not wanted or ctx.slack is None:
        return {}
    lookup = single_try_client_for(ctx.slack)
    lookup.timeout = NAME_LOOKUP_TIMEOUT
    pool = ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="twoway-names")
    try:
        asked: dict[str, Future[Any]] = {user: pool.submit(lookup.users_info, user=user) for user in wanted}
        wait_all(asked.values(), timeout=NAME_LOOKUP_SECONDS)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    names: dict[str, str] = {}
    for user, future in asked.items():
        if not future.done() or future.cancelled() or future.exception() is not None:
            log.info("no name from Slack for %s in time; the form says %r", user, SOMEONE_ELSE)
            continue
        name = _name_of(_mapping(future.result().get("user")))
        if name:
            names[user] = name
    return names


def _name_of(info: dict[str, Any]) -> str | None:
    """The display name, else the real name, else the user name, as Slack shows people."""
    profile = _mapping(info.get("profile"))
    for candidate in (
        profile.get("display_name"),
        profile.get("real_name"),
        info.get("real_name"),
        info.get("name"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return without_controls(candidate).strip()
    return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
