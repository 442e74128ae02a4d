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
