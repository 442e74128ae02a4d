"""Screens for stations and employees."""

from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import InputRequired, Optional, ValidationError

from .. import permissions as p
from ..importing.cells import CellError, money
from ..models import Employee, Station
from ..web.datamodel import interface
from ..web.labels import EMPLOYEE_LABELS, SEGMENT_LABELS, STATION_LABELS, segment_code, segment_label
from .base import JixiaoModelView

__all__ = ["EmployeeView", "StationView"]


def yuan(form, field) -> None:
    """An amount in yuan, as the employees file takes it: at least 0, at most 2 decimals."""
    if field.data is None:
        return
    try:
        field.data = money(field.data)
    except CellError as exc:
        raise ValidationError(exc.message) from None


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
                               coerce=segment_code, validators=[InputRequired()], widget=Select2Widget()),
    }


class EmployeeView(JixiaoModelView):
    datamodel = interface(Employee)
    class_permission_name = p.EMPLOYEE_RES
    list_title = _l("Employees")
    show_title = _l("Employee")
    add_title = _l("Add employee")
    edit_title = _l("Edit employee")
    label_columns = {**EMPLOYEE_LABELS, "bonus_base": _l("Bonus base (yuan per month)")}
    list_columns = ["employee_no", "name", "station", "position", "supervisor", "hired_on", "bonus_base"]
    show_columns = add_columns = edit_columns = [
        "employee_no", "name", "station", "position", "supervisor", "user", "hired_on", "bonus_base",
    ]
    description_columns = {"bonus_base": _l("The monthly performance-bonus base the incentive formula may "
                                            "use; empty when the person has none.")}
    validators_columns = {"bonus_base": [Optional(), yuan]}
    search_columns = ["employee_no", "name", "station", "position", "supervisor", "hired_on"]
    order_columns = ["employee_no", "name", "position", "hired_on"]

