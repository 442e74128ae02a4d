"""The catalogue (names a formula may use) and the function library."""

from __future__ import annotations

import pytest

from app.engine import (
    BUILTIN_VARIABLES,
    FUNCTIONS,
    Catalogue,
    FormulaError,
    Variable,
    builtin_catalogue,
    compile_formula,
    palette,
)

EXPECTED_CODES = ["orders", "satisfaction", "attitude", "repair_quality", "speed_rating", "survey_rate",
              "first_fix_rate", "rework_rate", "avg_repair_hours", "avg_response_hours", "sla_rate",
              "parts_cost_per_order", "labor_cost_ratio", "parts_delay_count", "enterprise_share",
              "period_days"]
EXPECTED_FUNCTIONS = ["IF", "AND", "OR", "NOT", "MIN", "MAX", "SUM", "AVG", "ROUND", "ABS",
                      "CLAMP", "COALESCE",
                  "ISNA", "PIECEWISE", "BAND", "TAGGED", "TAGGED_RATE"]


def test_builtins_are_the_spec_metrics_with_station_twins():
    assert [v.code for v in BUILTIN_VARIABLES] == EXPECTED_CODES
    catalogue = builtin_catalogue()
    assert catalogue.resolve("一次修复率") == "first_fix_rate"
    assert catalogue.resolve("站点一次修复率") == "station_first_fix_rate"
    assert catalogue.resolve("SLA达成率") == "sla_rate"
    assert catalogue.resolve("station_sla_rate") == "station_sla_rate"
    assert catalogue.resolve("First_Fix_Rate") == "first_fix_rate"
    assert catalogue.resolve("nope") is None
    assert "station_orders" not in builtin_catalogue(station_variables=False)
    for variable in catalogue:
        assert variable.zh and variable.en and variable.description_zh and variable.description_en
        assert compile_formula(variable.zh, catalogue).names == {variable.code}


def test_variable_synonyms_and_extension():
    variable = Variable(code="total", alias="总分", name_en="Total", description="调整后的总分", kind="text")
    assert (variable.zh, variable.en, variable.description_zh,
            variable.kind) == ("总分", "Total", "调整后的总分", "text")
    assert variable.alias == "总分" and variable.name_en == "Total"
    assert Variable("v", alias=None).zh == ""
    catalogue = Catalogue([Variable("a", "甲")], indicator_codes=["kpi_1"]).extend([variable])
    assert catalogue.resolve("总分") == "total" and catalogue.resolve("kpi_1") == "kpi_1"
    assert "甲" in catalogue and "a" in catalogue and "乙" not in catalogue
    assert catalogue.with_names(["b"], aliases={"b": "乙"}).resolve("乙") == "b"
    assert catalogue.with_indicators(["kpi_2"]).resolve("kpi_2") == "kpi_2"
    assert catalogue.canonical_values({"甲": 1, "x": 2}) == {"a": 1, "x": 2}
    entries = catalogue.to_list("en")
    assert {"code": "total", "zh": "总分", "en": "Total", "name": "Total", "description": "调整后的总分",
            "category": "", "kind": "text"} in entries


def test_first_definition_wins():
    catalogue = Catalogue([Variable("a", "甲"), Variable("a", "乙"), Variable("b", "甲")])
    assert catalogue.resolve("甲") == "a" and catalogue.resolve("乙") is None


def test_indicator_codes_resolve_in_formulas():
    catalogue = builtin_catalogue().with_indicators(["kpi_quality"])
    assert compile_formula("kpi_quality * 0.5 + 一次修复率",
                           catalogue).names == {"kpi_quality", "first_fix_rate"}
    with pytest.raises(FormulaError):
        compile_formula("kpi_quality", builtin_catalogue())


def test_function_library_for_the_palette():
    assert sorted(FUNCTIONS) == sorted(EXPECTED_FUNCTIONS)
    for info in FUNCTIONS.values():
        assert info.zh and info.en and info.signature.startswith(info.name + "(")
    entries = palette("en")
    assert entries[0]["name"] == "IF" and entries[0]["description"] == FUNCTIONS["IF"].en
    assert palette("zh_CN")[0]["description"] == FUNCTIONS["IF"].zh


def test_empty_or_missing_catalogue():
    assert compile_formula("1 + 1", None).evaluate({}) == 2
    with pytest.raises(FormulaError):
        compile_formula("x", Catalogue())
