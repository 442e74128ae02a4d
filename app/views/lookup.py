"""Search-as-you-type choices for list filters on relations with many rows: the filter field names no
choice until the person types, then asks ``/lookup/employee?q=…`` for the first matches within their
scope (select2's ajax form). The appraisal list's employee filter is one: listing every employee in
the page made it several hundred kilobytes on a real network."""

from __future__ import annotations

import re

from flask import jsonify, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import or_, select
from wtforms import StringField

from .. import permissions as p
from ..extensions import db
from ..hardening import MAX_KEY
from ..models import Employee
from ..scoping import scope_clause
from ..services.likes import escape_like

# The matches one lookup answers: the person types more to narrow them.
MATCHES = 20
LONGEST_TERM = 64


def employee_choices(term: str, ids: list[int] | None = None) -> list[dict]:
    """Employees in the caller's scope whose number starts with, or whose name holds, ``term``
    (or whose keys are ``ids``): select2's ``{"id", "text"}``, by number."""
    query = select(Employee.id, Employee.employee_no, Employee.name).where(scope_clause(Employee))
    if ids is not None:
        query = query.where(Employee.id.in_(ids))
    else:
        like = escape_like(term)
        query = query.where(or_(Employee.employee_no.ilike(f"{like}%", escape="\\"),
                                Employee.name.ilike(f"%{like}%", escape="\\")))
    rows = db.session.execute(query.order_by(Employee.employee_no).limit(MATCHES)).all()
    return [{"id": ident, "text": f"{no} {name}"} for ident, no, name in rows]


class LookupView(BaseView):
    """Whoever may read appraisals may look up the employees they see."""

    route_base = "/lookup"
    class_permission_name = p.APPRAISAL
    method_permission_name = {"employee": p.READ}
    default_view = "employee"

    @expose("/employee", methods=["GET"])
    @has_access
    def employee(self):
        term = (request.args.get("q") or request.args.get("term") or "").strip()[:LONGEST_TERM]
        return jsonify({"results": employee_choices(term) if term else []})


class LookupWidget:
    """A filter's field: select2 asks ``url`` as the person types (FAB's filter script turns every
    ``my_select2`` into a select2, which reads its ajax options from the data attributes). The
    employees the page's filters already name are its options, so that they show by name."""

    def __init__(self, url: str, column: str):
        self.url = url
        self.column = column

    def __call__(self, field, **kwargs):
        named = re.compile(rf"_flt_\d+_{re.escape(self.column)}")
        ids = sorted({int(v) for k, values in request.args.lists() if named.fullmatch(k)
                      for v in values if v.isdigit() and 0 < int(v) <= MAX_KEY})
        options = Markup("").join(
            Markup('<option value="%s">%s</option>') % (c["id"], c["text"])
            for c in (employee_choices("", ids) if ids else []))
        return Markup(
            '<select class="my_select2 form-control" id="%s" name="%s" data-ajax--url="%s" '
            'data-ajax--delay="250" data-minimum-input-length="1" data-placeholder="%s">%s</select>'
        ) % (field.id, field.name, self.url, escape(_l("Type a number or name")), options)


def employee_lookup_field(label) -> StringField:
    """The search form's field for an employee relation."""
    return StringField(label, widget=LookupWidget("/lookup/employee", "employee"))
