"""Which features make up TwoWay: their subcommands and their Slack listeners, in one place."""

from __future__ import annotations

from bot.admin import commands as admin_commands
from bot.admin import connect, content
from bot.core.context import Context
from bot.intake import webhooks
from bot.review import listeners as review_listeners
from bot.review import storm_listeners
from bot.slack import commands
from bot.slack.app import SlackApp, build_bolt, register_fallbacks
from bot.slack.serve import Route
from bot.supervision import commands as supervision_commands
from bot.supervision import listeners as supervision_listeners

COMMANDS = commands.registry(admin_commands.COMMANDS, content.COMMANDS, supervision_commands.COMMANDS)


def web_routes(ctx: Context) -> dict[str, Route]:
    """The HTTP routes beside /slack/events: the platforms' webhooks."""
    return {webhooks.PATH: webhooks.MetaWebhook(ctx)}


def build_slack(ctx: Context) -> SlackApp:
    """The Bolt app with every feature's listeners; sets `ctx.slack`."""
    slack = build_bolt(ctx)
    review_listeners.register(slack.app, ctx)
    storm_listeners.register(slack.app, ctx)
    supervision_listeners.register(slack.app, ctx)
    connect.register(slack.app, ctx)
    commands.register(slack.app, ctx, COMMANDS)
    register_fallbacks(slack.app, ctx)  # last: they answer what no listener took
    return slack
