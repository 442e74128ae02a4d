"""The drill-down's Counts column: whether one order counts towards a metric and why, in the reader's
language; and why the period's other orders are not listed at all. The arithmetic stays in
``app.metrics.drilldown``: this names what it decided."""

from __future__ import annotations

from flask_babel import gettext as _

from ..metrics import OrderLine

# Metrics that list only some of the period's orders: why the others are left out.
LEFT_OUT = {
    "satisfaction": "survey", "attitude": "survey", "repair_quality": "survey", "speed_rating": "survey",
    "avg_repair_hours": "repair", "avg_response_hours": "response", "sla_rate": "sla",
    "parts_delay_count": "delay",
}


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def order_counts(line: OrderLine, code: str) -> tuple[bool, str]:
    """(counts, why) for one order of the drill-down of metric ``code``: for a rate, whether it is in
    the numerator; for a mean or a sum, what it adds."""
    if code == "first_fix_rate":
        if line.counts:
            return True, _("Fixed at the first visit and not reworked")
        if not line.first_time_fixed:
            return False, _("Not fixed at the first visit")
        return False, _("Fixed at the first visit but reworked later")
    if code == "rework_rate":
        return (True, _("Reworked later")) if line.counts else (False, _("Not reworked"))
    if code == "survey_rate":
        return (True, _("Surveyed")) if line.counts else (False, _("No survey"))
    if code == "enterprise_share":
        return (True, _("Enterprise customer")) if line.counts else (False, _("Consumer customer"))
    if code == "sla_rate":
        hours = {"hours": _hours(line.response_hours), "promised": _hours(line.sla_response_hours)}
        if line.counts:
            return True, _("Responded in %(hours)s h, within the %(promised)s h promised", **hours)
        return False, _("Responded in %(hours)s h, later than the %(promised)s h promised", **hours)
    if code == "parts_delay_count":
        return True, _("Delayed by parts")
    if code in LEFT_OUT:  # a mean over the orders that have its value: every one listed counts
        return True, _("Its value is in the mean")
    if code == "parts_cost_per_order":
        if line.parts_cost is None:
            return True, _("No parts cost: counts as 0 in the mean per order")
        return True, _("Its parts cost is in the mean per order")
    if code == "labor_cost_ratio":
        if line.service_fee is None:
            return False, _("No service fee: adds nothing to the revenue")
        return True, _("Its service fee is in the revenue the labour cost is divided by")
    return True, _("Completed in the period")


def left_out(code: str, count: int) -> str | None:
    """Why ``count`` more orders completed in the period are not listed for ``code`` (None: none are)."""
    reason = LEFT_OUT.get(code)
    if not count or reason is None:
        return None
    why = {
        "survey": _("they have no survey"),
        "repair": _("they have no repair time"),
        "response": _("they have no response time"),
        "sla": _("only enterprise orders with a promised response time count"),
        "delay": _("they were not delayed by parts"),
    }[reason]
    return _("%(count)s other orders of the period do not count: %(why)s.", count=count, why=why)
