"""Platform credentials are stored encrypted with a key derived from TWOWAY_SECRET_KEY."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class CredentialsError(Exception):
    """Stored credentials cannot be read with the configured secret key."""


def _fernet(secret_key: str) -> Fernet:
    # HKDF lets admins use any long random string, not only a 32-byte base64 Fernet key.
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"twoway-credentials", info=b"v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(secret_key: str, credentials: dict[str, str]) -> str:
    return _fernet(secret_key).encrypt(json.dumps(credentials).encode()).decode()


def unseal(secret_key: str, token: str) -> dict[str, str]:
    try:
        data = json.loads(_fernet(secret_key).decrypt(token.encode()))
    except (InvalidToken, ValueError) as exc:
        raise CredentialsError(
            "stored credentials cannot be decrypted: was TWOWAY_SECRET_KEY changed?"
        ) from exc
    return {str(k): str(v) for k, v in data.items()}
