"""Names the screens and the APIs both show: column labels, segments, kinds of source data, metrics."""

from __future__ import annotations

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..engine import BUILTIN_VARIABLES
from ..extensions import db
from ..locales import current_locale, is_english
from ..models.org import Segment
from ..rules.names import category_label, unit_label
from ..services import workflows
from ..services.rules import NoRuleSet, published_ruleset

SEGMENT_LABELS = {
    Segment.enterprise.value: _l("Enterprise"),
    Segment.consumer.value: _l("Consumer"),
    Segment.mixed.value: _l("Mixed"),
}


def default_state_label(appraisal_or_state) -> str:
    """An appraisal's state (or a state) as the default workflow names it in the user's language; the
    workflow is read once a request (a list calls this for each row)."""
    state = getattr(appraisal_or_state, "state", appraisal_or_state)
    state = getattr(state, "value", state)
    if "jx_state_labels" not in g:
        g.jx_state_labels = (workflows.default_table(), current_locale())
    table, locale = g.jx_state_labels
    return table.state_label(state, locale)


def segment_label(code) -> str:
    """A customer segment's name in the user's language (the stored code when unknown)."""
    code = getattr(code, "value", code)
    return str(SEGMENT_LABELS.get(code, code)) if code else ""


def segment_code(value) -> str:
    """The form's value: the code, from the stored enum or the posted text."""
    return getattr(value, "value", value)


STATION_LABELS = {
    "code": _l("Station code"),
    "name": _l("Station name"),
    "segment": _l("Customer segment"),
    "manager": _l("Station manager"),
}
EMPLOYEE_LABELS = {
    "employee_no": _l("Employee number"),
    "name": _l("Name"),
    "station": _l("Station"),
    "position": _l("Position"),
    "supervisor": _l("Supervisor"),
    "user": _l("User account"),
    "hired_on": _l("Hired on"),
}


CUSTOMER_TYPE_LABELS = {"enterprise": _l("Enterprise"), "consumer": _l("Consumer")}


def yes_no(value) -> str:
    if value is None:
        return ""
    return str(_l("Yes") if value else _l("No"))


def hours(value) -> str:
    return "" if value is None else f"{value:.2f}"


WORK_ORDER_LABELS = {
    "order_no": _l("Order number"),
    "station_code": _l("Station code"),
    "station": _l("Station"),
    "technician_no": _l("Technician number"),
    "technician": _l("Technician"),
    "customer_type": _l("Customer type"),
    "reported_at": _l("Reported at"),
    "responded_at": _l("Responded at"),
    "arrived_at": _l("Arrived at"),
    "completed_at": _l("Completed at"),
    "first_time_fixed": _l("Fixed at the first visit"),
    "rework_of": _l("Rework of"),
    "parts_cost": _l("Parts cost (yuan)"),
    "labor_hours": _l("Labour hours"),
    "service_fee": _l("Service fee (yuan)"),
    "sla_response_hours": _l("Promised response (hours)"),
    "parts_delay": _l("Delayed by parts"),
    "tags": _l("Tags"),
    "response_hours": _l("Response time (hours)"),
    "repair_hours": _l("Repair time (hours)"),
}
SURVEY_LABELS = {
    "order_no": _l("Order number"),
    "order": _l("Work order"),
    "technician": _l("Technician"),
    "station": _l("Station"),
    "surveyed_at": _l("Surveyed at"),
    "attitude": _l("Service attitude"),
    "quality": _l("Repair quality"),
    "speed": _l("Speed"),
    "comment": _l("Comment"),
}
LABOR_COST_LABELS = {
    "employee_no": _l("Employee number"),
    "employee": _l("Employee"),
    "station": _l("Station"),
    "month": _l("Month"),
    "salary": _l("Salary"),
    "training_cost": _l("Training cost"),
    "other_labor_cost": _l("Other labour cost"),
}


APPRAISAL_LABELS = {
    "cycle": _l("Cycle"),
    "employee": _l("Employee"),
    "station": _l("Station"),
    "state": _l("State"),
    "total": _l("Total"),
    "subtotal": _l("Subtotal"),
    "grade": _l("Grade"),
    "adjustment": _l("Adjustment"),
    "adjustment_reason": _l("Reason for the adjustment"),
    "version": _l("Version"),
    "is_current": _l("Current version"),
    "computed_at": _l("Computed at"),
}


def kind_labels() -> dict[str, str]:
    return {
        "work-orders": _("Work orders"),
        "surveys": _("Surveys"),
        "costs": _("Labour costs"),
        "employees": _("Employees"),
    }


def metric_names() -> dict[str, str]:
    """code -> the metric's name in the user's language (from the formula catalogue)."""
    english = is_english(current_locale())
    return {v.code: (v.en if english else v.zh) for v in BUILTIN_VARIABLES}


# What the rule set names (indicators, categories, units, grades), in the reader's language. A stored
# snapshot keeps the names of the language it was computed in; screens that read its parts directly
# (dashboards, lists) show them through these, by code, from the current published rule set.


def _current_rules():
    """The current published rule set, read once per request (None when there is none)."""
    if has_request_context() and "jx_rules" in g:
        return g.jx_rules
    try:
        ruleset = published_ruleset(db.session)[1]
    except NoRuleSet:
        ruleset = None
    if has_request_context():
        g.jx_rules = ruleset
    return ruleset


def category_name(category) -> str:
    """A category (its Chinese code, or a name) in the reader's language."""
    return category_label(category, current_locale())


def unit_name(unit) -> str:
    return unit_label(unit, current_locale())


def indicator_name(code, stored: str = "") -> str:
    """An indicator's name in the reader's language by its code; ``stored`` (or the code) when the rule
    set no longer has it."""
    ruleset = _current_rules()
    indicator = ruleset.indicator(code) if ruleset is not None and code else None
    return indicator.label(current_locale()) if indicator is not None else (stored or code or "")


def grade_name(grade, stored: str = "") -> str:
    """A grade's label (优秀 / Excellent) in the reader's language; ``stored`` when unknown."""
    ruleset = _current_rules()
    band = ruleset.band(grade) if ruleset is not None and grade else None
    return band.text(current_locale()) if band is not None else (stored or "")


def register_filters(app) -> None:
    """``{{ line.category|jx_category }}``, ``|jx_unit``, ``{{ code|jx_indicator(stored_name) }}``,
    ``{{ grade|jx_grade }}`` for every template."""
    app.jinja_env.filters.update(jx_category=category_name, jx_unit=unit_name, jx_indicator=indicator_name,
                                 jx_grade=grade_name)
