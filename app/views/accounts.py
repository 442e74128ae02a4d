"""FAB's user and password screens with our rules: user names unique whatever their case, the
password policy (app/passwords.py) on every password form, the current password for one's own
change. (Deactivation ending the account's sessions is app/security.py's, whatever the path.)

The classes keep FAB's names: FAB's permissions, endpoints and menu entries are named after them.
"""

from __future__ import annotations

from flask import abort, g, request
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security import views as fab
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from ..extensions import db
from ..passwords import password_problem
from ..security import client_address, login_locked, record_login_failure


class UsernameFreeAnyCase:
    """The user name is nobody else's, whatever its case (the database refuses it too)."""

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        query = select(User.id).where(func.lower(User.username) == func.lower(field.data.strip()))
        pk = (request.view_args or {}).get("pk")
        if pk is not None:
            query = query.where(User.id != int(pk))
        if db.session.scalar(query.limit(1)) is not None:
            raise ValidationError(_("The user name “%(name)s” is already taken (upper and lower case count "
                                    "as the same).", name=field.data))


class PasswordPolicy:
    """Refuses a password the policy refuses; ``username_of(form)`` names the account it is for."""

    def __init__(self, username_of) -> None:
        self.username_of = username_of

    def __call__(self, form, field) -> None:
        problem = password_problem(field.data or "", self.username_of(form))
        if problem is not None:
            raise ValidationError(problem)


class CurrentPassword:
    """The signed-in person's current password; a wrong one counts as a failed login."""

    def __call__(self, form, field) -> None:
        user, address = g.user, client_address()
        if login_locked(user.username, address):
            raise ValidationError(_("Too many failed sign-in attempts; wait a few minutes and try again."))
        if not check_password_hash(user.password or "", field.data or ""):
            record_login_failure(user.username, address)
            raise ValidationError(_("This is not your current password."))


def _user_of_request() -> User:
    user = db.session.get(User, request.args.get("pk", type=int) or 0)
    if user is None:
        abort(404)
    return user


def _password_fields(username_of) -> dict:
    return {
        "password": PasswordField(
            _l("Password"), validators=[DataRequired(), PasswordPolicy(username_of)],
            description=_l("At least 10 characters; not the user name, not a common password."),
            widget=BS3PasswordFieldWidget()),
        "conf_password": PasswordField(
            _l("Confirm Password"),
            validators=[DataRequired(), EqualTo("password", message=_l("Passwords must match"))],
            widget=BS3PasswordFieldWidget()),
    }


def _password_form(name: str, username_of, **first) -> type[DynamicForm]:
    return type(name, (DynamicForm,), {**first, **_password_fields(username_of)})


ChangeMyPasswordForm = _password_form(
    "ChangeMyPasswordForm", lambda form: g.user.username,
    current_password=PasswordField(_l("Current password"), validators=[DataRequired(), CurrentPassword()],
                                   widget=BS3PasswordFieldWidget()))
ResetPasswordForm = _password_form("ResetPasswordForm", lambda form: _user_of_request().username)


class ResetMyPasswordView(fab.ResetMyPasswordView):
    """One's own password: asks for the current one; the other sessions of the account end."""

    form = ChangeMyPasswordForm
    form_title = _l("Change my password")


class ResetPasswordView(fab.ResetPasswordView):
    """An Admin sets somebody's password: every session and token of that account ends."""

    form = ResetPasswordForm

    def form_get(self, form) -> None:
        _user_of_request()

    def form_post(self, form) -> None:
        _user_of_request()
        return super().form_post(form)


class UserDBModelView(fab.UserDBModelView):
    add_form_extra_fields = _password_fields(lambda form: form.username.data)
    validators_columns = {**fab.UserDBModelView.validators_columns, "username": [UsernameFreeAnyCase()]}


class RoleModelView(fab.RoleModelView):
    """FAB's role screens, with the search filters on users and groups labelled (its own label only
    the listed columns, so these two read in English on every page)."""

    label_columns = {**fab.RoleModelView.label_columns, "user": _l("Users"), "groups": _l("Groups")}
