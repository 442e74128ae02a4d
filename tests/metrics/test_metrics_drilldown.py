"""The drill-down gives back every metric: the orders it lists recompute the value."""

import statistics

import pytest

from app.extensions import db
from app.metrics import CODES, compute_metrics, metric_orders
from tests.metrics.test_metrics_values import MAY, data  # noqa: F401 - the hand-made data set

RATIOS = {"first_fix_rate", "rework_rate", "survey_rate", "enterprise_share", "sla_rate"}
MEANS = {"satisfaction", "attitude", "repair_quality", "speed_rating", "avg_repair_hours",
         "avg_response_hours"}
COUNTS = {"orders", "parts_delay_count"}


def recompute(code, lines):
    if not lines:
        return None
    if code in RATIOS:
        return sum(line.counts for line in lines) / len(lines)
    if code in MEANS:
        return statistics.fmean(line.value for line in lines)
    if code in COUNTS:
        return len(lines)
    if code == "parts_cost_per_order":
        return sum(line.value or 0 for line in lines) / len(lines)
    raise AssertionError(code)


@pytest.mark.parametrize("code", sorted(RATIOS | MEANS | COUNTS | {"parts_cost_per_order"}))
def test_lines_recompute_the_metric(data, code):  # noqa: F811
    for who in ("TA", "TB"):
        value = compute_metrics(db.session, *MAY, employee_ids=[data[who]]).employees[data[who]][code]
        lines = metric_orders(db.session, data[who], *MAY, code)
        if code == "parts_delay_count" and value == 0:
            assert lines == []
            continue
        again = recompute(code, lines)
        assert (again is None) == (value is None), (who, code)
        if value is not None:
            assert again == pytest.approx(value), (who, code)


def test_lines_show_the_orders_behind_first_fix_rate(data):  # noqa: F811
    lines = metric_orders(db.session, data["TA"], *MAY, "first_fix_rate")
    assert [line.order_no for line in lines] == ["O1", "O2", "O9", "O7", "O3"]  # by completion
    assert {line.order_no for line in lines if line.counts} == {"O1", "O9"}
    o3 = next(line for line in lines if line.order_no == "O3")
    assert o3.first_time_fixed and o3.reworked and not o3.counts
    assert o3.satisfaction == pytest.approx(3.0)


def test_every_code_has_a_drilldown_and_unknown_codes_are_refused(data):  # noqa: F811
    for code in CODES:
        metric_orders(db.session, data["TA"], *MAY, code)
    with pytest.raises(ValueError):
        metric_orders(db.session, data["TA"], *MAY, "no_such_metric")
