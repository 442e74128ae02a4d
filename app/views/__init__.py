"""Screens and APIs registered on the AppBuilder, with the menu (names match app.permissions.MENUS)."""

from flask_babel import lazy_gettext as _l


def register_views(appbuilder) -> None:
    from flask_appbuilder.api.manager import OpenApi

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

    # --- cycles and appraisals (issue 7) ---
    from .appraisal import register as register_appraisal

    register_appraisal(appbuilder)
