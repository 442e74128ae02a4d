"""Request hardening that FAB's defaults leave out (SPEC §10, issue 3 item 5).

* login limiter: 429 on the form and the API login while a user name or address is locked;
* CSRF on every cookie-authenticated write, REST calls included (JWT calls carry no cookie risk);
* security headers and ``Cache-Control: no-store`` on everything but static assets;
* errors: JSON ``{"message"}`` under /api, a translated error page elsewhere, never a trace.
"""

from __future__ import annotations

import logging
import secrets

import prison
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from werkzeug.exceptions import HTTPException, InternalServerError

from .security import client_address, login_locked

log = logging.getLogger(__name__)

csrf = CSRFProtect()

API_PREFIX = "/api/"
LOGIN_PATHS = {"/login/", "/api/v1/security/login"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_Q_LENGTH = 8192

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    # Scripts: our files, and the inline scripts of FAB's screens, each carrying this response's nonce
    # (FAB's templates ask for it through ``csp_nonce()``). An injected script has no nonce: it does not run.
    "script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


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
    appbuilder = current_app.extensions.get("appbuilder")
    return render_template("error.html", status=status, message=message, appbuilder=appbuilder), status


def _login_username() -> str:
    if request.path == "/login/":
        return request.form.get("username", "")
    data = request.get_json(silent=True)
    return str(data.get("username", "")) if isinstance(data, dict) else ""


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce  # FAB's templates and ours put it on <script>

    @app.before_request
    def _refuse_bad_requests_early():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            return error_response(413)
        # FAB parses ``q`` (rison) itself and answers 500 when the parser recurses too deep.
        if is_api() and "q" in request.args:
            q = request.args["q"]
            if len(q) > MAX_Q_LENGTH:
                return error_response(400)
            try:
                prison.loads(q)
            except RecursionError:
                return error_response(400)
            except Exception:  # noqa: BLE001 - FAB answers the ordinary parse errors itself
                pass
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
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            return None
        if not current_user.is_authenticated:
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
        return error_response(exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(InternalServerError.code)
