"""The `/twoway connect PLATFORM` forms: credentials in, checked against the platform, sealed.

The form of each platform is its connector's credential fields (`PlatformSpec.fields`).

The credentials are checked inside the view submission's 3-second window (with a short
timeout), because only the submission's answer can put an error next to a field while the
admin's typing is still in the form. Secrets never leave this module except sealed: they are
not logged, not audited, not put back into any view or message.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import ids
from bot.core.config import ConfigError
from bot.core.context import Context
from bot.core.errors import UserError
from bot.intake.accounts import connector_from_credentials, save_connected_account
from bot.slack.escape import public
from bot.slack.plain_text import modal_text
from bot.slack.roles import require
from connectors import registry
from connectors.base import (
    AuthFailed,
    ChecksAll,
    Connector,
    ConnectorError,
    KeepsSession,
    RateLimited,
    Rejected,
    TransientError,
)
from domain import AccountIdentity
from storage.models import Role

log = logging.getLogger(__name__)

ACTION = "value"  # action_id of every input element
VALIDATE_SECONDS = 2.0  # request timeout of the platform check
CHECK_DEADLINE = 2.4  # the whole check, so the answer fits Slack's 3-second window
NO_USER = (
    "TwoWay could not tell who sent this form, so nothing was saved. Open it again with /twoway connect."
)
PROPER_NOUNS = frozenset({"Page", "Instagram", "Threads"})  # Meta's names: "Page ID", not "page ID"


def callback_id(platform: str) -> str:
    return f"connect_{platform}"


def modal(platform: str, channel_id: str) -> dict[str, Any]:
    """The credentials form. Nothing is prefilled: a secret is never sent back to Slack."""
    spec = registry.spec(platform)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": spec.intro}}]
    for field in spec.fields:
        blocks.append(
            {
                "type": "input",
                "block_id": field.key,
                "optional": field.optional,
                "label": {"type": "plain_text", "text": field.label},
                "hint": {"type": "plain_text", "text": field.hint},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ACTION,
                    "min_length": 1,
                    "max_length": 1000,
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": callback_id(platform),
        "title": {"type": "plain_text", "text": f"Connect {spec.title}"[:24]},
        "submit": {"type": "plain_text", "text": "Check and save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"channel": channel_id}),
        "blocks": blocks,
    }


def message_view(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24]},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def in_sentence(label: str) -> str:
    """A field's label inside a sentence: "Access token" -> "access token", but "API key",
    "Page ID" and "Threads user ID" keep their capitals (`str.lower` made "the api key")."""
    first = label.split(" ", 1)[0]
    if first.isupper() or first in PROPER_NOUNS:
        return label
    return label[:1].lower() + label[1:]


def read_credentials(platform: str, values: object) -> tuple[dict[str, str], dict[str, str]]:
    """The submitted values, trimmed, and errors per block for what is missing or malformed.

    `values` is Slack's `view.state.values`; a block, element or value of the wrong type (which
    Slack never sends) is an error on its field, like a malformed value.
    """
    creds: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in registry.spec(platform).fields:
        key, label = field.key, field.label.removesuffix(" (optional)")
        value = _typed_value(values.get(key)) if isinstance(values, dict) else None
        if value is None:
            errors[key] = f"TwoWay could not read the {in_sentence(label)}; paste it again."
            continue
        value = value.strip()
        if value:
            if any(c.isspace() for c in value):
                errors[key] = f"The {in_sentence(label)} has spaces in it; paste it again without them."
            elif field.digits and not ids.is_number(value):
                errors[key] = f"The {in_sentence(label)} is a number, such as 104857600000001."
            creds[key] = value
        elif not field.optional:
            errors[key] = f"Paste the {in_sentence(label)}."
    return creds, errors


def _typed_value(block: object) -> str | None:
    """The text typed into one input block: "" when empty or absent, None when unreadable."""
    if block is None:
        return ""
    if not isinstance(block, dict):
        return None
    element = block.get(ACTION)
    if element is None:
        return ""
    if not isinstance(element, dict):
        return None
    value = element.get("value")
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def refusal(platform: str, exc: ConnectorError, now: datetime | None = None) -> dict[str, str]:
    """An error next to the field most likely at fault; never the platform's raw text."""
    spec = registry.spec(platform)
    name, first = spec.title, spec.blame
    if isinstance(exc, AuthFailed) and exc.field and any(f.key == exc.field for f in spec.fields):
        label = next(f.label for f in spec.fields if f.key == exc.field)
        return {
            exc.field: f"{name} refused the {in_sentence(label.split(' (')[0])}; check it (or leave it empty if it is optional)."
        }
    if isinstance(exc, AuthFailed):
        return {first: spec.refused}
    if isinstance(exc, RateLimited):
        return {first: f"{name} is rate limiting this app right now; {_when_to_retry(exc.reset_at, now)}."}
    if isinstance(exc, TransientError):
        return {first: f"{name} did not answer in time; nothing was saved. Try again."}
    if isinstance(exc, Rejected) and spec.pinned and spec.gone:
        return {spec.pinned: spec.gone}
    return {first: f"{name} refused the check; nothing was saved. Check the values and try again."}


def _when_to_retry(reset_at: datetime | None, now: datetime | None) -> str:
    """The wait the platform named (X says when its 15-minute window ends), else a vague one."""
    if reset_at is None or now is None or reset_at <= now:
        return "try again in a few minutes"
    minutes = math.ceil((reset_at - now).total_seconds() / 60)
    return "try again in a minute" if minutes == 1 else f"try again in {minutes} minutes"


@dataclass(frozen=True)
class Checked:
    """Credentials the platform accepted: whose they are, and the session the check opened."""

    identity: AccountIdentity
    kept: str | None = None  # a login session worth keeping (Bluesky), so polls need no new login


def validate(ctx: Context, platform: str, creds: dict[str, str]) -> Checked | dict[str, str]:
    """Ask the platform whose credentials these are, within the submission window."""
    quick = ctx.settings.model_copy(update={"http_timeout": min(ctx.settings.http_timeout, VALIDATE_SECONDS)})
    try:
        connector = connector_from_credentials(quick, platform, creds)
        identity = identify_before(connector, CHECK_DEADLINE)
    except (ConfigError, ValueError):
        first = registry.spec(platform).fields[0].key
        return {first: "These values are incomplete or malformed; check every field."}
    except ConnectorError as exc:
        log.warning("connect %s: the platform refused the check (%s)", platform, type(exc).__name__)
        return refusal(platform, exc, ctx.clock.now())
    spec = registry.spec(platform)
    if spec.pinned and creds.get(spec.pinned) and identity.external_id != creds[spec.pinned]:
        return {spec.pinned: spec.pinned_mismatch}
    return Checked(identity, connector.saved() if isinstance(connector, KeepsSession) else None)


def identify_before(connector: Connector, deadline: float) -> AccountIdentity:
    """`identify()` (and `check_all()` where a connector has credentials identify does not use),
    given up after `deadline` seconds whatever the sockets do.

    A request timeout bounds each connect and each read, not their sum; this bounds the whole
    check, so Slack always gets the form's answer in time. A late answer is simply dropped.
    """
    outcome: Future[AccountIdentity] = Future()

    def run() -> None:
        try:
            identity = connector.identify()
            if isinstance(connector, ChecksAll):
                connector.check_all()
            outcome.set_result(identity)
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=run, name="twoway-connect-check", daemon=True).start()
    try:
        return outcome.result(timeout=deadline)
    except TimeoutError:
        raise TransientError("the platform did not answer in time") from None


def confirm(client: WebClient, channel: str, user_id: str, text: str) -> None:
    """Tell the admin where they ran the command; fall back to a DM if that channel refuses."""
    try:
        if channel and not channel.startswith("D"):
            client.chat_postEphemeral(channel=channel, user=user_id, text=text)
            return
    except SlackApiError as exc:
        log.info("connect: ephemeral confirmation refused (%s); sending a DM", exc.response.get("error"))
    try:
        client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as exc:
        log.warning("connect: could not confirm to the admin: %s", exc.response.get("error"))


def submission_listener(ctx: Context, platform: str) -> Callable[..., None]:
    def on_submit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        user = body.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        view: dict[str, Any] = body["view"] if isinstance(body.get("view"), dict) else {}
        if not isinstance(user_id, str) or not ids.is_user_id(user_id):
            # Slack always says who submitted; without it nobody's role can be checked.
            log.info("connect %s: a submission that names no user; refused", platform)
            first = registry.spec(platform).fields[0].key
            ack(response_action="errors", errors={first: NO_USER})
            return
        now = ctx.clock.now()
        refusal_text = None
        try:
            with ctx.transaction() as session:
                require(session, user_id, Role.ADMIN, "connect accounts")
        except UserError as exc:
            refusal_text = str(exc)
        if refusal_text is not None:
            log.info("connect %s: refused for %s (not an admin)", platform, user_id)
            ack(response_action="update", view=message_view("Not allowed", refusal_text))
            return
        if ctx.settings.twoway_secret_key is None:
            ack(
                response_action="update",
                view=message_view(
                    "Not saved", "TWOWAY_SECRET_KEY is not set on the server; nothing was saved."
                ),
            )
            return
        state = view.get("state")
        creds, errors = read_credentials(platform, state.get("values") if isinstance(state, dict) else None)
        if errors:
            ack(response_action="errors", errors=field_errors(ctx, errors))
            return
        checked = validate(ctx, platform, creds)
        if not isinstance(checked, Checked):
            ack(response_action="errors", errors=field_errors(ctx, checked))
            return
        with ctx.transaction() as session:
            account = save_connected_account(
                session, ctx.settings, checked.identity, creds, by=user_id, now=now, kept_session=checked.kept
            )
            label = _label(platform, checked.identity)
            account_id = account.id
        text = f"Connected {label} (account id {account_id}). New mentions appear in the review channel after the next poll."
        ack(response_action="update", view=message_view("Connected", text))
        log.info("connect: %s account %s connected by %s", platform, account_id, user_id)
        confirm(client, _channel_of(view), user_id, text)

    on_submit.__name__ = f"connect_{platform}_submitted"
    return on_submit


def field_errors(ctx: Context, errors: dict[str, str]) -> dict[str, str]:
    """Errors next to fields are shown as plain text: no mrkdwn token may reach them."""
    return {key: modal_text(ctx, text) for key, text in errors.items()}


def _channel_of(view: dict[str, Any]) -> str:
    """The channel the form was opened from (kept in its metadata); "" when unreadable."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return ""
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return channel if isinstance(channel, str) else ""


def _label(platform: str, identity: AccountIdentity) -> str:
    """`X account @agency`, `Facebook Page Agency Police`: the noun without its article."""
    spec = registry.spec(platform)
    noun = spec.noun.split(" ", 1)[1]
    return f"{noun} {public(spec.label(identity.handle, identity.name, identity.external_id), 80)}"


def register(app: App, ctx: Context) -> None:
    for platform in registry.names():
        app.view(callback_id(platform))(submission_listener(ctx, platform))
