"""The REST APIs under /api/v1, registered on the AppBuilder by ``register_apis``.

The order is the OpenAPI document's order and the order of the permission sync.
"""

from __future__ import annotations

from flask_appbuilder.api.manager import OpenApi

from .appraisal import AppraisalApi
from .calibration import CalibrationApi
from .cycle import CycleApi
from .deadline import DeadlineApi
from .delegation import DelegationApi
from .export import EXPORT_APIS
from .formula import FormulaApi
from .job import JobApi
from .notification import NotificationApi
from .org import EmployeeApi, StationApi
from .pdf import AppraisalPdfApi, VerifyApi
from .rules import RULE_APIS
from .source import ImportApi, LaborCostApi, MetricsApi, SurveyApi, WorkOrderApi

APIS = (
    OpenApi,  # the OpenAPI document at /api/v1/_openapi (without FAB's Swagger UI, which loads a CDN)
    StationApi, EmployeeApi,
    AppraisalApi, CycleApi, CalibrationApi,
    FormulaApi, *RULE_APIS,
    WorkOrderApi, SurveyApi, LaborCostApi, ImportApi, MetricsApi,
    AppraisalPdfApi, VerifyApi,
    *EXPORT_APIS,
    JobApi,
    NotificationApi, DelegationApi, DeadlineApi,
)


def register_apis(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
