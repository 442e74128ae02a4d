"""The language of the current reader, and the language stored texts are written in.

One place for what screens, APIs and services ask: ``current_locale()`` is the request's language
(Flask-Babel's choice: the user's switch, else the configured default); ``default_locale()`` is the
configured language, used for texts stored once for everybody (snapshots, audit events).
Outside an application context both answer Chinese, the product's first language.

Translating is Flask-Babel's, found once per request: ``init_app`` gives Flask-Babel a domain that keeps the
request's translations next to the locale Flask-Babel chose (a page asks for a hundred strings; Flask-Babel
itself finds the request, the domain, the locale and the catalog again for each), and the templates' ``_()``
reads them from there. A changed locale (``force_locale``, ``refresh``) is another locale object: its
translations are found again.
"""

from __future__ import annotations

from flask import current_app, has_app_context, has_request_context
from flask.globals import _cv_app
from flask_babel import Domain, get_locale, get_translations
from flask_babel.speaklater import LazyString
from jinja2 import pass_context
from markupsafe import Markup

FALLBACK = "zh_CN"

# Flask-Babel keeps what it found for a request in this namespace on ``g`` (flask_babel._get_current_context);
# the request's translations are kept there under FOUND, with the locale and domain they were found for.
BABEL_STATE = "_flask_babel"
FOUND = "jixiao_translations"


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


def _babel_state() -> dict | None:
    """What Flask-Babel has found for the current application context, if anything yet."""
    context = _cv_app.get(None)
    state = vars(context.g).get(BABEL_STATE) if context is not None else None
    return vars(state) if state is not None else None


def _found(state: dict | None):
    """The translations kept in ``state`` if they are still those of its locale and domain, else None."""
    if state is None:
        return None
    found = state.get(FOUND)
    if found is None or found[:2] != (state.get("babel_locale"), state.get("babel_domain")):
        return None
    return found[2]


class RequestDomain(Domain):
    """Flask-Babel's default domain, which finds the request's translations once and keeps them."""

    def get_translations(self):
        translations = _found(_babel_state())
        if translations is None:
            translations = super().get_translations()
            state = _babel_state()
            if state is not None and state.get("babel_domain") is self:
                state[FOUND] = (state.get("babel_locale"), self, translations)
        return translations


def request_translations():
    """The translations of the current request's locale and domain."""
    translations = _found(_babel_state())
    return translations if translations is not None else get_translations()


def _text(message) -> str:
    # A lazy string (a menu label) is translated once here; Jinja would otherwise translate it again for
    # every hash, comparison and conversion.
    return str(message) if isinstance(message, LazyString) else message


@pass_context
def template_gettext(context, message, **variables):
    """The templates' ``_()``: Jinja's own (``newstyle`` gettext, escaped, formatted even without
    variables), called directly rather than through the ``gettext`` it would look up and call again."""
    translated = request_translations().ugettext(_text(message))
    if context.eval_ctx.autoescape:
        translated = Markup(translated)
    return translated % variables


def init_app(app) -> None:
    """Install the request's translations in Flask-Babel (after FAB created it) and in the templates."""
    babel = app.extensions["babel"].instance
    babel.domain_instance = RequestDomain(domain=app.extensions["babel"].default_domain)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(_text(s)),
        ngettext=lambda s, p, n: request_translations().ungettext(_text(s), _text(p), n),
        pgettext=lambda c, s: request_translations().upgettext(c, _text(s)),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, _text(s), _text(p), n),
        newstyle=True,
    )
    app.jinja_env.globals["_"] = template_gettext
