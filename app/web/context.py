"""Who is asking, which row a URL names and which page of a list, as every screen and API reads them."""

from __future__ import annotations

from flask import g, has_request_context

from ..extensions import db
from ..hardening import MAX_KEY
from ..locales import current_locale
from ..scoping import current_user_or_none
from ..services.caller import Caller, caller_for

# The longest comment or reason a request may send; the workflow cuts what it stores further.
MAX_COMMENT = 4000


def current_caller() -> Caller:
    """The signed-in user as the workflow sees them (actor, scope), in the reader's language: built once
    per request (and user and language), its scope then the request's scope too."""
    user, locale = current_user_or_none(), current_locale()
    if not has_request_context():
        return caller_for(db.session, user, locale)
    key = (getattr(user, "id", None), locale)
    kept = g.get("jixiao_caller")
    if kept is None or kept[0] != key:
        caller = caller_for(db.session, user, locale)
        g.jixiao_caller = kept = (key, caller)
        if user is not None and "jixiao_scope" not in g:
            g.jixiao_scope = caller.scope
    return kept[1]


def current_username() -> str:
    """The signed-in user's name, or "" for nobody."""
    user = current_user_or_none()
    return user.username if user is not None else ""


def row_or_none(model, pk):
    """The row of ``model`` with key ``pk``; None when there is none or the key cannot exist."""
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= MAX_KEY:
        return None
    return db.session.get(model, pk)


def page_number(raw: str | None) -> int | None:
    """A list's page from the query, counted from 1 (1 when none is given); None when it is not one."""
    if not raw:
        return 1
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 and int(raw) > 0 else None
