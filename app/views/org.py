"""Screens for stations and employees."""

from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import InputRequired

from .. import permissions as p
from ..api.base import interface
from ..models import Employee, Station
from ..models.org import Segment
from .base import JixiaoModelView

SEGMENT_LABELS = {
    Segment.enterprise.value: _l("Enterprise"),
    Segment.consumer.value: _l("Consumer"),
    Segment.mixed.value: _l("Mixed"),
}


def segment_label(code) -> str:
    """A customer segment's name in the user's language (the stored code when unknown)."""
    code = getattr(code, "value", code)
    return str(SEGMENT_LABELS.get(code, code)) if code else ""

def _segment_code(value) -> str:
    """The form's value: the code, from the stored enum or the posted text."""
    return getattr(value, "value", value)


STATION_LABELS = {
    "code": _l("Station code"),
    "name": _l("Station name"),
    "segment": _l("Customer segment"),
    "manager": _l("Station manager"),
}
EMPLOYEE_LABELS = {
    "employee_no": _l("Employee number"),
    "name": _l("Name"),
    "station": _l("Station"),
    "position": _l("Position"),
    "supervisor": _l("Supervisor"),
    "user": _l("User account"),
    "hired_on": _l("Hired on"),
}


class StationView(JixiaoModelView):
    datamodel = interface(Station)
    class_permission_name = p.STATION
    list_title = _l("Stations")
    show_title = _l("Station")
    add_title = _l("Add station")
    edit_title = _l("Edit station")
    label_columns = STATION_LABELS
    list_columns = ["code", "name", "segment", "manager"]
    show_columns = add_columns = edit_columns = ["code", "name", "segment", "manager"]
    search_columns = ["code", "name", "segment"]
    order_columns = ["code", "name", "segment"]
    formatters_columns = {"segment": segment_label}
    # the form offers the segments by name (the stored value stays the code)
    add_form_extra_fields = edit_form_extra_fields = {
        "segment": SelectField(_l("Customer segment"), choices=list(SEGMENT_LABELS.items()),
                               coerce=_segment_code, validators=[InputRequired()], widget=Select2Widget()),
    }


class EmployeeView(JixiaoModelView):
    datamodel = interface(Employee)
    class_permission_name = p.EMPLOYEE_RES
    list_title = _l("Employees")
    show_title = _l("Employee")
    add_title = _l("Add employee")
    edit_title = _l("Edit employee")
    label_columns = EMPLOYEE_LABELS
    list_columns = ["employee_no", "name", "station", "position", "supervisor", "hired_on"]
    show_columns = add_columns = edit_columns = [
        "employee_no", "name", "station", "position", "supervisor", "user", "hired_on",
    ]
    search_columns = ["employee_no", "name", "station", "position", "supervisor", "hired_on"]
    order_columns = ["employee_no", "name", "position", "hired_on"]

