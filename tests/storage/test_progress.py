"""Poll progress saved by two writers at once: two webhook deliveries naming the same post (Meta
retries a delivery, or two comments come in one second) must both be answered, not one of them
with a unique-key error."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from bot.core.context import Context
from storage import progress
from storage.models import Account

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_a_key_saved_by_another_transaction_meanwhile_is_replaced_not_an_error(ctx: Context) -> None:
    with ctx.transaction() as session:
        account = Account(platform="facebook", external_id="104857600000001", name="Agency", created_at=NOW)
        session.add(account)
        session.flush()
        account_id = account.id
    key = "hint:104857600000001_900@1763650800#900_901"
    errors: list[BaseException] = []
    first_saved = threading.Event()

    def second_writer() -> None:
        first_saved.wait(5)
        try:
            with ctx.transaction() as session:  # waits for the first writer's row, then replaces it
                progress.save(session, account_id, {key: "1763650801"}, NOW)
        except BaseException as exc:  # the test reports what the writer met
            errors.append(exc)

    other = threading.Thread(target=second_writer)
    other.start()
    with ctx.transaction() as session:
        progress.save(session, account_id, {key: "1763650800"}, NOW)
        first_saved.set()
        other.join(0.5)  # the second writer is now blocked on this transaction's row
    other.join(10)
    assert errors == []
    with ctx.transaction() as session:
        assert progress.load(session, account_id) == {key: "1763650801"}
