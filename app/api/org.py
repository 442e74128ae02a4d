"""REST APIs for stations and employees."""

from .. import permissions as p
from ..models import Employee, Station
from ..views.org import EMPLOYEE_LABELS, STATION_LABELS
from .base import JixiaoModelRestApi, interface


class StationApi(JixiaoModelRestApi):
    resource_name = "station"
    class_permission_name = p.STATION
    datamodel = interface(Station)
    label_columns = STATION_LABELS
    list_columns = show_columns = ["id", "code", "name", "segment", "manager_id"]
    add_columns = edit_columns = ["code", "name", "segment", "manager_id"]
    search_columns = ["code", "name", "segment"]
    order_columns = ["code", "name"]


class EmployeeApi(JixiaoModelRestApi):
    resource_name = "employee"
    class_permission_name = p.EMPLOYEE_RES
    datamodel = interface(Employee)
    label_columns = EMPLOYEE_LABELS
    list_columns = show_columns = [
        "id", "employee_no", "name", "station_id", "position", "supervisor_id", "hired_on",
    ]
    add_columns = edit_columns = [
        "employee_no", "name", "station_id", "position", "supervisor_id", "hired_on",
    ]
    search_columns = ["employee_no", "name", "station_id", "position", "supervisor_id"]
    order_columns = ["employee_no", "name", "hired_on"]
