"""REST APIs for stations and employees."""

from flask_appbuilder.api.convert import Model2SchemaConverter

from .. import permissions as p
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
    model2schemaconverter = WithForeignKeys
    label_columns = EMPLOYEE_LABELS
    list_columns = show_columns = [
        "id", "employee_no", "name", "station_id", "position", "supervisor_id", "hired_on",
    ]
    add_columns = edit_columns = [
        "employee_no", "name", "station_id", "position", "supervisor_id", "hired_on",
    ]
    search_columns = ["employee_no", "name", "station_id", "position", "supervisor_id"]
    order_columns = ["employee_no", "name", "hired_on"]
