"""The password policy, the same on every path that sets a password (users screen, reset, own change).

At least ``MIN_LENGTH`` characters, not the user name, not in the shipped list of common passwords.
The demo password is seeded by setup and is not subject to it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask_babel import gettext as _

MIN_LENGTH = 10
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why ``password`` is refused for the account ``username`` (a translated message), or None."""
    if len(password) < MIN_LENGTH:
        return _("A password needs at least %(n)d characters.", n=MIN_LENGTH)
    folded = password.casefold()
    if username and folded == username.strip().casefold():
        return _("A password must not be the user name.")
    if folded in common_passwords():
        return _("This password is among the most common ones; choose another.")
    return None
