"""The language of the current reader, and the language stored texts are written in.

One place for what screens, APIs and services ask: ``current_locale()`` is the request's language
(Flask-Babel's choice: the user's switch, else the configured default); ``default_locale()`` is the
configured language, used for texts stored once for everybody (snapshots, audit events).
Outside an application context both answer Chinese, the product's first language.
"""

from __future__ import annotations

from flask import current_app, has_app_context, has_request_context
from flask_babel import get_locale

FALLBACK = "zh_CN"


def default_locale() -> str:
    """The configured language (``BABEL_DEFAULT_LOCALE``)."""
    return current_app.config.get("BABEL_DEFAULT_LOCALE", FALLBACK) if has_app_context() else FALLBACK


def current_locale() -> str:
    """The reader's language in a request, else the configured one."""
    if has_request_context():
        return str(get_locale() or default_locale())
    return default_locale()


def is_english(locale: str | None) -> bool:
    return (locale or "").startswith("en")
