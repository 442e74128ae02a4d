"""Errors a service raises, each carrying its kind; screens and APIs map the kind once.

A service says *what* went wrong (``kind``) and *why* (the message, in the caller's language or as a
lazy string); it never knows HTTP. ``app/api/base.py`` turns a kind into a status and ``{"message"}``,
``app/views/base.py`` turns it into a flashed message or a 404 page. The pure workflow's refusals
(``app.workflow.Refusal``) carry the same ``kind`` attribute without importing this module.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l


class Kind(StrEnum):
    NOT_FOUND = "not_found"  # missing or outside the caller's scope: the two are not told apart
    CONFLICT = "conflict"  # somebody changed it meanwhile, or its state forbids the change
    REFUSED = "refused"  # this caller may not do this
    INVALID = "invalid"  # the input cannot be used


class ServiceError(Exception):
    """Base of the services' errors: ``kind``, a message, an optional stable ``code`` and extra payload."""

    kind: Kind = Kind.INVALID
    default_message: Any = _l("The request contains invalid data.")

    def __init__(self, message: Any = None, *, code: str | None = None, **payload: Any) -> None:
        self.message = message if message is not None else self.default_message
        self.code = code
        self.payload = payload
        super().__init__(str(self.message))

    def message_for(self, locale: str | None = None) -> str:  # noqa: ARG002 - same signature as Refusal.reason
        return str(self.message)


class NotFound(ServiceError):
    """Missing or outside the caller's scope (HTTP 404)."""

    kind = Kind.NOT_FOUND
    default_message = _l("Not found.")


class Conflict(ServiceError):
    """The object changed under the caller (HTTP 409); nothing was changed."""

    kind = Kind.CONFLICT
    default_message = _l("Somebody changed this in the meantime; reload and try again.")


def kind_of(exc: BaseException) -> Kind | None:
    """The kind of a service error or a workflow refusal; None for anything else."""
    kind = getattr(exc, "kind", None)
    try:
        return Kind(kind) if kind is not None else None
    except ValueError:
        return None


def message_of(exc: BaseException, locale: str | None) -> str:
    """The error's sentence in ``locale``: a refusal's reason, else the service error's message."""
    reason = getattr(exc, "reason", None)
    if callable(reason):
        return reason(locale)
    message_for = getattr(exc, "message_for", None)
    return message_for(locale) if callable(message_for) else str(exc)
