"""Screens and APIs registered on the AppBuilder, with the menu (names match app.permissions.MENUS)."""

from flask_babel import lazy_gettext as _l


def register_views(appbuilder) -> None:
    from flask import current_app
    from flask_appbuilder.api.manager import OpenApi

    from .base import register_display

    register_display(current_app)

    # The OpenAPI document at /api/v1/_openapi (without FAB's Swagger UI, which loads a CDN).
    appbuilder.add_api(OpenApi)
    from ..api.org import EmployeeApi, StationApi
    from .org import EmployeeView, StationView

    appbuilder.add_view(
        StationView, "Stations", label=_l("Stations"), icon="fa-building",
        category="Organisation", category_label=_l("Organisation"), category_icon="fa-sitemap",
    )
    appbuilder.add_view(
        EmployeeView, "Employees", label=_l("Employees"), icon="fa-users",
        category="Organisation", category_label=_l("Organisation"),
    )
    appbuilder.add_api(StationApi)
    appbuilder.add_api(EmployeeApi)

    # --- cycles and appraisals (issue 7) ---
    from .appraisal import register as register_appraisal

    register_appraisal(appbuilder)

    # --- rules authoring and the formula API (issue 6) ---
    from ..api.formula import FormulaApi
    from ..api.rules import RULE_APIS
    from .rules import RulesView

    appbuilder.add_api(FormulaApi)
    for api in RULE_APIS:
        appbuilder.add_api(api)
    appbuilder.add_view_no_menu(RulesView)
    appbuilder.add_link(
        "Rule sets", href="/rules/", label=_l("Rule sets"), icon="fa-sliders",
        category="Rules", category_label=_l("Rules"), category_icon="fa-balance-scale",
    )
    appbuilder.add_link(
        "Rules what-if", href="/rules/whatif", label=_l("What-if"), icon="fa-random", category="Rules",
    )

    # --- source data, imports and metrics (issue 5) ---
    from ..api.source import ImportApi, LaborCostApi, MetricsApi, SurveyApi, WorkOrderApi
    from .source import ImportView, LaborCostView, MetricsView, SurveyView, WorkOrderView

    source = {"category": "Source data", "category_label": _l("Source data"), "category_icon": "fa-database"}
    appbuilder.add_view(WorkOrderView, "Work orders", label=_l("Work orders"), icon="fa-wrench", **source)
    appbuilder.add_view(SurveyView, "Surveys", label=_l("Surveys"), icon="fa-phone", **source)
    appbuilder.add_view(LaborCostView, "Labour costs", label=_l("Labour costs"), icon="fa-money", **source)
    appbuilder.add_view(MetricsView, "Metrics", label=_l("Metrics"), icon="fa-line-chart", **source)
    appbuilder.add_view(ImportView, "Import", label=_l("Import"), icon="fa-upload", **source)
    for api in (WorkOrderApi, SurveyApi, LaborCostApi, ImportApi, MetricsApi):
        appbuilder.add_api(api)

    # --- PDF, sign-off verify, cycle export and dashboards (issue 8) ---
    from .signoff import register as register_signoff

    register_signoff(appbuilder)
