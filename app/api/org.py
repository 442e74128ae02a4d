"""REST APIs for stations and employees."""

from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from .. import permissions as p
from ..importing.cells import CellError, money
from ..models import Employee, Station
from ..web.datamodel import interface
from ..web.labels import EMPLOYEE_LABELS, STATION_LABELS
from .base import JixiaoModelRestApi


class WithForeignKeys(Model2SchemaConverter):
    """FAB's schemas leave key columns (``manager_id``) out of marshmallow-sqlalchemy's fields, so
    marshmallow guesses a field that refuses null: a station without a manager could not be saved.
    Here they are integer fields, empty where the column may be empty."""

    def _meta_schema_factory(self, columns, model, class_mixin, parent_schema_name=None):
        schema = super()._meta_schema_factory(columns, model, class_mixin, parent_schema_name)

        class WithKeys(schema):
            class Meta(schema.Meta):
                include_fk = True

        return WithKeys


class Yuan(fields.Field):
    """An amount in yuan, read as the employees file reads it (at least 0, at most 2 decimals; a
    number or a string) and answered as a string ("1500.50"); empty is null."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or value == "":
            return None
        try:
            return money(value)
        except CellError as exc:
            raise ValidationError(exc.message) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(value, "f")


class WithYuan(WithForeignKeys):
    """Employees' schemas: ``bonus_base`` as :class:`Yuan` (marshmallow's Decimal would round 1.234
    to 1.23 without a word)."""

    def _meta_schema_factory(self, columns, model, class_mixin, parent_schema_name=None):
        schema = super()._meta_schema_factory(columns, model, class_mixin, parent_schema_name)
        if "bonus_base" not in columns:
            return schema
        return type(schema.__name__, (schema,), {"bonus_base": Yuan(allow_none=True)})


class StationApi(JixiaoModelRestApi):
    resource_name = "station"
    class_permission_name = p.STATION
    datamodel = interface(Station)
    model2schemaconverter = WithForeignKeys
    label_columns = STATION_LABELS
    list_columns = show_columns = ["id", "code", "name", "segment", "manager_id"]
    add_columns = edit_columns = ["code", "name", "segment", "manager_id"]
    search_columns = ["code", "name", "segment"]
    order_columns = ["code", "name"]


class EmployeeApi(JixiaoModelRestApi):
    resource_name = "employee"
    class_permission_name = p.EMPLOYEE_RES
    datamodel = interface(Employee)
    model2schemaconverter = WithYuan
    label_columns = {**EMPLOYEE_LABELS, "bonus_base": _l("Bonus base (yuan per month)")}
    list_columns = show_columns = [
        "id", "employee_no", "name", "station_id", "position", "supervisor_id", "hired_on", "bonus_base",
    ]
    add_columns = edit_columns = [
        "employee_no", "name", "station_id", "position", "supervisor_id", "hired_on", "bonus_base",
    ]
    search_columns = ["employee_no", "name", "station_id", "position", "supervisor_id"]
    order_columns = ["employee_no", "name", "hired_on"]
