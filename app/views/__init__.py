"""The screens registered on the AppBuilder, with the menu (names match app.permissions.MENUS)."""

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from ..locales import current_locale
from ..web.labels import register_filters
from .appraisal import AppraisalView, CycleView
from .base import register_display
from .calibration import CalibrationView
from .dashboard import DashboardView
from .deadlines import DeadlineView
from .jobs import JobsView
from .lookup import LookupView
from .notify import NotificationView
from .org import EmployeeView, StationView
from .robots import RobotView
from .rules import RulesView
from .signoff import CycleExportView, VerifyView
from .source import ImportView, LaborCostView, MetricsView, SurveyView, WorkOrderView
from .substitutes import SubstituteView

# The "Messages" menu: (view, menu name, path, icon). A screen's entries appear once its view says
# ``show_in_menu`` (names match app.permissions.MENUS).
MESSAGES = (
    (NotificationView, "Notifications", "/notifications/", "fa-bell"),
    (NotificationView, "Notification settings", "/notifications/settings", "fa-cog"),
    (SubstituteView, "Substitutes", "/substitutes/", "fa-user-plus"),
    (RobotView, "Group robots", "/robots/", "fa-comments"),
    (RobotView, "Deliveries", "/robots/deliveries", "fa-paper-plane"),
)


# Rendered menus kept per application; more distinct keys than this (languages × sets of permissions)
# start the store again.
MENU_STORE_SIZE = 256


def menu_html() -> Markup:
    """The menu bar's entries for the reader (``templates/appbuilder/navbar_menu.html``).

    What the entries show depends only on the reader's language, what the reader may do (the request's
    ``Grants``, read once per request anyway) and the menu itself, so the HTML is rendered once per such
    key and reused: the menu costs most of a small screen's rendering otherwise (a permission check, a
    translated label and a URL per entry). A changed permission or role makes another key at once."""
    app = current_app._get_current_object()
    appbuilder = app.appbuilder
    menu = appbuilder.menu.get_list()
    signed_in = bool(current_user.is_authenticated)
    key = (current_locale(), request.script_root, signed_in, appbuilder.sm.grants(current_user),
           len(menu), tuple(len(item.childs) for item in menu))
    store = app.extensions.setdefault("jixiao_menus", {})
    html = store.get(key)
    if html is None:
        if len(store) >= MENU_STORE_SIZE:
            store.clear()
        html = store[key] = Markup(render_template("appbuilder/menu_entries.html", menu=appbuilder.menu))
    return html


def register_views(appbuilder) -> None:
    register_display(current_app)
    register_filters(current_app)
    current_app.jinja_env.globals["jx_menu"] = menu_html

    appbuilder.add_view(
        StationView, "Stations", label=_l("Stations"), icon="fa-building",
        category="Organisation", category_label=_l("Organisation"), category_icon="fa-sitemap",
    )
    appbuilder.add_view(
        EmployeeView, "Employees", label=_l("Employees"), icon="fa-users",
        category="Organisation", category_label=_l("Organisation"),
    )

    # --- cycles and appraisals ---
    appraisal = {"category": "Appraisal", "category_label": _l("Appraisal"),
                 "category_icon": "fa-check-square-o"}
    appbuilder.add_view(CycleView, "Cycles", label=_l("Cycles"), icon="fa-calendar", **appraisal)
    appbuilder.add_view(AppraisalView, "Appraisals", label=_l("Appraisals"), icon="fa-list", **appraisal)
    appbuilder.add_link("Inbox", href="/appraisal/inbox/", label=_l("Inbox"), icon="fa-inbox", **appraisal)
    appbuilder.add_link("My results", href="/appraisal/mine/", label=_l("My results"), icon="fa-user",
                        **appraisal)
    appbuilder.add_view(JobsView, "My jobs", label=_l("My jobs"), icon="fa-tasks", **appraisal)
    appbuilder.add_link("Calibration", href="/calibration/", label=_l("Calibration"), icon="fa-balance-scale",
                        **appraisal)

    # --- rule sets ---
    appbuilder.add_view_no_menu(RulesView)
    appbuilder.add_link(
        "Rule sets", href="/rules/", label=_l("Rule sets"), icon="fa-sliders",
        category="Rules", category_label=_l("Rules"), category_icon="fa-balance-scale",
    )
    appbuilder.add_link(
        "Rules what-if", href="/rules/whatif", label=_l("What-if"), icon="fa-random", category="Rules",
    )

    # --- source data, imports and metrics ---
    source = {"category": "Source data", "category_label": _l("Source data"), "category_icon": "fa-database"}
    appbuilder.add_view(WorkOrderView, "Work orders", label=_l("Work orders"), icon="fa-wrench", **source)
    appbuilder.add_view(SurveyView, "Surveys", label=_l("Surveys"), icon="fa-phone", **source)
    appbuilder.add_view(LaborCostView, "Labour costs", label=_l("Labour costs"), icon="fa-money", **source)
    appbuilder.add_view(MetricsView, "Metrics", label=_l("Metrics"), icon="fa-line-chart", **source)
    appbuilder.add_view(ImportView, "Import", label=_l("Import"), icon="fa-upload", **source)

    # --- dashboards, verify and the cycle export ---
    appbuilder.add_view(DashboardView, "Dashboards", label=_l("Dashboards"), icon="fa-bar-chart",
                        category="Appraisal", category_label=_l("Appraisal"))
    appbuilder.add_view_no_menu(VerifyView)
    appbuilder.add_link("Verify a PDF", href="/verify/", label=_l("Verify a PDF"), icon="fa-check-circle",
                        category="Appraisal", category_label=_l("Appraisal"))
    appbuilder.add_view_no_menu(CycleExportView)
    appbuilder.add_view_no_menu(CalibrationView)
    appbuilder.add_view_no_menu(LookupView)

    # --- notifications, due dates, substitutes, group robots ---
    for view in (NotificationView, SubstituteView, RobotView, DeadlineView):
        appbuilder.add_view_no_menu(view)
    labels = {"Notifications": _l("Notifications"), "Notification settings": _l("Notification settings"),
              "Substitutes": _l("Substitutes"), "Group robots": _l("Group robots"),
              "Deliveries": _l("Deliveries")}
    for view, name, href, icon in MESSAGES:
        if view.show_in_menu:
            appbuilder.add_link(name, href=href, label=labels[name], icon=icon, category="Messages",
                                category_label=_l("Messages"), category_icon="fa-envelope")
