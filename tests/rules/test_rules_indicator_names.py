"""The names an indicator's result says it read (they reach the snapshot's variables): those of its value,
target and score formulas up to the one that failed, a manual indicator's own code, none when the value
formula does not compile."""

from __future__ import annotations

import pytest

from app.rules import Indicator, RuleSet
from app.rules.evaluate import evaluate_indicator

INDICATORS = (
    Indicator("plain", "甲", "服务质量", "PIECEWISE(value, 0, 0, target, 100) + COALESCE(attitude, 0)",
              value="orders / period_days", target="station_orders / 10"),
    Indicator("manual", "主管评分", "其他", "value + satisfaction", kind="manual"),
    Indicator("broken", "乙", "服务质量", "value", value="orders + kpi_missing"),
)
VALUES = {"orders": 10.0, "period_days": 5.0, "station_orders": 40.0, "attitude": 1.0, "manual": 3.0,
          "satisfaction": 1.0}


@pytest.mark.parametrize(("code", "changes", "error_field", "names"), [
    ("plain", {}, "", {"orders", "period_days", "station_orders", "attitude"}),
    ("plain", {"period_days": 0.0}, "value", {"orders", "period_days"}),  # DIVIDE_BY_ZERO in the value
    ("plain", {"station_orders": 1e308}, "target", {"orders", "period_days", "station_orders"}),
    ("plain", {"orders": 1e308, "period_days": 1e-300}, "value", {"orders", "period_days"}),
    ("plain", {"station_orders": 0.0, "orders": 1.0}, "score", {"orders", "period_days", "station_orders",
                                                                "attitude"}),  # points not increasing
    ("manual", {}, "", {"manual", "satisfaction"}),
    ("manual", {"satisfaction": "x"}, "score", {"manual", "satisfaction"}),
    ("broken", {}, "value", set()),  # kpi_missing: the value formula does not compile
])
def test_names_read_up_to_the_formula_that_failed(code, changes, error_field, names):
    ruleset = RuleSet(indicators=INDICATORS)
    for _ in range(2):  # the second time from what the rule set keeps
        result = evaluate_indicator(ruleset, ruleset.indicator(code), {**VALUES, **changes}, {})
        assert result.error_field == error_field, result.error
        assert set(result.names) == names
