"""Every variable TwoWay reads is documented where an operator looks for it."""

from __future__ import annotations

import re

from bot.core.config import Settings
from tests.conftest import REPO

ALIASES = sorted(f.alias for f in Settings.model_fields.values() if isinstance(f.alias, str))


def test_every_variable_is_in_env_example() -> None:
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    assert [name for name in ALIASES if name not in listed] == []


def test_every_platform_and_webhook_variable_is_in_the_readme_configuration_table() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## Triage")]
    platform = [
        n
        for n in ALIASES
        if n.startswith(("X_", "FACEBOOK_", "INSTAGRAM_", "THREADS_", "BLUESKY_", "TWOWAY_FACEBOOK_"))
    ]
    assert [name for name in platform if f"`{name}`" not in table] == []
