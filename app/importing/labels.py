"""What each file column means, in the user's language: the import screen lists the columns of each kind
and names a problem's column by its label as well as by the header the file must use."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .service import KINDS

LABELS = {
    "order_no": _l("Order number"),
    "station_code": _l("Station code"),
    "technician_no": _l("Technician's employee number"),
    "customer_type": _l("Customer type (enterprise / consumer)"),
    "reported_at": _l("Reported at"),
    "responded_at": _l("Responded at"),
    "arrived_at": _l("Arrived on site at"),
    "completed_at": _l("Completed at"),
    "first_time_fixed": _l("Fixed the first time (1/0)"),
    "rework_of": _l("Rework of order number"),
    "parts_cost": _l("Parts cost"),
    "labor_hours": _l("Hours worked"),
    "service_fee": _l("Service fee charged"),
    "sla_response_hours": _l("Promised response time in hours (enterprise)"),
    "parts_delay": _l("Waited for parts (1/0)"),
    "tags": _l("Tags (separated by ;)"),
    "surveyed_at": _l("Surveyed at"),
    "attitude": _l("Attitude score (1–5)"),
    "quality": _l("Repair quality score (1–5)"),
    "speed": _l("Speed score (1–5)"),
    "comment": _l("Customer's comment"),
    "employee_no": _l("Employee number"),
    "month": _l("Month (YYYY-MM)"),
    "salary": _l("Salary"),
    "training_cost": _l("Training cost"),
    "other_labor_cost": _l("Other labour cost"),
    "name": _l("Name"),
    "position": _l("Position"),
    "supervisor_no": _l("Supervisor's employee number"),
    "username": _l("User name (creates an account)"),
    "hired_on": _l("Hired on (YYYY-MM-DD)"),
    "bonus_base": _l("Monthly performance-bonus base, yuan"),
}


def column_label(code: str | None) -> str:
    """The column's meaning, or "" for a header the product does not know."""
    label = LABELS.get(code or "")
    return str(label) if label is not None else ""


def kind_columns() -> dict[str, list[tuple[str, str, bool]]]:
    """kind → [(header, meaning, required)] in file order, for the import screen."""
    return {key: [(col.name, column_label(col.name), col.required) for col in kind.columns]
            for key, kind in KINDS.items()}
