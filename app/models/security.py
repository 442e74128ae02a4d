"""Accounts beyond FAB's own tables: failed logins and each account's sign-in stamp.

FAB's ``ab_user`` is FAB's; what we keep about an account lives in tables keyed by its id.
"""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model


class LoginFailure(Model):
    """One failed login, kept in the database so that every server worker sees the same lock.

    ``user_id`` is the account the typed name or e-mail resolved to (any case); ``username`` the
    typed name normalised, which is what counts when it resolves to nobody.
    """

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    address: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)


class AccountStamp(Model):
    """A random value per account that ends its sessions and tokens when replaced.

    A session or token carries a digest of this value and the password hash (app/security.py);
    an account without a row has the empty value.
    """

    __tablename__ = "account_stamp"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), nullable=False)


# User names are unique whatever their case: FAB looks a name up case-insensitively at login, and two
# accounts "emp9" and "Emp9" would leave neither able to sign in.
USERNAME_UNIQUE_ANY_CASE = Index("ux_ab_user_username_lower", func.lower(User.username), unique=True)
