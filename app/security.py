"""Flask-AppBuilder security, hardened: a login limiter shared by the form and the API login.

FAB's own limiter (``AUTH_RATE_LIMITED``) counts correct logins too and lives in one process's
memory; ours counts failures only, per user name and per address, in the database so that every
server worker sees the same lock. While locked, even the right password is refused (429).
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from sqlalchemy import delete, func, select

from .extensions import db
from .models import LoginFailure


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def login_locked(username: str, address: str) -> bool:
    """True while this user name or this address has too many recent failed logins."""
    cfg = current_app.config
    since = _now() - dt.timedelta(seconds=cfg["LOGIN_LOCK_SECONDS"])
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.at >= since)
    by_user = db.session.scalar(recent.where(LoginFailure.username == username[:100]))
    if by_user >= cfg["LOGIN_MAX_FAILURES"]:
        return True
    by_address = db.session.scalar(recent.where(LoginFailure.address == address))
    return by_address >= cfg["LOGIN_MAX_FAILURES_PER_IP"]


def record_login_failure(username: str, address: str) -> None:
    db.session.add(LoginFailure(username=username[:100], address=address, at=_now()))
    db.session.commit()


def clear_login_failures(username: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username[:100]))
    db.session.commit()


class JixiaoSecurityManager(SecurityManager):
    """FAB's SQLAlchemy security manager with failure counting on every password check."""

    def auth_user_db(self, username, password):
        user = super().auth_user_db(username, password)
        name = (username or "")[:100]
        if user is None:
            record_login_failure(name, client_address())
        else:
            clear_login_failures(name)
        return user
