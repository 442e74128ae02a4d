"""Flask-AppBuilder security, hardened: accounts, logins and sessions.

* Login limiter, shared by the form and the API login. FAB's own (``AUTH_RATE_LIMITED``) counts
  correct logins too and lives in one process's memory; ours counts failures only, per account (the
  user the typed name or e-mail resolves to, whatever its case) and per address, in the database so
  that every server worker sees the same lock. A name that resolves to nobody is counted by its
  normalised form. While locked, even the right password is refused (429). Behind
  ``JIXIAO_TRUSTED_PROXIES`` reverse proxies the address is the client's, as the nearest proxy saw
  it in ``X-Forwarded-For``; with none (the default) the header is ignored, so a client cannot
  choose the address it is counted under.
* Credential stamp: every session and every JWT carries a digest of the account's password hash and
  its stamp token (``AccountStamp``). A password change or reset changes the hash, logout and
  deactivation replace the token; a session or token whose digest no longer matches is refused.
* JWT errors answer ``{"message"}`` like every other API error.
* What every request pays: the session's user, its roles and its stamp token are one statement, and
  the permissions of the user's roles and of the public role another (``Grants``), read once per
  request and answering every check of the request (the view's, each menu entry's, each button's).
  Nothing is kept across requests: a revoked permission or a changed role counts from the next one.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from flask import current_app, g, has_request_context, jsonify, request, session
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Permission,
    PermissionView,
    Role,
    User,
    ViewMenu,
    assoc_group_role,
    assoc_permissionview_role,
    assoc_user_group,
    assoc_user_role,
)
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in
from sqlalchemy import bindparam, case, delete, event, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, object_session
from werkzeug.local import LocalProxy
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import db
from .models import AccountStamp, LoginFailure

SESSION_STAMP = "_account_stamp"
JWT_STAMP = "stamp"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def trust_proxies(app) -> None:
    """Behind ``JIXIAO_TRUSTED_PROXIES`` reverse proxies, a request's address (``remote_addr``) is
    the one the last of them appended to ``X-Forwarded-For`` (werkzeug's ProxyFix): what the
    proxies themselves saw, never what a client wrote before them. None trusted (0): the header
    means nothing."""
    hops = int(app.config.get("JIXIAO_TRUSTED_PROXIES") or 0)
    if hops > 0 and not isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)


# --- the login limiter ---


def login_account(typed: str) -> tuple[int | None, str]:
    """(id of the account a typed login name or e-mail means, the name normalised).

    Case-insensitive, as FAB's login is; one query whether or not the account exists, so that
    known and unknown names take the same time."""
    name = (typed or "").strip()[:320]
    lowered = func.lower(name)
    by_name = func.lower(User.username) == lowered
    user_id = db.session.scalar(
        select(User.id)
        .where(or_(by_name, func.lower(User.email) == lowered))
        .order_by(case((by_name, 0), else_=1), User.id)
        .limit(1)
    )
    return user_id, name.lower()[:100]


def _failures(user_id: int | None, key: str):
    if user_id is not None:
        return LoginFailure.user_id == user_id
    return (LoginFailure.user_id.is_(None)) & (LoginFailure.username == key)


def login_locked(typed: str, address: str) -> bool:
    """True while the account (or unknown name) typed or this address has too many recent failures."""
    cfg = current_app.config
    since = _now() - dt.timedelta(seconds=cfg["LOGIN_LOCK_SECONDS"])
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.at >= since)
    by_account = db.session.scalar(recent.where(_failures(*login_account(typed))))
    if by_account >= cfg["LOGIN_MAX_FAILURES"]:
        return True
    by_address = db.session.scalar(recent.where(LoginFailure.address == address))
    return by_address >= cfg["LOGIN_MAX_FAILURES_PER_IP"]


def record_login_failure(typed: str, address: str) -> None:
    user_id, key = login_account(typed)
    db.session.add(LoginFailure(username=key, user_id=user_id, address=address, at=_now()))
    db.session.commit()


def clear_login_failures(user_id: int) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.user_id == user_id))
    db.session.commit()


# --- the credential stamp ---


def credential_stamp(user, token: str | None = None) -> str:
    """The digest a session or token of ``user`` must carry: it changes with the password hash and
    with the account's stamp token (read unless given). Keyed with the secret key, so that a JWT's
    readable claims tell nothing about the hash."""
    if token is None:
        token = db.session.scalar(select(AccountStamp.token).where(AccountStamp.user_id == user.id))
    token = token or ""
    message = f"{user.id}\0{user.password or ''}\0{token}".encode()
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else key.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def stamp_matches(user, carried, token: str | None = None) -> bool:
    return isinstance(carried, str) and hmac.compare_digest(carried, credential_stamp(user, token))


@functools.cache
def _user_statement():
    """The account (with its roles) and its stamp token, by ``pk``: built once per process."""
    return (select(User, AccountStamp.token)
            .outerjoin(AccountStamp, AccountStamp.user_id == User.id)
            .where(User.id == bindparam("pk"))
            .options(joinedload(User.roles)))


def user_with_token(pk) -> tuple[User | None, str]:
    """The account ``pk`` with its roles, and its stamp token ("" for none): one statement."""
    row = db.session.execute(_user_statement(), {"pk": int(pk)}).unique().first()
    return (row[0], row[1] or "") if row is not None else (None, "")


# --- what a request may do ---


@dataclass(frozen=True)
class Grants:
    """The (permission, view) pairs of one user's roles and of the public role, as FAB stores them,
    and the names of those roles that are FAB built-in roles (``FAB_ROLES``, granted by pattern)."""

    held: frozenset[tuple[str, str]]
    held_builtin: tuple[str, ...]
    public: frozenset[tuple[str, str]]
    public_builtin: tuple[str, ...]


@functools.cache
def _grants_statement():
    """Every role of the user ``user_id`` (directly or through a group; none for None) and the role
    named ``public``, each with whether the user holds it and its permissions (one row of Nones for a
    role without): built once per process."""
    user_id = bindparam("user_id")
    held = Role.id.in_(
        select(assoc_user_role.c.role_id).where(assoc_user_role.c.user_id == user_id).union(
            select(assoc_group_role.c.role_id)
            .join(assoc_user_group, assoc_user_group.c.group_id == assoc_group_role.c.group_id)
            .where(assoc_user_group.c.user_id == user_id)))
    return (select(Role.name, held, Permission.name, ViewMenu.name)
            .outerjoin(assoc_permissionview_role, assoc_permissionview_role.c.role_id == Role.id)
            .outerjoin(PermissionView, PermissionView.id == assoc_permissionview_role.c.permission_view_id)
            .outerjoin(Permission, Permission.id == PermissionView.permission_id)
            .outerjoin(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
            .where(or_(Role.name == bindparam("public"), held)))


def read_grants(user_id: int | None, public_role: str, builtin: dict) -> Grants:
    """What the user ``user_id`` (None: nobody signed in) and the public may do: one statement."""
    rows = db.session.execute(_grants_statement(), {"user_id": user_id, "public": public_role}).all()
    pairs: dict[bool, set] = {True: set(), False: set()}
    builtins: dict[bool, set] = {True: set(), False: set()}
    for role, is_held, perm, view in rows:
        for mine in [True] * bool(is_held) + [False] * (role == public_role):
            if role in builtin:
                builtins[mine].add(role)
            elif perm is not None and view is not None:
                pairs[mine].add((perm, view))
    return Grants(frozenset(pairs[True]), tuple(sorted(builtins[True])),
                  frozenset(pairs[False]), tuple(sorted(builtins[False])))


def end_sessions(user_id: int, *, commit: bool = True, db_session=None) -> None:
    """Replace the account's stamp token: every session and JWT of the account stops working."""
    db_session = db_session or db.session
    insert = pg_insert if db_session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(AccountStamp).values(user_id=user_id, token=secrets.token_hex(16))
    db_session.execute(statement.on_conflict_do_update(
        index_elements=[AccountStamp.user_id], set_={"token": statement.excluded.token}))
    if commit:
        db_session.commit()


@event.listens_for(User.active, "set", active_history=True)
def _deactivation_ends_sessions(user, value, old, _initiator) -> None:
    """Whatever path deactivates an account, its sessions and tokens end: a later reactivation does
    not bring them back."""
    if old is True and not value and user.id is not None:
        # committed with the change of the account, in its session
        end_sessions(user.id, commit=False, db_session=object_session(user))


def _stamp_new_session(_app, user, **_extra) -> None:
    """Flask-Login's signal on every login: the session remembers the account's stamp."""
    session[SESSION_STAMP] = credential_stamp(user)


def _jwt_error(message: str):
    response = jsonify(message=message)
    response.status_code = 401
    return response


def _signed_in_id(user) -> int | None:
    """The id of ``user`` (a user, a proxy of one, anonymous or None); None for nobody signed in."""
    user = user._get_current_object() if isinstance(user, LocalProxy) else user
    return user.id if user is not None and user.is_authenticated else None


class JixiaoSecurityManager(SecurityManager):
    """FAB's SQLAlchemy security manager with failure counting and credential stamps."""

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # late: app.views.accounts imports this module at its top (the login lock and failure counting)
        from .views.accounts import ResetMyPasswordView, ResetPasswordView, RoleModelView, UserDBModelView

        self.userdbmodelview = UserDBModelView
        self.rolemodelview = RoleModelView
        self.resetmypasswordview = ResetMyPasswordView
        self.resetpasswordview = ResetPasswordView
        user_logged_in.connect(_stamp_new_session)  # a module function: connected once per process
        trust_proxies(current_app._get_current_object())

    def auth_user_db(self, username, password):
        user = super().auth_user_db(username, password)
        if user is None:
            record_login_failure(username or "", client_address())
        else:
            clear_login_failures(user.id)
        return user

    # Sessions: Flask-Login loads the session's user through this; a stale stamp reads as signed out.
    def load_user(self, pk):
        user, token = user_with_token(pk)
        if user is None or not user.is_active or not stamp_matches(user, session.get(SESSION_STAMP), token):
            return None
        return user

    def load_user_jwt(self, _jwt_header, jwt_data):
        user, token = user_with_token(jwt_data["sub"])
        if user is None or not user.is_active or not stamp_matches(user, jwt_data.get(JWT_STAMP), token):
            return None  # flask_jwt_extended answers through the user lookup error loader: 401
        g.user = user
        return user

    # Permissions: FAB asks one question per check (the view, every menu entry, every button), each a
    # query; here every check of a request is answered from the request's ``Grants``. The rules are
    # FAB's: a signed-in user has the permissions of their roles, nobody signed in those of the
    # public role, a built-in role's by its patterns.
    def grants(self, user) -> Grants:
        """What ``user`` (None or anonymous: nobody signed in) and the public may do, read once per
        request."""
        return self._grants_of(_signed_in_id(user))

    def _grants_of(self, user_id: int | None) -> Grants:
        store = vars(request._get_current_object()).setdefault("jixiao_grants", {}) \
            if has_request_context() else {}
        if user_id not in store:
            store[user_id] = read_grants(user_id, self.auth_role_public, self.builtin_roles)
        return store[user_id]

    def _allowed(self, user) -> tuple[frozenset[tuple[str, str]], tuple[str, ...]]:
        user_id = _signed_in_id(user)
        grants = self._grants_of(user_id)
        if user_id is None:
            return grants.public, grants.public_builtin
        return grants.held, grants.held_builtin

    def _builtin_allows(self, roles: tuple[str, ...], permission_name: str, view_name: str) -> bool:
        return any(re.match(view, view_name) and re.match(perm, permission_name)
                   for role in roles for view, perm in self.builtin_roles.get(role, []))

    def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
        pairs, builtin = self._allowed(user)
        return ((permission_name, view_name) in pairs
                or self._builtin_allows(builtin, permission_name, view_name))

    def is_item_public(self, permission_name, view_name):
        signed_in = has_request_context() and current_user.is_authenticated
        grants = self.grants(current_user if signed_in else None)
        return (permission_name, view_name) in grants.public or self._builtin_allows(
            grants.public_builtin, permission_name, view_name)

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        """The views ``user`` holds ``permission_name`` on (FAB's menu asks for ``menu_access``)."""
        pairs, builtin = self._allowed(user)
        allowed = {view for perm, view in pairs if perm == permission_name}
        allowed.update(name for name in view_menus_name or ()
                       if self._builtin_allows(builtin, permission_name, name))
        return allowed

    def create_jwt_manager(self, app):
        jwt = super().create_jwt_manager(app)

        @jwt.additional_claims_loader
        def _claims(identity):
            user, token = user_with_token(identity)
            return {JWT_STAMP: credential_stamp(user, token)} if user is not None else {}

        jwt.unauthorized_loader(lambda _reason: _jwt_error(_("Please sign in.")))
        jwt.invalid_token_loader(
            lambda _reason: _jwt_error(_("The sign-in token is not valid; sign in again.")))
        jwt.expired_token_loader(lambda _h, _p: _jwt_error(_("Your sign-in has expired; sign in again.")))
        ended = lambda _h, _p: _jwt_error(_("Your sign-in has ended; sign in again."))  # noqa: E731
        for loader in (jwt.user_lookup_error_loader, jwt.revoked_token_loader,
                       jwt.needs_fresh_token_loader, jwt.token_verification_failed_loader):
            loader(ended)
        return jwt

    def reset_password(self, userid, password):
        """FAB's reset; the new hash ends the account's other sessions and tokens. A person changing
        their own password stays signed in on the screen they used."""
        super().reset_password(userid, password)
        if has_request_context() and current_user.is_authenticated and str(current_user.id) == str(userid):
            session[SESSION_STAMP] = credential_stamp(current_user)

    def on_user_logout(self, user) -> None:
        # The session is a signed cookie the browser keeps: a copy replayed after logout would still
        # be valid unless the server changes what it must match. Logout therefore replaces the
        # account's stamp, which signs the account out everywhere (other browsers, API tokens); a
        # per-session server record would keep the others signed in, at the price of a table written
        # at every login and read at every request. Signing out is rare and cheap to repeat.
        end_sessions(user.id)

