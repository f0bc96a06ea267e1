"""Slack's mrkdwn as HTML, read the way Slack reads it, so the page shows what Slack would show.

Only `<...>` sequences are markup (links, user and channel mentions, `!here`/`!channel`, dates);
`&amp;`, `&lt;` and `&gt;` are the three escapes. Everything else is text, HTML-escaped here, so
public text TwoWay escaped stays literal on the page exactly as in Slack: `&lt;!channel&gt;` is the
characters "<!channel>", never a broadcast, and `<script>` is never an element.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

EMOJI = {
    "rotating_light": "🚨",
    "warning": "⚠️",
    "white_check_mark": "✅",
    "x": "❌",
    "heart": "❤️",
    "alarm_clock": "⏰",
    "wastebasket": "🗑️",
    "tada": "🎉",
    "no_entry_sign": "🚫",
    "lock": "🔒",
    "hourglass_flowing_sand": "⏳",
    "double_vertical_bar": "⏸️",
    "bust_in_silhouette": "👤",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "speech_balloon": "💬",
    "bell": "🔔",
    "mag": "🔍",
    "link": "🔗",
    "thumbsup": "👍",
    "+1": "👍",
    "eyes": "👀",
    "memo": "📝",
    "inbox_tray": "📥",
    "outbox_tray": "📤",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "red_circle": "🔴",
    "zap": "⚡",
    "ocean": "🌊",
    "information_source": "ℹ️",
    "arrow_right": "➡️",
    "hourglass": "⌛",
    "calendar": "📅",
    "busts_in_silhouette": "👥",
    "envelope": "✉️",
    "page_facing_up": "📄",
    "cyclone": "🌀",
    "grey_question": "❔",
    "see_no_evil": "🙈",
    "pencil2": "✏️",
}
_TOKEN = re.compile(r"<([^<>\n]{1,2000})>")
_HOLE = re.compile("\ue000(\\d+)\ue001")
_EMOJI = re.compile(r":([a-z0-9_+-]{1,40}):")
_CODE_BLOCK = re.compile(r"```(.+?)```", re.S)
_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_SPANS = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")

Names = Callable[[str], str | None]  # a user or channel id -> its name, when known


def unescape(text: str) -> str:
    """Slack's three escapes, in the order that leaves `&amp;lt;` as the text `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emoji(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def plain(text: str, with_emoji: bool = True) -> Markup:
    """A `plain_text` object: shown as written (escaped), with emoji codes when it allows them."""
    return escape(emoji(text) if with_emoji else text)


def render(text: str, users: Names | None = None, channels: Names | None = None) -> Markup:
    """A `mrkdwn` string as safe HTML."""
    text = text.replace("\ue000", "").replace("\ue001", "")
    pieces: list[Markup] = []

    def hole(match: re.Match[str]) -> str:
        pieces.append(_token(match.group(1), users, channels))
        return f"\ue000{len(pieces) - 1}\ue001"

    def code(tag: str) -> Callable[[re.Match[str]], str]:
        def keep(match: re.Match[str]) -> str:  # code is shown as typed: no formatting inside
            shown = escape(unescape(match.group(1)).strip("\n"))
            pieces.append(Markup(f"<{tag}>{shown}</{tag}>"))  # noqa: S704 - a fixed tag around escaped text
            return f"\ue000{len(pieces) - 1}\ue001"

        return keep

    text = _CODE_BLOCK.sub(code("pre"), text)
    text = _CODE.sub(code("code"), text)
    text = _TOKEN.sub(hole, text)
    html = str(escape(unescape(text)))
    for pattern, tag in _SPANS:
        html = pattern.sub(_wrap(tag), html)
    html = emoji(html)
    html = _quotes(html)
    html = html.replace("\n", "<br>")
    html = html.replace("<br><blockquote>", "<blockquote>").replace("</blockquote><br>", "</blockquote>")
    html = _HOLE.sub(lambda m: str(pieces[int(m.group(1))]), html)
    return Markup(html)  # noqa: S704 - built only from escaped text and the fixed tags above


def _wrap(tag: str) -> Callable[[re.Match[str]], str]:
    return lambda match: f"<{tag}>{match.group(1)}</{tag}>"


def _quotes(html: str) -> str:
    """Lines starting with `>` (escaped by now as `&gt;`) are a block quote, as in Slack."""
    out: list[str] = []
    quoted: list[str] = []
    for line in html.split("\n"):
        if line.startswith("&gt;"):
            quoted.append(line[4:].removeprefix(" "))
            continue
        if quoted:
            out.append("<blockquote>" + "\n".join(quoted) + "</blockquote>")
            quoted = []
        out.append(line)
    if quoted:
        out.append("<blockquote>" + "\n".join(quoted) + "</blockquote>")
    return "\n".join(out)


def _token(body: str, users: Names | None, channels: Names | None) -> Markup:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        name = label or (users(target[1:]) if users else None) or target[1:]
        return Markup('<span class="mention" data-user="{}">@{}</span>').format(target[1:], name)
    if target.startswith("#"):
        name = label or (channels(target[1:]) if channels else None) or target[1:]
        return Markup('<span class="mention channel">#{}</span>').format(name)
    if target.startswith("!date^"):
        parts = target.split("^")
        stamp = parts[1] if len(parts) > 1 else ""
        layout = parts[2] if len(parts) > 2 else ""
        return Markup('<time class="slack-date" data-ts="{}" data-format="{}">{}</time>').format(
            stamp, layout, unescape(label) or stamp
        )
    if target.startswith("!subteam^"):
        return Markup('<span class="mention broadcast">{}</span>').format(unescape(label) or "@team")
    if target.startswith("!"):
        return Markup('<span class="mention broadcast">@{}</span>').format(target[1:])
    url = unescape(target)
    shown = render(label) if label else escape(url)
    if url.startswith(_SAFE_SCHEMES):
        # No real href: a middle click or "Open in new tab" would otherwise reach x.com; the page's
        # script follows `data-url` (the sandbox's own links) or says the link goes nowhere.
        return Markup('<a href="#" data-url="{}" class="link" title="{}">{}</a>').format(url, url, shown)
    return shown if label else Markup("{}").format(f"<{url}>")  # a link Slack would not open
