"""Request hardening that FAB's defaults leave out.

* login limiter: 429 on the form and the API login while a user name or address is locked;
* CSRF on every cookie-authenticated write, REST calls included (a call that authenticated by a valid
  token carries no cookie risk; a bogus ``Authorization`` header proves nothing);
* the request boundary: what the application cannot store or compute with answers 400 before any view
  runs — JSON that is not an object, nested deeper than 32, numbers beyond 64 bits or not finite, text
  with lone surrogates (in bodies and in ``q``, FAB's rison or JSON); FAB screens' list arguments
  (``page_``, ``psize_``, ``_oc_``, ``_flt_``) that FAB would turn into a 500; filter values that do not
  fit their column (:func:`usable_filter_value`, also applied by every query of our models);
* security headers and ``Cache-Control: no-store`` on everything but static assets;
* errors: JSON ``{"message"}`` under /api, a translated error page elsewhere, never a trace; an
  unhandled error rolls the request's database session back before the error page reads from it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import urllib.parse

import flask
import prison
from dateutil import parser as date_parser
from flask import Flask, current_app, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_appbuilder.baseviews import BaseCRUDView
from flask_appbuilder.models.filters import FilterRelation
from flask_appbuilder.models.sqla import filters as sqla_filters
from flask_babel import gettext as _
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from markupsafe import escape
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, NotFound

from .extensions import db
from .security import client_address, login_locked

log = logging.getLogger(__name__)

csrf = CSRFProtect()

API_PREFIX = "/api/"
LOGIN_PATHS = {"/login/", "/api/v1/security/login"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_Q_LENGTH = 8192
MAX_JSON_DEPTH = 32
INT64 = 2**63  # BIGINT's range: the largest number (integer or not) any field of ours may hold
MAX_KEY = 2**31 - 1  # primary keys are INTEGER columns
MAX_SCREEN_PAGE = 10**6
MAX_SCREEN_PAGE_SIZE = 1000
_SURROGATE = re.compile("[\ud800-\udfff]")
# FAB's screens index a column's filter list with this argument's digit (``flask_appbuilder.urltools``).
_FILTER_ARG = re.compile(r"_flt_(\d)_(.*)")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    # Scripts: our files, and the inline scripts of FAB's screens, each carrying this response's nonce
    # (FAB's templates ask for it through ``csp_nonce()``). An injected script has no nonce: it does not run.
    "script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class UnusableRequest(BadRequest):
    """400 with a readable reason; FAB's ``@safe`` answers ``str(exc)`` of a BadRequest."""

    def __init__(self, message: str) -> None:
        super().__init__(description=message)

    def __str__(self) -> str:
        return str(self.description)


def number_fits(number: int | float) -> bool:
    """Within BIGINT's range (not infinite, not NaN): what a column or a computation of ours can take."""
    return -INT64 <= number < INT64


def value_problem(value) -> str | None:
    """Why a decoded request value (a JSON body, ``q``) cannot be used, or None."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return _("The request is nested too deeply.")
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return _("The request contains text that is not valid Unicode.")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            if not number_fits(item):
                return _("The request contains a number that is too large.")
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    return None


def _refuse_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are not JSON


class UnusableJSON(ValueError):
    """Well-formed JSON the application refuses; the message says why."""


class RequestJSON(DefaultJSONProvider):
    """The application's JSON: the decoder of request bodies (``request.get_json()``: strict JSON, and
    nothing :func:`value_problem` refuses), and the encoder of every answer and of Jinja's ``tojson``
    in UTF-8 (Chinese as itself, half the bytes of its ``\\uXXXX`` escapes), with U+2028 and U+2029
    still escaped (a script older than ES2019 ends a line at them). Jinja's ``tojson`` escapes ``<``,
    ``>``, ``&`` and ``'`` after this, so JSON inlined in a page still cannot close its element."""

    ensure_ascii = False
    mimetype = "application/json; charset=utf-8"

    def dumps(self, obj, **kwargs) -> str:
        text = super().dumps(obj, **kwargs)
        if "\u2028" in text or "\u2029" in text:
            text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return text

    def loads(self, s, **kwargs):
        try:
            value = json.loads(s, parse_constant=_refuse_constant, **kwargs)
        except RecursionError:
            raise UnusableJSON(_("The request is nested too deeply.")) from None
        problem = value_problem(value)
        if problem:
            raise UnusableJSON(problem)
        return value


class JixiaoRequest(flask.Request):
    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:
            return super().on_json_loading_failed(e)  # not JSON at all: 415
        if isinstance(e, UnusableJSON):
            raise UnusableRequest(str(e))
        raise UnusableRequest(_("The request body is not valid JSON."))


_LIST_FILTERS = (sqla_filters.FilterIn, sqla_filters.FilterNotIn)
BOOLEAN_TEXT = {"y": True, "true": True, "1": True, "n": False, "false": False, "0": False}
_FUNCTION_FILTERS = (sqla_filters.FilterEqualFunction, sqla_filters.FilterInFunction)


def is_value_filter(flt) -> bool:
    """FAB's own column filters, which take a value from the request (not our base filters)."""
    return type(flt).__module__ == sqla_filters.__name__ and not isinstance(flt, _FUNCTION_FILTERS)


def usable_filter_value(datamodel, flt, value):
    """``value`` as FAB's filter ``flt`` can hand it to the database; :class:`UnusableRequest` naming
    the field when it cannot be of the column's type (FAB would pass it on and fail with a 500)."""
    if isinstance(flt, _LIST_FILTERS):
        return [_usable_one(datamodel, flt, v) for v in (value if isinstance(value, list) else [value])]
    if isinstance(value, list):  # FAB applies the filter once per value
        return [_usable_one(datamodel, flt, v) for v in value]
    return _usable_one(datamodel, flt, value)


def _usable_one(datamodel, flt, value):
    column = flt.column_name

    def refused():
        label = getattr(datamodel, "field_labels", {}).get(column, column)
        return UnusableRequest(_("The filter value for “%(field)s” is not usable.", field=str(label)))

    if value is None and isinstance(flt, sqla_filters.FilterEqual | sqla_filters.FilterNotEqual):
        return None  # "is empty" / "is not empty"
    if isinstance(value, dict | list) or value is None:
        raise refused()
    if isinstance(flt, FilterRelation):
        try:
            key = int(value)
        except (TypeError, ValueError, OverflowError):
            raise refused() from None
        if isinstance(value, bool) or not 0 < key <= MAX_KEY:
            raise refused()
        return key
    if datamodel.is_enum(column):
        if value not in datamodel.list_columns[column].type.enums:
            raise refused()
        return value
    if datamodel.is_integer(column):
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            raise refused() from None
        if not number_fits(number):
            raise refused()
        return number
    if datamodel.is_float(column) or datamodel.is_numeric(column):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise refused() from None
        if not number_fits(number):
            raise refused()
        return number
    if datamodel.is_date(column) or datamodel.is_datetime(column):
        if not isinstance(value, str):
            raise refused()
        try:
            date_parser.parse(value)
        except (ValueError, OverflowError):
            raise refused() from None
        return value
    if datamodel.is_boolean(column):
        # FAB's screens send "y"; anything FAB does not read as True it passes on unchanged, and
        # PostgreSQL refuses to compare a boolean with a number or text.
        truth = BOOLEAN_TEXT.get(str(value).lower()) if not isinstance(value, float) else None
        if truth is None:
            raise refused()
        return truth
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise refused()
        return value
    return str(value)  # a number given for a text column: its text


def csp_nonce() -> str:
    """This request's script nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        409: _("Somebody changed this in the meantime; reload and try again."),
        413: _("The upload is too large."),
        422: _("The request contains invalid data."),
        429: _("Too many failed sign-in attempts; wait a few minutes and try again."),
        500: _("Something went wrong on the server; the error has been logged."),
    }


def error_response(status: int, message: str | None = None):
    message = message or _messages().get(status) or _("Error")
    if is_api():
        response = jsonify(message=message)
        response.status_code = status
        return response
    if "user" not in g:
        # an error before FAB's own before_request (CSRF, body size): its menu reads g.user
        g.user = current_user
    appbuilder = current_app.extensions.get("appbuilder")
    try:
        return render_template("error.html", status=status, message=message, appbuilder=appbuilder), status
    except Exception:  # noqa: BLE001 - the error page must not turn into a second, bare error
        log.exception("The error page for %s could not be rendered", status)
        page = f"<!doctype html><meta charset=utf-8><title>{status}</title><p>{escape(message)}</p>"
        return flask.Response(page, status, mimetype="text/html")


def _q_problem(q: str) -> str | None:
    """Why the rison (or, as FAB allows, JSON) argument ``q`` cannot be used, or None."""
    unreadable = _("The query argument q could not be read.")
    if len(q) > MAX_Q_LENGTH:
        return unreadable
    try:
        value = prison.loads(q)
    except prison.decoder.ParserException:
        # FAB then reads q as JSON, after decoding it once more (``flask_appbuilder.api.rison``).
        try:
            value = current_app.json.loads(urllib.parse.parse_qs(f"q={q}").get("q", [""])[0])
        except UnusableJSON as exc:
            return str(exc)
        except ValueError:
            return unreadable
    except Exception:  # noqa: BLE001 - the parser's recursion and number errors: unreadable all the same
        return unreadable
    return value_problem(value)


def _json_body_problem() -> str | None:
    """Why the JSON body of a write cannot be used; None when there is none or it is fine."""
    if request.method not in WRITE_METHODS or not request.is_json or not request.get_data(cache=True):
        return None
    try:
        data = request.get_json()
    except UnusableRequest as exc:
        return str(exc)
    if is_api() and not isinstance(data, dict):
        return _("Send a JSON object.")  # every body of this API is an object
    return None


def _screen_view() -> BaseCRUDView | None:
    """The FAB model screen (ours or FAB's own) this request goes to, or None."""
    view_function = current_app.view_functions.get(request.endpoint or "")
    view = getattr(view_function, "__self__", None)
    return view if isinstance(view, BaseCRUDView) else None


def _check_screen_arguments(view: BaseCRUDView) -> None:
    """Raise, as a 4xx, what FAB's screen would answer with a 500 for this request's arguments."""
    method = (request.endpoint or "").rsplit(".", 1)[-1]
    if method == "download" and not current_app.config.get("UPLOAD_FOLDER"):
        raise NotFound()  # FAB's file download serves UPLOAD_FOLDER, which this application has not
    if method in ("action", "action_post"):
        name = (request.view_args or {}).get("name") if method == "action" else request.form.get("action")
        if name not in view.actions:
            raise NotFound()
    views = {type(v).__name__: v for v in current_app.appbuilder.baseviews}
    for arg, values in request.args.lists():
        if "page_" in arg or "psize_" in arg:
            limit = MAX_SCREEN_PAGE if "page_" in arg else MAX_SCREEN_PAGE_SIZE
            if not all(re.fullmatch("[0-9]{1,7}", v) and int(v) <= limit for v in values):
                raise UnusableRequest(_("The page number or page size is not usable."))
        if match := re.search("_oc_(.*)", arg):
            ordered = views.get(match.group(1))
            direction = request.args.get(f"_od_{match.group(1)}")
            if (ordered is not None and direction in ("asc", "desc")
                    and values[0] not in ordered.order_columns):
                raise UnusableRequest(_("This list cannot be sorted by that column."))
        if match := _FILTER_ARG.search(arg):
            index, column = int(match.group(1)), match.group(2)
            # FAB's own reading of ``_flt_`` indexes the column's filters with the number as given.
            column_filters = view._filters._all_filters.get(column)
            if column_filters is None:
                continue
            if index >= len(column_filters):
                raise UnusableRequest(_("The filter is not usable."))
            usable_filter_value(view.datamodel, column_filters[index], values)


def _authenticated_by_token() -> bool:
    """Whether the request carries a valid access token (not merely an ``Authorization`` header)."""
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        return False
    try:
        verify_jwt_in_request(optional=True)
        return get_jwt_identity() is not None
    except Exception:  # noqa: BLE001 - a malformed, expired or forged token authenticates nobody
        return False


def _roll_back() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection: the session is discarded at teardown anyway
        log.exception("Rolling back the failed request's session failed")


def _login_username() -> str:
    if request.path == "/login/":
        return request.form.get("username", "")
    data = request.get_json(silent=True)
    return str(data.get("username", "")) if isinstance(data, dict) else ""


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.json = RequestJSON(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce  # FAB's templates and ours put it on <script>
    # ``tojson`` in pages: this encoder (the environment may have been made with Flask's own already)
    app.jinja_env.policies["json.dumps_function"] = app.json.dumps
    app.request_class = JixiaoRequest

    @app.before_request
    def _refuse_bad_requests_early():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            return error_response(413)
        # Query arguments and form fields cannot hold lone surrogates (Werkzeug keeps an invalid
        # escape as its text and replaces invalid bytes); JSON's \u escapes can, in bodies and in q.
        problem = _q_problem(request.args["q"]) if is_api() and "q" in request.args else None
        problem = problem or _json_body_problem()
        if problem:
            return error_response(400, problem)
        view = None if is_api() else _screen_view()
        if view is not None:
            _check_screen_arguments(view)
        return None

    @app.before_request
    def _limit_logins():
        if request.method == "POST" and request.path in LOGIN_PATHS:
            if login_locked(_login_username(), client_address()):
                return error_response(429)
        return None

    @app.before_request
    def _csrf_for_cookie_api_writes():
        # FAB exempts its APIs from CSRF because JWT clients send no cookie; a browser calling
        # the API with its session cookie must prove the request came from our pages.
        if not is_api() or request.method not in WRITE_METHODS:
            return None
        if not current_user.is_authenticated or _authenticated_by_token():
            return None
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except Exception:  # noqa: BLE001 - any failure of the token check is the same answer
            return error_response(400, _("The CSRF token is missing or invalid."))
        return None

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
        if not request.path.startswith(("/static/", "/appbuilder/")):
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        return error_response(400, _("The CSRF token is missing or invalid."))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code and exc.code < 400:
            return exc
        if exc.code == 405 and is_api() and request.method in ("GET", "HEAD"):
            return error_response(404)  # e.g. /api/v1/station/abc: nothing there to read
        return error_response(exc.code or 500, str(exc) if isinstance(exc, UnusableRequest) else None)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        _roll_back()  # before the error page, which reads the menu through the same session
        return error_response(InternalServerError.code)
