"""What the rule-set services refuse, each with its kind (see ``app.services.errors``).

A refused rule set or row carries every ``problem``; its answer names the first error up front
(``message``, ``error``) and lists the problems, in the reader's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...locales import current_locale
from ...models.rules import LOCKED_MESSAGE
from ...rules import Problem
from ..errors import Kind, ServiceError


class _ProblemsError(ServiceError):
    """Refused rule content: ``problems`` are all of them, ``shown`` those the answer names."""

    kind = Kind.INVALID

    def __init__(self, problems: list[Problem], shown: list[Problem]) -> None:
        self.problems, self.shown = problems, shown
        locale = current_locale()
        first = shown[0]
        error = {"code": first.code, "message": first.message(locale), "position": first.position,
                 "suggestions": list(first.suggestions), "field": first.field}
        super().__init__("; ".join(p.render("en") for p in shown[:5]), error=error,
                         problems=[p.to_dict(locale) for p in shown])

    def message_for(self, locale: str | None = None) -> str:
        first = self.shown[0]
        text = first.message(locale or current_locale())
        return f"{first.field}: {text}" if first.field else text


class RuleSetInvalid(_ProblemsError):
    """The rule set has errors; nothing was changed. ``problems`` lists every one (warnings too)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, [p for p in problems if p.is_error])


class RuleRefused(_ProblemsError):
    """A row was refused; ``problems`` are its errors (the engine's for a broken formula)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, problems)


class NoRuleSet(ServiceError, LookupError):
    """No such rule-set version, or none published yet. ``str()`` says which, for logs and the CLI."""

    kind = Kind.INVALID
    default_message = _l("No such rule set version.")

    def message_for(self, locale: str | None = None) -> str:  # noqa: ARG002 - a sentence for the reader
        return str(self.default_message)


class NotADraft(ServiceError):
    """The action needs a draft version (e.g. publishing what is published already)."""

    kind = Kind.CONFLICT
    default_message = LOCKED_MESSAGE

    def message_for(self, locale: str | None = None) -> str:  # noqa: ARG002 - a sentence for the reader
        return str(self.default_message)


class WhatIfError(ServiceError):
    """The what-if cannot run (no such cycle); the message says why."""

    kind = Kind.INVALID
