"""Role and permission names: the one vocabulary of who may do what (roles; row scope lives in app/scoping).

Views and their REST APIs share one *resource* name (``class_permission_name``) and map their
methods onto two permissions, ``can_read`` and ``can_write`` (``method_permission_name``), so a role
is a short table below rather than a list of FAB's per-method permissions. Row scoping (which
records of a resource a role sees) lives in ``app.scoping``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ADMIN = "Admin"
HR = "HR"
STATION_MANAGER = "StationManager"
SUPERVISOR = "Supervisor"
EMPLOYEE = "Employee"

ROLES = (ADMIN, HR, STATION_MANAGER, SUPERVISOR, EMPLOYEE)
ROLE_LABELS = {
    ADMIN: _l("Administrator"),
    HR: _l("Human resources"),
    STATION_MANAGER: _l("Station manager"),
    SUPERVISOR: _l("Supervisor"),
    EMPLOYEE: _l("Employee"),
}

READ = "read"
WRITE = "write"

# Resources (FAB view-menu names shared by a screen and its API).
STATION = "Station"
EMPLOYEE_RES = "Employee"
WORK_ORDER = "WorkOrder"
SURVEY = "Survey"
LABOR_COST = "LaborCost"
IMPORT = "Import"
METRICS = "Metrics"
FORMULA = "Formula"
RULES = "Rules"
CYCLE = "Cycle"
APPRAISAL = "Appraisal"
DASHBOARD = "Dashboard"
AUDIT = "Audit"

# Method names of FAB ModelView / ModelRestApi mapped onto our two permissions.
METHOD_PERMISSIONS = {
    "list": READ, "show": READ, "get": READ, "get_list": READ, "info": READ,
    "download": READ, "api_read": READ, "api_get": READ, "api": READ,
    "add": WRITE, "edit": WRITE, "delete": WRITE, "post": WRITE, "put": WRITE,
    "api_create": WRITE, "api_update": WRITE, "api_delete": WRITE, "action": WRITE,
    "action_post": WRITE, "api_column_add": WRITE, "api_column_edit": WRITE,
    "api_readvalues": READ,
}

_EVERYONE = (HR, STATION_MANAGER, SUPERVISOR, EMPLOYEE)
_MANAGERS = (HR, STATION_MANAGER, SUPERVISOR)

# resource -> {permission: roles}. Admin holds every permission through AUTH_ROLE_ADMIN.
GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    STATION: {READ: _EVERYONE, WRITE: (HR,)},
    EMPLOYEE_RES: {READ: _EVERYONE, WRITE: (HR,)},
    WORK_ORDER: {READ: _EVERYONE},
    SURVEY: {READ: _EVERYONE},
    LABOR_COST: {READ: (HR, STATION_MANAGER)},
    IMPORT: {READ: (HR,), WRITE: (HR,)},
    METRICS: {READ: _EVERYONE},
    FORMULA: {READ: _EVERYONE, WRITE: _EVERYONE},  # checking a formula changes nothing
    RULES: {READ: _MANAGERS, WRITE: (HR,)},
    CYCLE: {READ: _EVERYONE, WRITE: (HR,)},
    APPRAISAL: {READ: _EVERYONE, WRITE: _EVERYONE},  # the workflow decides per action
    DASHBOARD: {READ: _EVERYONE},
    AUDIT: {READ: (HR,)},
}

# Menu entries (FAB checks ``menu_access`` on the menu item's name) and who sees them.
MENUS: dict[str, tuple[str, ...]] = {
    "Organisation": _EVERYONE,
    "Stations": _EVERYONE,
    "Employees": _EVERYONE,
    "Source data": _EVERYONE,
    "Work orders": _EVERYONE,
    "Surveys": _EVERYONE,
    "Labour costs": (HR, STATION_MANAGER),
    "Import": (HR,),
    "Rules": _MANAGERS,
    "Appraisal": _EVERYONE,
    "Cycles": _EVERYONE,
    "Appraisals": _EVERYONE,
    "Inbox": _EVERYONE,
    "My results": _EVERYONE,  # the employee's own appraisals
    "Calibration": (HR, STATION_MANAGER),  # grade distribution side by side (managers read their stations)
    "Dashboards": _EVERYONE,
    # the rules editor (the "Rules" category above) and its what-if
    "Rule sets": _MANAGERS,
    "Rules what-if": (HR,),
    # an employee's metrics and the drill-down to their orders (under "Source data")
    "Metrics": _EVERYONE,
}

# FAB's own screens every signed-in person needs (own profile, own password).
_SELF_SERVICE = [
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_get", "OpenApi"),
]


def permission(perm: str) -> str:
    """FAB's stored name of one of our permissions (``read`` → ``can_read``)."""
    return f"can_{perm}"


def role_grants() -> dict[str, set[tuple[str, str]]]:
    """Every role's (permission, view-menu) pairs as FAB stores them; Admin gets all through FAB."""
    roles: dict[str, set[tuple[str, str]]] = {r: set(_SELF_SERVICE) for r in ROLES if r != ADMIN}
    for resource, grants in GRANTS.items():
        for perm, holders in grants.items():
            for role in holders:
                roles[role].add((permission(perm), resource))
    for menu, holders in MENUS.items():
        for role in holders:
            roles[role].add(("menu_access", menu))
    return roles

# --- sign-off, verify, PDF export and dashboards ---
# The appraisal PDF shares the Appraisal resource (read); the verify page and API need no login;
# the dashboards use DASHBOARD above. HR downloads a cycle's PDFs as one zip.
PDF_EXPORT = "PdfExport"
GRANTS[PDF_EXPORT] = {READ: (HR,)}
MENUS["Verify a PDF"] = _EVERYONE

# --- background jobs ---
# Everyone reads jobs; which ones is app.jobs.visible_jobs (HR all, anyone else their own).
JOB = "Job"
GRANTS[JOB] = {READ: _EVERYONE}
MENUS["My jobs"] = _EVERYONE

# --- notifications, substitutes, group robots ---
# Everyone reads and marks their own notifications; supervisors, managers and HR name substitutes (HR
# for anybody) and HR reassigns reviewers; HR keeps the group robots and watches the deliveries.
NOTIFICATION = "Notification"
DELEGATION = "Delegation"
ROBOT = "Robot"
GRANTS[NOTIFICATION] = {READ: _EVERYONE, WRITE: _EVERYONE}
GRANTS[DELEGATION] = {READ: _MANAGERS, WRITE: _MANAGERS}
GRANTS[ROBOT] = {READ: (HR,), WRITE: (HR,)}
MENUS["Messages"] = _EVERYONE  # the category
MENUS["Notifications"] = _EVERYONE
MENUS["Notification settings"] = _EVERYONE
MENUS["Substitutes"] = _MANAGERS
MENUS["Group robots"] = (HR,)
MENUS["Deliveries"] = (HR,)
