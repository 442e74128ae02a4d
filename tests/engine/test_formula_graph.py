"""Dependency order of formulas that refer to each other; a cycle is an error naming its members."""

from __future__ import annotations

import pytest

from app.engine import FormulaError, builtin_catalogue, compile_formula, dependency_order

CODES = ["a", "b", "c", "d", "e"]
CATALOGUE = builtin_catalogue().with_indicators(CODES)


def formulas(**texts):
    return {code: compile_formula(text, CATALOGUE) for code, text in texts.items()}


def test_order_puts_dependencies_first_and_keeps_ties():
    order = dependency_order(formulas(a="b + c", b="c * 2", c="一次修复率", d="1", e="a + d"))
    assert order == ["c", "d", "b", "a", "e"]
    for code, deps in (("a", "bc"), ("b", "c"), ("e", "ad")):
        assert all(order.index(dep) < order.index(code) for dep in deps)


def test_names_that_are_not_keys_are_not_dependencies():
    assert dependency_order(formulas(a="工单数 + 1", b="a")) == ["a", "b"]


def test_plain_name_lists_work_too():
    assert dependency_order({"x": ["y"], "y": []}) == ["y", "x"]


def test_cycle_names_every_member():
    with pytest.raises(FormulaError) as info:
        dependency_order(formulas(a="b + 1", b="c", c="a * 2", d="1", e="d"))
    error = info.value
    assert error.code == "CYCLE" and error.members == ["a", "b", "c"]
    assert "a → b → c → a" in error.message_zh and "a → b → c → a" in error.message_en
    assert error.to_dict()["members"] == ["a", "b", "c"]


def test_self_reference_and_two_cycles():
    with pytest.raises(FormulaError) as info:
        dependency_order(formulas(a="a + 1"))
    assert info.value.members == ["a"]
    with pytest.raises(FormulaError) as info:
        dependency_order(formulas(a="b", b="a", c="d", d="c", e="a + c"))
    assert info.value.members == ["a", "b", "c", "d"]  # e depends on cycles but is on none


def test_long_chain_is_not_recursive():
    chain = {f"k{i}": [f"k{i + 1}"] for i in range(5000)}
    chain["k5000"] = []
    assert dependency_order(chain)[0] == "k5000"
    chain["k5000"] = ["k0"]
    with pytest.raises(FormulaError) as info:
        dependency_order(chain)
    assert len(info.value.members) == 5001
