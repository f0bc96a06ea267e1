"""Platform credentials are stored encrypted with keys derived from TWOWAY_SECRET_KEY.

TWOWAY_SECRET_KEY holds one key or several, newest first, separated by commas. Each becomes a
Fernet key (AES-128-CBC with HMAC-SHA256, via HKDF-SHA256 from the admin's string). Credentials
are sealed with the first key and opened with whichever key fits, so a new key can be put in
front, everything re-sealed with `twoway keys rotate`, and only then the old key dropped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEPARATOR = ","
MIN_KEY_LENGTH = 16


class CredentialsError(Exception):
    """Stored credentials cannot be read with the configured secret keys."""


def split_keys(value: str) -> list[str]:
    """`new,old` -> ["new", "old"]: spaces around each key are ignored, empty parts too."""
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def _fernet(secret_key: str) -> Fernet:
    # HKDF lets admins use any long random string, not only a 32-byte base64 Fernet key.
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"twoway-credentials", info=b"v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


class Keyring:
    """The configured keys, newest first: seal with the first, open with any."""

    def __init__(self, keys: str | Sequence[str]) -> None:
        keys = split_keys(keys) if isinstance(keys, str) else [k for k in keys if k]
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._newest = _fernet(keys[0])
        self._all = MultiFernet([_fernet(k) for k in keys])

    def seal(self, credentials: dict[str, str]) -> str:
        return self._newest.encrypt(json.dumps(credentials).encode()).decode()

    def unseal(self, token: str) -> dict[str, str]:
        try:
            data = json.loads(self._all.decrypt(token.encode()))
        except (InvalidToken, ValueError) as exc:
            raise CredentialsError(
                "stored credentials cannot be decrypted with any key in TWOWAY_SECRET_KEY: was it changed?"
            ) from exc
        return {str(k): str(v) for k, v in data.items()}

    def is_current(self, token: str) -> bool:
        """Sealed with the newest key already (nothing for a rotation to do)."""
        try:
            self._newest.decrypt(token.encode())
        except (InvalidToken, ValueError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same credentials sealed with the newest key; CredentialsError when no key opens it."""
        try:
            return self._all.rotate(token.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise CredentialsError("no key in TWOWAY_SECRET_KEY opens these credentials") from exc


def seal(keys: str | Sequence[str], credentials: dict[str, str]) -> str:
    return Keyring(keys).seal(credentials)


def unseal(keys: str | Sequence[str], token: str) -> dict[str, str]:
    return Keyring(keys).unseal(token)
