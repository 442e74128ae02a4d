"""A job's sentence in both languages: the row keeps both, each reader sees theirs."""

from __future__ import annotations

from flask_babel import force_locale

from ..locales import is_english


def both(text) -> dict[str, str]:
    """A lazy string (``_l("… %(n)s", n=3)``) rendered in Chinese and in English."""
    rendered = {}
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            rendered[locale] = str(text)
    return rendered


def message_columns(message: dict[str, str] | None) -> dict[str, str | None]:
    """``both(…)`` as the job row's columns."""
    message = message or {}
    return {"message_zh": message.get("zh_CN"), "message_en": message.get("en")}


def message_for(job, locale: str | None) -> str | None:
    """The job's sentence in the reader's language (the other one when that is missing)."""
    if is_english(locale):
        return job.message_en or job.message_zh
    return job.message_zh or job.message_en
