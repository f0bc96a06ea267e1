"""Modals: the Edit & send form.

The reply is the modal's first (and only) multi-line input, posted verbatim. Its initial value
is a draft written by the agency (template, FAQ answer or an earlier reply), never public text,
so it is not escaped: escaping would post `&amp;` to the platform.
"""

from __future__ import annotations

import json
from typing import Any

from bot.review import action_ids
from bot.review.blocks import plain, platform_name
from bot.slack.escape import public
from domain import ReplyRules

ORIGINAL_LIMIT = 600
INPUT_MAX = 3000  # Slack's cap on a plain_text_input: the most that can be typed in the form


def edit_modal(
    *,
    mention_id: int,
    platform: str,
    original: str,
    draft: str,
    rules: ReplyRules,
    length: int,
    card_channel: str | None,
    card_ts: str | None,
) -> dict[str, Any]:
    metadata = json.dumps({"m": mention_id, "c": card_channel or "", "t": card_ts or ""})
    return {
        "type": "modal",
        "callback_id": action_ids.EDIT_REPLY,
        "private_metadata": metadata,
        "title": plain("Edit & send", 24),
        "submit": plain("Send", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": action_ids.EDIT_BLOCK,
                "label": plain(f"Reply on {platform_name(platform)}, posted exactly as written", 2000),
                "hint": plain(_hint(platform, rules, length), 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": action_ids.EDIT_ACTION,
                    "multiline": True,
                    "initial_value": draft[:INPUT_MAX],
                    "max_length": INPUT_MAX,
                    "focus_on_load": True,
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"*#{mention_id}* replying to: " + public(original, ORIGINAL_LIMIT),
                    }
                ],
            },
        ],
    }


def _hint(platform: str, rules: ReplyRules, length: int) -> str:
    """The limit that applies here: the platform's, or Slack's when this box holds less (Facebook
    takes 8,000 characters, the box 3,000)."""
    unit = rules.unit + rules.unit_hint
    if rules.limit <= INPUT_MAX:
        return f"Up to {rules.limit} {unit}. The draft is {length}/{rules.limit}."
    return (
        f"Up to {INPUT_MAX} characters: Slack's limit for this box ({platform_name(platform)} takes "
        f"{rules.limit}). The draft is {length}/{INPUT_MAX}."
    )


def edit_metadata(raw: str | None) -> tuple[int, str | None, str | None] | None:
    """The mention id and card location from an edit modal's private_metadata, or None."""
    try:
        data = json.loads(raw or "")
        mention_id = int(data["m"])
    except (ValueError, KeyError, TypeError, OverflowError):  # OverflowError: {"m": 1e400}
        return None
    if not 0 < mention_id < 10**18:
        return None
    return mention_id, str(data.get("c") or "") or None, str(data.get("t") or "") or None


def submitted_text(view: Any) -> str | None:
    """The first multi-line text input of a submitted view, verbatim; None when the view holds
    none, or holds it in a shape Slack does not send (a block or a state that is not an object)."""
    values = state_values(view)
    preferred = _object(values.get(action_ids.EDIT_BLOCK)).get(action_ids.EDIT_ACTION)
    if isinstance(preferred, dict) and preferred.get("type", "plain_text_input") == "plain_text_input":
        return _text_value(preferred)
    for block in values.values():
        for element in _object(block).values():
            if isinstance(element, dict) and element.get("type") == "plain_text_input":
                return _text_value(element)
    return None


def state_values(view: Any) -> dict[str, Any]:
    """`view.state.values`, or {} when any of them is not an object."""
    return _object(_object(_object(view).get("state")).get("values"))


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_value(element: dict[str, Any]) -> str | None:
    """Slack sends text, or null for an empty input; anything else is not a reply to post."""
    value = element.get("value")
    if value is None:
        return ""
    return value if isinstance(value, str) else None
