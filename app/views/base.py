"""The base of every model screen: our permission vocabulary and row scoping; and how every FAB list
and show screen (ours and FAB's own security screens) displays a value: ``display_value``, the Jinja
filter ``jx_value`` used by the widget templates under templates/appbuilder/general/widgets/."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

from flask import abort, flash
from flask_appbuilder import ModelView
from flask_appbuilder.security.sqla.models import Permission, PermissionView, Role, ViewMenu
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from .. import permissions as p
from ..locales import current_locale
from ..scoping import SCOPED
from ..services.errors import Kind, kind_of, message_of

EMPTY = "—"

# Values the system itself writes (``flask setup`` loading the default rule set) and their labels.
SYSTEM_VALUES = {
    "setup": _l("system setup"),
    "default rule set (rules/)": _l("Default rule set (shipped with the system)"),
}

# Columns of FAB's security screens whose values are identifiers (permission and view names):
# shown as code, as typed and stored, not translated.
IDENTIFIER_COLUMNS = {
    ("PermissionModelView", "name"),
    ("ViewMenuModelView", "name"),
    ("RoleModelView", "name"),
}


# Cell values shown as they are, whatever the column (exact types: a bool is not shown as a number).
PLAIN = frozenset({int, float, decimal.Decimal, dt.date, dt.datetime})


def code(text) -> Markup:
    return Markup("<code>%s</code>") % str(text)


def role_label(name: str) -> str:
    """A role's display name; the role's identifier (app.permissions) stays what is stored."""
    label = p.ROLE_LABELS.get(name)
    return str(label) if label is not None else name


def system_value(value):
    """The display label of a value the system wrote itself; anything else unchanged."""
    if isinstance(value, str) and value in SYSTEM_VALUES:
        return str(SYSTEM_VALUES[value])
    return value


def display_value(value, column: str | None = None, view: str | None = None):
    """One cell of a list or show screen: empty as a dash, booleans as yes/no, roles by their label,
    permission and view identifiers as code; everything else as it is (escaped by Jinja)."""
    kind = type(value)
    if kind in PLAIN:  # most cells: numbers and dates as they are
        return value
    if kind is str and value and (view, column) not in IDENTIFIER_COLUMNS:
        return system_value(value)
    if value is None or (isinstance(value, str) and value == ""):
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Role):
        return role_label(value.name)
    if isinstance(value, Permission | ViewMenu):
        return code(value.name)
    if isinstance(value, PermissionView):
        return Markup(escape(_("%(permission)s on %(view)s"))) % {
            "permission": code(value.permission), "view": code(value.view_menu)}
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, list | tuple | set):
        if not value:
            return EMPTY
        return Markup(", ").join(display_value(v) for v in value)
    if (view, column) in IDENTIFIER_COLUMNS and isinstance(value, str):
        if view == "RoleModelView" and value in p.ROLE_LABELS:
            return Markup("%s <code>%s</code>") % (role_label(value), value)
        return code(value)
    return system_value(value)


def register_display(app) -> None:
    """Make ``jx_value`` and ``jx_system`` available to every template."""
    app.jinja_env.filters["jx_value"] = display_value
    app.jinja_env.filters["jx_system"] = system_value


class JixiaoModelView(ModelView):
    method_permission_name = p.METHOD_PERMISSIONS
    base_filters = SCOPED
    page_size = 25

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datamodel.field_labels = self.label_columns
        self.datamodel.list_relations = tuple(
            name for name in self.list_columns
            if self.datamodel.is_relation_many_to_one(name) or self.datamodel.is_relation_one_to_one(name))

    def _init_forms(self):
        """FAB's forms, with an optional relation's empty choice saying so (FAB leaves it blank and
        select2 shows its raw value ``__None``)."""
        super()._init_forms()
        for form in (self.add_form, self.edit_form):
            for name in dir(form):
                unbound = getattr(form, name, None)
                kwargs = getattr(unbound, "kwargs", None)
                if isinstance(kwargs, dict) and kwargs.get("allow_blank"):
                    kwargs["blank_text"] = _l("(none)")


# The status of a screen that answers a refused form with the form again, as typed.
FORM_STATUS = {Kind.CONFLICT: 409, Kind.REFUSED: 403, Kind.INVALID: 422}


def flash_error(exc: Exception) -> int:
    """A service error or workflow refusal on a screen: not found is the 404 page; otherwise its
    sentence is flashed (a review's field errors one by one), a conflict as a warning. Returns the
    status for a page that shows the refused form again (``FORM_STATUS``)."""
    kind = kind_of(exc)
    if kind is None:
        raise exc
    if kind is Kind.NOT_FOUND:
        abort(404)
    errors = (getattr(exc, "payload", None) or {}).get("errors")
    category = "warning" if kind is Kind.CONFLICT else "danger"
    for message in errors.values() if isinstance(errors, dict) else [message_of(exc, current_locale())]:
        flash(message, category)
    return FORM_STATUS[kind]
