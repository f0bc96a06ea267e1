"""Block Kit as HTML: Jinja2 templates with autoescaping, for the blocks and elements TwoWay uses.

Rendering is generic: a block or element type the templates do not know is shown as a labelled
placeholder rather than dropped, so a new kind of card (or a new platform's) shows up at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.sandbox import mrkdwn
from bot.sandbox.platforms import Platform, Post
from bot.sandbox.slack import (
    BOT_USER,
    CHANNEL,
    CHANNEL_NAME,
    PERSONAS,
    VISITOR_ROLES,
    Message,
    Persona,
    SimulatedSlack,
    View,
    dm_channel,
)

SHOWN_MESSAGES = 150  # top-level messages a page shows when it loads


def dom_id(channel: str, ts: str) -> str:
    return f"m-{channel}-{ts.replace('.', '-')}"


def text_object(obj: Any, users: mrkdwn.Names, channels: mrkdwn.Names) -> Markup:
    """A Block Kit text object (or a bare string, as some fields allow)."""
    if isinstance(obj, str):
        return mrkdwn.plain(obj)
    if not isinstance(obj, dict):
        return Markup("")
    text = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn" and not obj.get("verbatim"):
        return mrkdwn.render(text, users, channels)
    if obj.get("type") == "mrkdwn":
        return mrkdwn.render(text)
    return mrkdwn.plain(text, with_emoji=bool(obj.get("emoji", True)))


def clock(ts: str | float | datetime) -> str:
    moment = ts if isinstance(ts, datetime) else datetime.fromtimestamp(float(ts), UTC)
    return moment.astimezone(UTC).isoformat()


class Renderer:
    def __init__(self, slack: SimulatedSlack, platforms: dict[str, Platform]) -> None:
        self.slack = slack
        self.platforms = platforms
        self.env = Environment(
            loader=PackageLoader("bot.sandbox", "templates"),
            autoescape=select_autoescape(["html"], default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        users: mrkdwn.Names = slack.user_name
        channels: mrkdwn.Names = slack.channel_name
        self.env.filters["mrkdwn"] = lambda text: mrkdwn.render(str(text or ""), users, channels)
        self.env.filters["text"] = lambda obj: text_object(obj, users, channels)
        self.env.filters["plain"] = lambda text: mrkdwn.plain(str(text or ""))
        self.env.filters["clock"] = clock
        self.env.globals.update(
            personas=PERSONAS,
            visitor_roles=VISITOR_ROLES,
            bot_user=BOT_USER,
            dom_id=dom_id,
            user_name=self._user_name,
        )

    def _user_name(self, user_id: str) -> str:
        return self.slack.user_name(user_id) or user_id

    def _render(self, name: str, **values: Any) -> str:
        return self.env.get_template(name).render(**values)

    # -- pieces the page asks for ----------------------------------------------------------------

    def message(self, message: Message, viewer: str) -> str:
        """A top-level message with its thread, as `viewer` sees it."""
        replies = [
            m
            for m in self.slack.conversation(message.channel, viewer)
            if m.thread_ts == message.ts and m.ts != message.ts
        ]
        return self._render("message.html", m=message, replies=replies)

    def conversation(self, channel: str, viewer: str) -> str:
        shown = [
            m for m in self.slack.conversation(channel, viewer) if not m.thread_ts or m.thread_ts == m.ts
        ]
        # A page left open for hours would grow without end; like Slack, show the recent part.
        return "".join(self.message(m, viewer) for m in shown[-SHOWN_MESSAGES:])

    def modal(self, view: View | None) -> str:
        return self._render("modal.html", view=view.view if view else None)

    def timeline(self, key: str) -> str:
        platform = self.platforms[key]
        with platform.timeline.lock:
            posts = list(platform.timeline.posts)
        children: dict[str, list[Post]] = {}
        ids = {p.id for p in posts}
        roots: list[Post] = []
        for post in posts:
            if post.parent and post.parent in ids:
                children.setdefault(post.parent, []).append(post)
            else:
                roots.append(post)
        roots.sort(key=lambda p: max([p.created, *(c.created for c in children.get(p.id, []))]), reverse=True)
        return self._render("timeline.html", platform=platform, roots=roots[:40], children=children)

    def page(self, persona: Persona) -> str:
        return self._render(
            "index.html",
            persona=persona,
            channel=CHANNEL,
            channel_name=CHANNEL_NAME,
            dm=dm_channel(persona.id),
            channel_html=Markup(self.conversation(CHANNEL, persona.id)),  # noqa: S704 - rendered by the templates
            dm_html=Markup(self.conversation(dm_channel(persona.id), persona.id)),  # noqa: S704
            timelines={k: Markup(self.timeline(k)) for k in self.platforms},  # noqa: S704
            modal_html=Markup(self.modal(self.slack.view_of(persona.id))),  # noqa: S704
        )
