"""The formula cookbook: every example passes the editor's live check and the rule set's compile for its
field, and gives its expected number on its sample; a change of the formula language breaks this test."""

from __future__ import annotations

import re

import pytest

from app.engine.payload import check_expression
from app.rules.cookbook import FIELDS, RECIPES, in_codes
from app.rules.formulas import INDICATOR, SCORE

ROLE = {"value": INDICATOR, "target": INDICATOR, "score": SCORE}
CHECK = "/api/v1/formula/check"
CJK = re.compile(r"[\u3400-\u9fff]")


def recipe_id(recipe):
    return recipe.key


def test_the_cookbook_has_about_a_dozen_distinct_examples_for_every_field_but_target():
    assert len(RECIPES) >= 12
    assert len({r.key for r in RECIPES}) == len({r.title for r in RECIPES}) == len(RECIPES)
    assert {r.field for r in RECIPES} == {"value", "score"} and all(r.field in FIELDS for r in RECIPES)
    used = " ".join(r.formula for r in RECIPES)
    functions = ("PIECEWISE", "BAND", "CLAMP", "IF", "COALESCE", "TAGGED", "AVG", "MIN")
    assert all(f"{name}(" in used for name in functions)


@pytest.mark.parametrize("recipe", RECIPES, ids=recipe_id)
def test_an_example_compiles_in_the_rule_set_for_its_field(default_ruleset, recipe):
    formula = default_ruleset.formulas.compile(ROLE[recipe.field], recipe.formula)
    assert formula.names <= set(recipe.sample) | {"value", "target"}
    if recipe.target:
        default_ruleset.formulas.compile(INDICATOR, recipe.target)
    if "target" in formula.names:
        assert recipe.target or "target" in recipe.sample


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("recipe", RECIPES, ids=recipe_id)
def test_an_example_gives_its_number_on_its_sample_in_either_language(recipe, locale):
    formula = recipe.formula_in(locale)
    out = check_expression(formula, dict(recipe.sample), tags=dict(recipe.tags))
    assert out["ok"], out.get("error")
    assert out["value"] == pytest.approx(recipe.expected)
    if locale == "en":  # the variables by their codes; a quoted tag word is data
        assert not CJK.search(re.sub(r'"[^"]*"', "", formula + recipe.target_in(locale))), formula


def test_english_formulas_name_variables_by_their_codes():
    assert in_codes("AVG(服务态度, 维修质量) + TAGGED(\"新技术\") * 一次修复率") == (
        "AVG(attitude, repair_quality) + TAGGED(\"新技术\") * first_fix_rate")
    assert in_codes("站点单均配件成本") == "station_parts_cost_per_order"


def test_the_live_check_accepts_every_example_as_the_editor_sends_it(api_as):
    """The editor posts each field with its role's extra names as N/A (rules/screen.formula_names)."""
    api = api_as("hr")
    for recipe in RECIPES:
        names = ["value", "target"] if recipe.field == "score" else []
        r = api.post(CHECK, json={"expression": recipe.formula, "variables": dict.fromkeys(names)})
        assert r.status_code == 200 and r.json["ok"], (recipe.key, r.json)
