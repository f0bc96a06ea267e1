"""No secret reaches a log line; stored credentials round-trip only with the right key."""

from __future__ import annotations

import logging

import pytest

from bot.core.crypto import CredentialsError, Keyring, seal, unseal
from bot.core.logs import RedactingFilter, redact_everywhere, scrub


@pytest.mark.parametrize(
    "line",
    [
        "calling slack with xoxb-1234-5678-abcdefABCDEF",
        "socket mode token xapp-1-A0-123-abc",
        "headers {'Authorization': 'Bearer AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid'}",
        "GET https://graph.example/v25.0/me?access_token=EAAGm0PX4ZCpsBA&fields=id",
        'OAuth oauth_token="1234-abcdef", oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjLY%3D"',
        'OAuth oauth_consumer_key="1234-abcdef", oauth_nonce="42"',
        "configured secret: page-token-very-secret-value",
    ],
)
def test_secrets_are_scrubbed_from_messages(line: str, caplog: pytest.LogCaptureFixture) -> None:
    redactor = RedactingFilter(["page-token-very-secret-value"])
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s", (line,), None)
    redactor.filter(record)
    message = record.getMessage()
    for secret in (
        "xoxb-1234",
        "xapp-1-A0",
        "AAAAAAAAAAAAAAAAAAAAAMLhe",
        "EAAGm0PX4ZCpsBA",
        "tnnArxj06c",
        "1234-abcdef",
        "very-secret",
    ):
        assert secret not in message
    assert "[redacted]" in message


def test_secrets_are_scrubbed_from_tracebacks() -> None:
    redactor = RedactingFilter(["s3cr3t-value-123"])
    try:
        raise RuntimeError("token s3cr3t-value-123 refused")
    except RuntimeError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    redactor.filter(record)
    assert "s3cr3t-value-123" not in record.getMessage()
    assert "RuntimeError" in record.getMessage()
    assert record.exc_info is None


def test_secrets_learned_after_start_up_are_scrubbed_by_filters_made_before() -> None:
    """Credentials typed into `/twoway connect` arrive long after the log filter was installed."""
    redactor = RedactingFilter(["env-secret-value"])
    redact_everywhere(["form-typed-token-4711", "form-typed-token-4711-longer", "12345"])
    record = logging.LogRecord(
        "t", logging.WARNING, __file__, 1, "X echoed %s", ("form-typed-token-4711-longer",), None
    )
    redactor.filter(record)
    assert record.getMessage() == "X echoed [redacted]"  # the longer one first: no tail is left
    assert (
        scrub("env-secret-value and form-typed-token-4711", ["env-secret-value"])
        == "[redacted] and [redacted]"
    )
    assert scrub("account 12345 @agency") == "account 12345 @agency"  # too short to be a secret


def test_credentials_round_trip_and_are_not_readable() -> None:
    token = seal("a-long-agency-secret", {"page_token": "EAAB-secret"})
    assert "EAAB-secret" not in token
    assert unseal("a-long-agency-secret", token) == {"page_token": "EAAB-secret"}


def test_the_wrong_key_says_so() -> None:
    token = seal("a-long-agency-secret", {"k": "v"})
    with pytest.raises(CredentialsError, match="TWOWAY_SECRET_KEY"):
        unseal("another-long-secret!", token)


def test_several_keys_seal_with_the_first_and_open_with_any() -> None:
    old = seal("the-old-agency-secret", {"page_token": "EAAB-secret"})
    keyring = Keyring(["the-new-agency-secret", "the-old-agency-secret"])
    assert keyring.unseal(old) == {"page_token": "EAAB-secret"}
    assert not keyring.is_current(old)
    fresh = keyring.rotate(old)
    assert keyring.is_current(fresh)
    assert unseal("the-new-agency-secret", fresh) == {"page_token": "EAAB-secret"}
    with pytest.raises(CredentialsError):
        unseal("the-old-agency-secret", fresh)
    new = keyring.seal({"k": "v"})
    assert unseal("the-new-agency-secret", new) == {"k": "v"}
    with pytest.raises(CredentialsError):
        Keyring("a-third-long-secret").rotate(old)
