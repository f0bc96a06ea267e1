"""The fake Slack the supervision tests talk to (a module may bring its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fakes.slack_api import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server
