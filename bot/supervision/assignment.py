"""Handing a mention to one person, from the card's select or `/twoway assign`.

The database change is committed first; the DM to the assignee and the redrawn card follow and
may fail without losing the assignment. Answered and dismissed items cannot be assigned (there
is nothing left to do); they can still be unassigned. Assigning someone without a TwoWay role is
allowed (a supervisor may hand out work before an admin grants roles) but the result says so,
because such a person cannot approve replies until they get the officer role.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.core.context import Context
from bot.core.errors import UserError
from bot.review.cards import refresh_card
from bot.slack.client import single_try_client_for
from bot.slack.escape import public
from bot.slack.messages import open_dm, permalink
from bot.slack.outbox import poster
from connectors import registry
from storage import audit, mentions, staff, storms
from storage.audit import Action
from storage.models import CARD_SUMMARY, DISMISSED, REPLIED, Mention

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT = 2  # seconds for users.info before a slash command's ack (Slack allows 3)


@dataclass(frozen=True)
class AssignResult:
    mention_id: int
    assignee: str | None
    previous: str | None
    changed: bool
    action: str | None  # assigned | reassigned | unassigned, or None when nothing changed
    warning: str | None = None
    dm_sent: bool = False
    dm_error: str | None = None  # why Slack could not deliver the DM, when it was tried and failed

    @property
    def message(self) -> str:
        if not self.changed:
            who = f"<@{self.assignee}>" if self.assignee else "nobody"
            return f"#{self.mention_id} is already assigned to {who}."
        if self.assignee is None:
            text = f"#{self.mention_id} is no longer assigned (was <@{self.previous}>)."
        elif self.previous:
            text = f"#{self.mention_id} is now assigned to <@{self.assignee}> (was <@{self.previous}>)."
        else:
            text = f"#{self.mention_id} is now assigned to <@{self.assignee}>."
        if self.dm_error:
            text += (
                f" Slack could not send them a direct message ({public(self.dm_error, 60)}),"
                " so please tell them yourself."
            )
        return f"{text} {self.warning}" if self.warning else text


@dataclass(frozen=True)
class Stored:
    """An assignment committed to the database, and what its DM and card redraw need."""

    result: AssignResult  # without the DM's outcome: it is not sent yet
    by: str
    summary: str = ""
    card: tuple[str | None, str | None] = (None, None)
    storm_id: int | None = None  # gathered on this storm's summary card


def assign(ctx: Context, mention_id: int, assignee: str | None, by: str) -> AssignResult:
    """Assign (or with None, unassign) one mention; records it, DMs the assignee, redraws the card."""
    return follow_up(ctx, store(ctx, mention_id, assignee, by))


def store(ctx: Context, mention_id: int, assignee: str | None, by: str) -> Stored:
    """Check and commit the assignment (and its audit event); no DM, no redraw yet.

    Quick enough to run before a slash command's ack: one users.info lookup, tried once with a
    short timeout. `follow_up` does the slow part.
    """
    if assignee is not None:
        problem = _not_a_person(ctx, assignee)
        if problem:
            raise UserError(problem)
    now = ctx.clock.now()
    with ctx.transaction() as session:
        mention = mentions.get(session, mention_id, for_update=True)
        if mention is None:
            raise UserError(f"There is no item #{mention_id}.")
        if assignee is not None and mention.state in (REPLIED, DISMISSED):
            done = "answered" if mention.state == REPLIED else "dismissed"
            raise UserError(f"#{mention_id} was already {done}; there is nothing to assign.")
        previous = mention.assignee
        if previous == assignee:
            return Stored(AssignResult(mention_id, assignee, previous, changed=False, action=None), by)
        action = Action.UNASSIGNED if assignee is None else Action.REASSIGNED if previous else Action.ASSIGNED
        mention.assignee = assignee
        mention.assigned_at = now if assignee else None
        mention.assigned_by = by if assignee else None
        audit.record(
            session, now, action, actor=by, mention_id=mention_id, assignee=assignee, previous=previous
        )
        warning = None
        if assignee is not None and staff.role_of(session, assignee) is None:
            warning = (
                f"<@{assignee}> has no TwoWay role yet, so they cannot send replies; "
                f"an admin can run `/twoway role <@{assignee}> officer`."
            )
        card: tuple[str | None, str | None] = (mention.card_channel, mention.card_ts)
        storm_id = mention.storm_id if mention.card_status == CARD_SUMMARY else None
        if storm_id is not None:  # gathered on its storm's summary card: it never gets one of its own
            card = storms.summary_cards(session, [storm_id]).get(storm_id, (None, None))
        summary = _summary(mention)
    result = AssignResult(mention_id, assignee, previous, True, action, warning)
    return Stored(result, by, summary, card, storm_id)


def follow_up(ctx: Context, stored: Stored) -> AssignResult:
    """DM the assignee and redraw the card; the result says whether the DM went.

    Either may fail without losing the assignment: failures are logged, and a DM that could not
    be delivered is in the result's `dm_error` (and its message) for the supervisor.
    """
    result = stored.result
    if not result.changed or ctx.slack is None:
        return result
    dm_error, tried, assignee = None, False, result.assignee
    if assignee is not None and assignee != stored.by:  # taking an item yourself needs no DM
        tried = True
        dm_error = _notify(
            ctx, assignee, stored.by, result.mention_id, stored.summary, stored.card, stored.storm_id
        )
    _refresh(ctx, result.mention_id)
    return replace(result, dm_sent=tried and dm_error is None, dm_error=dm_error)


# What Slack says about a user id (`slack_person`).
PERSON, UNKNOWN, APP, DEACTIVATED = "person", "unknown", "app", "deactivated"


class SlackUnanswered(Exception):
    """Slack could not be asked about a user (no `users:read`, Slack down, slow or rate limited)."""


def slack_person(ctx: Context, user: str) -> str:
    """PERSON, UNKNOWN (Slack has no such user), APP or DEACTIVATED; raises SlackUnanswered.

    Asked once, without retries and with a short timeout, so that a slash command that asks
    still answers within Slack's 3 seconds.
    """
    if ctx.slack is None:
        raise SlackUnanswered("Slack is not configured in this process")
    lookup = single_try_client_for(ctx.slack)
    lookup.timeout = LOOKUP_TIMEOUT
    try:
        info: Any = lookup.users_info(user=user).get("user") or {}
    except SlackApiError as exc:
        code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if code == "user_not_found":
            return UNKNOWN
        raise SlackUnanswered(code) from None
    except Exception as exc:  # timeout, connection: Slack did not answer
        raise SlackUnanswered(type(exc).__name__) from None
    if info.get("is_bot") or user == "USLACKBOT":
        return APP
    return DEACTIVATED if info.get("deleted") else PERSON


def _not_a_person(ctx: Context, user: str) -> str | None:
    """Why `user` cannot take work (not in the workspace, an app or bot, a deactivated account);
    None when fine.

    Work handed to an app or to an id nobody has is work nobody does, and its SLA reminder would
    ping no one. When Slack cannot say, the assignment goes ahead.
    """
    if ctx.slack is None:
        return None
    try:
        verdict = slack_person(ctx, user)
    except SlackUnanswered as exc:
        log.info("could not look up %s before assigning (%s); assigning anyway", user, exc)
        return None
    if verdict == UNKNOWN:
        return f"Slack has no user `{user}` in this workspace. Check the name and try again."
    if verdict == APP:
        return f"<@{user}> is an app, not a person. Assign the item to a member of staff."
    if verdict == DEACTIVATED:
        return f"<@{user}> has been deactivated in Slack. Assign the item to someone else."
    return None


def _summary(mention: Mention) -> str:
    platform = registry.title(mention.platform)
    who = public(mention.author_handle or mention.author_name, 60)
    kind = mention.category or "untriaged"
    if mention.urgent:
        kind += ", urgent"
    return f"#{mention.id} ({kind}) from {who} on {platform}: “{public(mention.text, 200)}”"


def _notify(
    ctx: Context,
    assignee: str,
    by: str,
    mention_id: int,
    summary: str,
    card: tuple[str | None, str | None],
    storm_id: int | None = None,
) -> str | None:
    """DM the assignee; None when sent, else Slack's reason (the assignment stands either way)."""
    link = permalink(ctx, *card)
    if storm_id is not None:
        gathered = f"storm #{storm_id}'s summary card"
        where = (
            f"It is gathered on <{link}|{gathered}> (`/twoway queue storm {storm_id}` lists its posts)."
            if link
            else f"It is gathered on {gathered}, which will appear in the TwoWay channel shortly."
        )
    else:
        where = f"<{link}|Open the card>" if link else "The card will appear in the TwoWay channel shortly."
    text = f"<@{by}> assigned you {summary}\n{where}"
    try:
        channel = open_dm(ctx, assignee)
        poster(ctx).chat_postMessage(channel=channel, text=text, unfurl_links=False)
        return None
    except SlackApiError as exc:
        reason = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    except Exception as exc:  # timeout, connection: Slack did not answer
        reason = type(exc).__name__
    log.warning("could not DM %s about #%s (%s); the assignment stands", assignee, mention_id, reason)
    return reason


def _refresh(ctx: Context, mention_id: int) -> None:
    try:
        refresh_card(ctx, mention_id)
    except Exception:
        log.warning("could not redraw the card of #%s", mention_id, exc_info=True)
