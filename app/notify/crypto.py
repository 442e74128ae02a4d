"""Robot webhook URLs and secrets, encrypted at rest with a key derived from ``SECRET_KEY``.

A WeCom robot's URL *is* its secret (``…/webhook/send?key=…``), and a DingTalk URL carries its
``access_token``: whoever reads the table could post to the group. So both the URL and the signing secret
are stored sealed: HKDF-SHA256 turns ``SECRET_KEY`` into a 32-byte key for Fernet (AES-128-CBC with an
HMAC-SHA256 tag, from ``cryptography``). Changing ``SECRET_KEY`` makes the stored values unreadable
(:class:`SecretUnreadable`); HR then re-enters them on the robots screen. Nothing here is ever shown back.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_SALT = b"jixiao"
_INFO = b"jixiao robot webhook v1"


class SecretUnreadable(Exception):
    """A sealed value that this ``SECRET_KEY`` cannot open (the key changed, or the value was altered)."""


def _fernet(secret_key: str | None) -> Fernet:
    key = secret_key if secret_key is not None else current_app.config["SECRET_KEY"]
    if not key:
        raise RuntimeError("SECRET_KEY is not set")
    raw = HKDF(algorithm=SHA256(), length=32, salt=_SALT, info=_INFO).derive(str(key).encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(text: str, *, secret_key: str | None = None) -> str:
    """``text`` encrypted and authenticated, as ASCII (the app's ``SECRET_KEY`` unless given)."""
    return _fernet(secret_key).encrypt(text.encode("utf-8")).decode("ascii")


def unseal(token: str, *, secret_key: str | None = None) -> str:
    """The text :func:`seal` sealed; :class:`SecretUnreadable` when this key cannot open it."""
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise SecretUnreadable("the stored value cannot be read with this SECRET_KEY") from exc
