"""Bluesky as the rest of TwoWay sees it: its spec, and the connector built on demand.

The connector itself (`connectors/bluesky_client.py`) uses the `atproto` package, whose import
costs about a second and 40 MB; the registry imports this module in every `twoway` command, so
atproto is loaded only when a Bluesky account is actually built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from connectors.base import CredentialField, Options, PlatformSpec
from domain import AccountIdentity, ReplyRules

if TYPE_CHECKING:
    from connectors.bluesky_client import BlueskyConnector


# -- the platform as the rest of TwoWay sees it ------------------------------------------------


def build(options: Options, creds: Mapping[str, str], identity: AccountIdentity | None) -> BlueskyConnector:
    from connectors.bluesky_client import BlueskyConnector  # atproto loads here: see the docstring

    return BlueskyConnector(
        service_url=options["BLUESKY_SERVICE_URL"],
        timeout=options["TWOWAY_HTTP_TIMEOUT"],
        handle=creds["handle"],
        app_password=creds["app_password"],
        did=identity.external_id if identity else None,
    )


def _incomplete(creds: Mapping[str, str]) -> str | None:
    missing = [k for k in ("handle", "app_password") if not creds.get(k)]
    return f"Bluesky needs the {' and the '.join(m.replace('_', ' ') for m in missing)}" if missing else None


SPEC = PlatformSpec(
    name="bluesky",
    title="Bluesky",
    noun="a Bluesky account",
    rules=ReplyRules(limit=300, counting="graphemes"),
    fields=(
        CredentialField(
            "handle", "Handle", "The account's handle, such as agencypolice.bsky.social", "BLUESKY_HANDLE"
        ),
        CredentialField(
            "app_password",
            "App password",
            "Settings > Privacy and security > App passwords > Add (never the account's own password)",
            "BLUESKY_APP_PASSWORD",
        ),
    ),
    build=build,
    intro="Paste your agency's Bluesky handle and an app password made for TwoWay. TwoWay logs in once to"
    " check them, stores them and the session encrypted, and reuses the session; the password is never"
    " shown again.",
    refused="Bluesky refused this handle and app password (revoked, or a typo?). Make a new app password.",
    env_groups=(("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),),
    env_triggers=("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    incomplete=_incomplete,
    can_like=True,
    can_hide=False,
    permissions="an app password (no direct-message access needed)",
)
