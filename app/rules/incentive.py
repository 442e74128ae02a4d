"""Incentives (绩效奖金) of ``policy.toml``: the amount formula, the cap, station pools, test cases.

::

    [incentive]
    amount = "bonus_base * coefficient"   # a formula (role "incentive" of formulas.py)
    cap = 10000                           # optional: the most one person gets, yuan
    [[incentive.pool]]                    # optional: that station's amounts are scaled to add up to it
    station = "S02"
    amount = 20000
    [[incentive.test]]
    name = "B 级拿满基数"
    inputs = { bonus_base = 2000, coefficient = 1.0, total = 80, grade = "B" }
    expected = 2000                       # the formula's amount, to the cent ("N/A": none)
    capped = 2000                         # optional: the amount after the cap, whole yuan

The formula may use ``bonus_base`` (奖金基数, N/A when the employee has none), ``coefficient``
(奖金系数: the coefficient of the bonus outcome that applied, 0 when none did, N/A without a total),
``total`` (总分), ``grade`` (等级, compared with ==), the built-in and station variables and the
indicators' codes.

Money is ``Decimal``. The formula computes in floats; its result is first rounded to 6 decimal places
(a bonus base in cents times a coefficient of up to 4 places is exact there, so the float's binary
noise goes) and then to the cent, half up: that is the *raw* amount. The *amount* is the raw one
rounded half up to whole yuan, at most the cap (its whole yuan), never below 0. Pools are shared out at
publication (``app.rules.pools``); before that a pooled station's amounts are these capped ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.engine import FormulaError
from app.engine.catalogue import TEXT

from . import pools
from .formulas import INCENTIVE
from .model import NA, POLICY_FILE, Expr, Problem, expr_text, norm_number
from .pools import money_text
from .reader import Reader

CENT, YUAN = Decimal("0.01"), Decimal("1")
_MICRO = Decimal("0.000001")


# ---------------------------------------------------------------------------------------------
# money


def to_money(value: float | int | Decimal) -> Decimal:
    """A formula's number as money: to 6 places, then to the cent, half up."""
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    return number.quantize(_MICRO, ROUND_HALF_UP).quantize(CENT, ROUND_HALF_UP)


def capped_amount(raw: Decimal | None, cap: Decimal | None) -> tuple[Decimal | None, bool]:
    """(amount in whole yuan, whether the cap cut it): the raw amount rounded half up, at most the
    whole yuan of the cap, never below 0 (as ``pools.allocate`` without a pool); None for N/A."""
    if raw is None:
        return None, False
    return pools.capped(raw, cap), cap is not None and raw > cap


# ---------------------------------------------------------------------------------------------
# the items


@dataclass(frozen=True)
class IncentiveTest:
    __test__ = False  # not a pytest test class

    name: str
    inputs: Mapping[str, float | str | None] = field(default_factory=dict)
    expected: Decimal | str | None = None  # the raw amount; "N/A" expects none; None: not checked
    capped: Decimal | None = None  # the amount after the cap (whole yuan); None: not checked


@dataclass(frozen=True)
class Incentive:
    amount: Expr  # the amount formula (or a fixed number)
    cap: Decimal | None = None
    pools: Mapping[str, Decimal] = field(default_factory=dict)  # station code → pool, yuan
    tests: tuple[IncentiveTest, ...] = ()

    @property
    def formula_text(self) -> str:
        return expr_text(self.amount)

    def pool_for(self, station_code: str) -> Decimal | None:
        return self.pools.get(station_code)

    @classmethod
    def from_dict(cls, table: Any, problems: list[Problem]) -> Incentive:
        r = Reader(table, POLICY_FILE, "incentive", problems)
        r.unknown_keys({"amount", "cap", "pool", "test"})
        amount = r.expr("amount", required=True)
        cap = _money(r, "cap") if "cap" in r.table else None
        pools: dict[str, Decimal] = {}
        for n, entry in enumerate(r.tables("pool"), start=1):
            pool = Reader(entry, POLICY_FILE, f"incentive pool {n}", problems)
            pool.unknown_keys({"station", "amount"})
            station = pool.text("station", required=True, max_len=32)
            size = _money(pool, "amount", required=True)
            if station in pools:
                pool.problem("station", "DUPLICATE", f"服务站“{station}”的奖金池写了两次",
                             f"the station “{station}” has two pools")
            elif station and size is not None:
                pools[station] = size
        tests = tuple(_test(entry, n, problems) for n, entry in enumerate(r.tables("test"), start=1))
        return cls(amount, cap, pools, tests)


def _money(r: Reader, key: str, *, required: bool = False) -> Decimal | None:
    if key not in r.table:
        if required:
            r.number(key, required=True)  # reports it missing
        return None
    number = norm_number(r.table[key])
    if number is None or number < 0:
        r.problem(key, "BAD_VALUE", f"“{key}”应为不小于 0 的金额（元）",
                  f"“{key}” must be an amount of at least 0 (yuan)")
        return None
    return to_money(number)


def _test(table: Any, n: int, problems: list[Problem]) -> IncentiveTest:
    r = Reader(table, POLICY_FILE, f"incentive test {n}", problems)
    r.unknown_keys({"name", "inputs", "expected", "capped"})
    inputs: dict[str, float | str | None] = {}
    raw = r.table.get("inputs", {})
    if not isinstance(raw, Mapping):
        r.problem("inputs", "BAD_VALUE", "“inputs”应为表，如 { bonus_base = 2000, coefficient = 1 }",
                  "“inputs” must be a table, e.g. { bonus_base = 2000, coefficient = 1 }")
        raw = {}
    for name, value in raw.items():
        number = norm_number(value)
        if value == NA:
            inputs[str(name)] = None
        elif number is not None:
            inputs[str(name)] = number
        elif isinstance(value, str):
            inputs[str(name)] = value  # a grade; check() refuses text for a number
        else:
            r.problem("inputs", "BAD_VALUE", f"输入“{name}”应为数字、等级文本或 \"N/A\"",
                      f"input “{name}” must be a number, a grade text or \"N/A\"")
    expected: Decimal | str | None = None
    if "expected" not in r.table:
        r.number("expected", required=True)
    elif r.table["expected"] == NA:
        expected = NA
    elif norm_number(r.table["expected"]) is None:
        r.problem("expected", "BAD_VALUE", "期望的“expected”应为金额或 \"N/A\"",
                  "the expected “expected” must be an amount or \"N/A\"")
    else:
        expected = to_money(norm_number(r.table["expected"]))
    capped = None
    if "capped" in r.table:
        number = norm_number(r.table["capped"])
        if number is None:
            r.problem("capped", "BAD_VALUE", "“capped”应为金额（元）", "“capped” must be an amount (yuan)")
        else:
            capped = pools.whole(to_money(number))
    return IncentiveTest(r.text("name", max_len=100), inputs, expected, capped)


# ---------------------------------------------------------------------------------------------
# evaluation


def incentive_scope(values: Mapping[str, Any], *, bonus_base: Decimal | None, coefficient: float | None,
                    total: float | None, grade: str | None) -> dict[str, Any]:
    """The names an amount formula reads: ``values`` (variables, indicators) plus its own four."""
    scope = dict(values)
    scope.update(bonus_base=None if bonus_base is None else float(bonus_base), coefficient=coefficient,
                 total=total, grade=grade)
    return scope


def raw_amount(formula, scope: Mapping[str, Any], tags: Mapping[str, int] | None = None) -> Decimal | None:
    """One person's raw amount (cents, half up), None when the formula is N/A; raises FormulaError."""
    value = formula.evaluate(scope, tags)
    return None if value is None else to_money(value)


def _na_note(formula, scope: Mapping[str, Any], en: bool) -> str:
    if "bonus_base" in formula.names and scope.get("bonus_base") is None:
        return ("No bonus base is recorded for this employee: no incentive amount." if en
                else "该员工没有奖金基数，无法计算绩效奖金。")
    if scope.get("total") is None:
        return "There is no total: no incentive amount." if en else "没有总分，无法计算绩效奖金。"
    return ("The incentive formula has no value (N/A) for this employee." if en
            else "绩效奖金公式对该员工没有结果（N/A）。")


def incentive_part(incentive: Incentive | None, formulas, *, values: Mapping[str, Any],
                   tags: Mapping[str, int] | None, bonus_base: Decimal | None, coefficient: float | None,
                   total: float | None, grade: str | None, station_code: str,
                   locale: str = "zh_CN") -> dict | None:
    """The snapshot's ``incentive`` of one person (None without an incentive): formula, raw, amount,
    cap, capped, pool (not yet allocated) and a note saying why there is no amount. Never raises."""
    if incentive is None:
        return None
    en = (locale or "").startswith("en")
    pool_size = incentive.pool_for(station_code)
    part: dict[str, Any] = {
        "formula": incentive.formula_text, "raw": None, "amount": None,
        "cap": money_text(incentive.cap), "capped": False,
        "pool": None if pool_size is None else {"station": station_code, "size": money_text(pool_size),
                                                "allocated": False, "factor": None},
        "note": None,
    }
    scope = incentive_scope(values, bonus_base=bonus_base, coefficient=coefficient, total=total, grade=grade)
    try:
        formula = formulas.compile(INCENTIVE, incentive.formula_text)
        raw = raw_amount(formula, scope, tags)
    except FormulaError as exc:
        part["note"] = (f"The incentive formula fails ({exc.code}: {exc.message('en')})." if en
                        else f"绩效奖金公式出错（{exc.code}：{exc.message('zh_CN')}）。")
        return part
    if raw is None:
        part["note"] = _na_note(formula, scope, en)
        return part
    amount, capped = capped_amount(raw, incentive.cap)
    part.update(raw=money_text_cents(raw), amount=money_text(amount), capped=capped)
    if raw < 0:
        part["note"] = ("The formula gives a negative amount; it counts as 0." if en
                        else "公式结果为负数，按 0 计。")
    return part


def money_text_cents(value: Decimal) -> str:
    """Always two places: "2000.00"."""
    return str(value.quantize(CENT, ROUND_HALF_UP))


# ---------------------------------------------------------------------------------------------
# checking


@dataclass(frozen=True)
class IncentiveTestOutcome:
    __test__ = False

    passed: bool
    raw: Decimal | None
    amount: Decimal | None
    error: FormulaError | None
    field: str  # what failed: "expected", "capped" or "amount" (the formula); "" when passed


def run_incentive_test(formulas, incentive: Incentive, case: IncentiveTest) -> IncentiveTestOutcome:
    """Run one test case (a name not given is N/A); raises nothing."""
    catalogue = formulas.catalogues[INCENTIVE]
    scope = {catalogue.resolve(name) or name: value for name, value in case.inputs.items()}
    try:
        raw = raw_amount(formulas.compile(INCENTIVE, incentive.formula_text), scope)
    except FormulaError as exc:
        return IncentiveTestOutcome(False, None, None, exc, "amount")
    amount, _ = capped_amount(raw, incentive.cap)
    if case.expected is not None and raw != (None if case.expected == NA else case.expected):
        return IncentiveTestOutcome(False, raw, amount, None, "expected")
    if case.capped is not None and amount != case.capped:
        return IncentiveTestOutcome(False, raw, amount, None, "capped")
    return IncentiveTestOutcome(True, raw, amount, None, "")


def _p(item: str, fieldname: str, code: str, zh: str, en: str, severity: str = "error", position=None,
       suggestions=()) -> Problem:
    return Problem(POLICY_FILE, item, fieldname, code, zh, en, position, severity, tuple(suggestions))


def check_incentive(incentive: Incentive | None, formulas, station_codes: Iterable[str] | None = None
                    ) -> list[Problem]:
    """The incentive's formula (errors with code and position), test cases and pools."""
    if incentive is None:
        return []
    out: list[Problem] = []
    compiled = False
    if incentive.formula_text:
        try:
            formulas.compile(INCENTIVE, incentive.formula_text)
            compiled = True
        except FormulaError as exc:
            out.append(_p("incentive", "amount", exc.code, exc.message("zh_CN"), exc.message("en"),
                          position=getattr(exc, "position", None),
                          suggestions=getattr(exc, "suggestions", ()) or ()))
    if station_codes is not None:
        stations = set(station_codes)
        for code in incentive.pools:
            if code not in stations:
                out.append(_p("incentive pool", "station", "UNKNOWN_STATION", f"没有代码为“{code}”的服务站",
                              f"there is no station with the code “{code}”", severity="warning"))
    if not incentive.tests:
        out.append(_p("incentive", "test", "NO_TESTS", "绩效奖金公式还没有测试用例",
                      "the incentive formula has no test cases yet", severity="warning"))
    elif compiled:
        for n, case in enumerate(incentive.tests, start=1):
            out += _check_test(formulas, incentive, case, n)
    return out


def _check_test(formulas, incentive: Incentive, case: IncentiveTest, n: int) -> list[Problem]:
    item, catalogue = f"incentive test {n}", formulas.catalogues[INCENTIVE]
    label = f"“{case.name}”" if case.name else str(n)
    out = []
    for name, value in case.inputs.items():
        code = catalogue.resolve(name)
        if code is None:
            out.append(_p(item, "inputs", "UNKNOWN_NAME", f"测试输入“{name}”不是已知的变量",
                          f"the test input “{name}” is not a known variable",
                          suggestions=catalogue.suggestions(name)))
        elif isinstance(value, str) and catalogue.kind(code) != TEXT:
            out.append(_p(item, "inputs", "BAD_VALUE", f"测试输入“{name}”应为数字或 \"N/A\"",
                          f"the test input “{name}” must be a number or \"N/A\""))
    if out:
        return out
    result = run_incentive_test(formulas, incentive, case)
    if result.passed:
        return []
    if result.error is not None:
        return [_p(item, "amount", "TEST_FAILED",
                   f"测试 {label}：公式出错（{result.error.code}：{result.error.message('zh_CN')}）",
                   f"test {label}: the formula fails ({result.error.code}: {result.error.message('en')})")]
    if result.field == "expected":
        want = case.expected if case.expected == NA else money_text_cents(case.expected)
        got = NA if result.raw is None else money_text_cents(result.raw)
        return [_p(item, "expected", "TEST_FAILED", f"测试 {label}：期望金额 {want}，实际为 {got}",
                   f"test {label}: expected the amount {want}, got {got}")]
    want, got = money_text(case.capped), NA if result.amount is None else money_text(result.amount)
    return [_p(item, "capped", "TEST_FAILED", f"测试 {label}：期望封顶后金额 {want}，实际为 {got}",
               f"test {label}: expected the capped amount {want}, got {got}")]
