"""check(): everything that can be wrong with a rule set, found before anyone is appraised with it.

Errors block loading and publishing; warnings are shown and let them go on. Problem codes besides
the engine's own (SYNTAX, UNKNOWN_NAME, …, CYCLE): MISSING, BAD_VALUE, DUPLICATE, NAME_TAKEN,
UNKNOWN_INDICATOR, EMPTY, GRADE_GAP, TEST_FAILED, UNKNOWN_GRADE (a distribution limit of policy.toml
naming no grade), TOML and UNKNOWN_KEY (policy.toml), and the warnings WEIGHT_SUM, NO_TESTS, AMBIGUOUS
and UNKNOWN_STATION (a SWOT, template or pool for a station not in the database simply never applies).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable

from app.engine import FormulaError
from app.engine.catalogue import BUILTIN_VARIABLES

from .evaluate import run_test
from .formulas import INDICATOR, OUTCOME, RESERVED, SCORE, WEIGHT, order_indicators, personal_names
from .incentive import check_incentive
from .model import FILES, NA, Problem, expr_text
from .policy import check_distribution

IND_FILE, TPL_FILE = FILES["indicator"], FILES["template"]
GRADE_FILE, SWOT_FILE = FILES["grade"], FILES["swot"]


def _p(file, item, field, code, zh, en, severity="error", position=None, suggestions=()) -> Problem:
    return Problem(file, item, field, code, zh, en, position, severity, tuple(suggestions))


def _formula_problem(file: str, item: str, field: str, exc: FormulaError) -> Problem:
    return Problem(file, item, field, exc.code, exc.message("zh_CN"), exc.message("en"),
                   getattr(exc, "position", None), "error", tuple(getattr(exc, "suggestions", ()) or ()))


def _compile(ruleset, role: str, expr, file: str, item: str, field: str, out: list[Problem]):
    if expr == "" or not isinstance(expr, str):
        return None
    try:
        return ruleset.formulas.compile(role, expr)
    except FormulaError as exc:
        out.append(_formula_problem(file, item, field, exc))
        return None


def indicator_dependencies(ruleset) -> dict[str, set[str]]:
    """code → the other indicators its value and target formulas read (formulas that do not compile
    read nothing here; check() reports them)."""
    codes = set(ruleset.indicator_map)
    deps: dict[str, set[str]] = {}
    for indicator in ruleset.indicators:
        names: set[str] = set()
        for expr in (indicator.value, indicator.target):
            if isinstance(expr, str) and expr:
                try:
                    names |= set(ruleset.formulas.compile(INDICATOR, expr).names)
                except FormulaError:
                    pass
        deps[indicator.code] = (names & codes) if not indicator.manual else set()
    return deps


def _duplicates(values: Iterable[str]) -> set[str]:
    return {v for v, n in Counter(values).items() if n > 1 and v}


def _did_you_mean(name: str, choices: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)


def check(ruleset, station_codes: Iterable[str] | None = None) -> list[Problem]:
    out: list[Problem] = []
    stations = set(station_codes) if station_codes is not None else None
    _check_indicators(ruleset, out)
    _check_templates(ruleset, stations, out)
    _check_grades(ruleset, out)
    _check_outcomes(ruleset, out)
    _check_swot(ruleset, stations, out)
    _check_policy(ruleset, stations, out)
    return out


def _check_policy(ruleset, stations: set[str] | None, out: list[Problem]) -> None:
    """policy.toml: its shape, the grades its limits name, the incentive's formula, tests and pools."""
    read = ruleset.policy_file
    out += read.problems
    out += check_distribution(read.distribution, (g.grade for g in ruleset.grades))
    out += check_incentive(read.incentive, ruleset.formulas, stations)


def _check_indicators(ruleset, out: list[Problem]) -> None:
    catalogue = ruleset.formulas.catalogues[INDICATOR]
    duplicates = _duplicates(i.code for i in ruleset.indicators)
    for code in sorted(duplicates):
        out.append(_p(IND_FILE, f"indicator {code}", "code", "DUPLICATE", f"指标代码“{code}”重复",
                      f"the indicator code “{code}” is used twice"))
    for ind in ruleset.indicators:
        item = f"indicator {ind.code}"
        if ind.code and (not ind.code.isidentifier() or ind.code.startswith("_")):
            out.append(_p(IND_FILE, item, "code", "BAD_VALUE",
                          "代码只能由字母、数字、下划线或汉字组成，且不能以数字或下划线开头",
                          "a code may hold letters, digits, underscores or Chinese characters and must not "
                          "start with a digit or underscore"))
        elif ind.code in RESERVED or ruleset.formulas.is_builtin(ind.code):
            out.append(_p(IND_FILE, item, "code", "NAME_TAKEN",
                          f"“{ind.code}”已是内置变量名，请换一个代码",
                          f"“{ind.code}” is already a built-in name; choose another code"))
        if ind.manual and ind.value != "":
            out.append(_p(IND_FILE, item, "value", "BAD_VALUE", "手工指标的值由主管录入，不能写公式",
                          "a manual indicator's value is entered by the supervisor; remove the formula"))
        if not ind.manual and ind.value == "":
            out.append(_p(IND_FILE, item, "value", "MISSING", "请填写取值公式",
                          "the value formula is missing"))
        compiled = [
            _compile(ruleset, INDICATOR, expr_text(ind.value), IND_FILE, item, "value", out)
            if not ind.manual else True,
            _compile(ruleset, INDICATOR, expr_text(ind.target), IND_FILE, item, "target", out)
            if ind.target != "" else True,
            _compile(ruleset, SCORE, expr_text(ind.score), IND_FILE, item, "score", out),
        ]
        if not ind.tests:
            out.append(_p(IND_FILE, item, "test", "NO_TESTS", "此指标还没有测试用例",
                          "this indicator has no test cases yet", severity="warning"))
        elif all(c is not None for c in compiled):
            _run_tests(ruleset, ind, item, catalogue, out)
    try:
        order_indicators(indicator_dependencies(ruleset))
    except FormulaError as exc:
        out.append(_formula_problem(IND_FILE, "indicators", "value", exc))


def _run_tests(ruleset, ind, item: str, catalogue, out: list[Problem]) -> None:
    known = set(ruleset.indicator_map)
    for n, case in enumerate(ind.tests, start=1):
        where = f"test {n}"
        bad = [name for name in case.inputs if name not in known and not ruleset.formulas.resolve(name)]
        if bad:
            for name in bad:
                out.append(_p(IND_FILE, item, where, "UNKNOWN_NAME", f"测试输入“{name}”不是已知的变量或指标",
                              f"the test input “{name}” is not a known variable or indicator",
                              suggestions=_did_you_mean(name, [*known, *ruleset.formulas.names()])))
            continue
        result = run_test(ruleset, ind, case)
        if result.passed:
            continue
        if result.error is not None:
            out.append(_p(IND_FILE, item, where, "TEST_FAILED",
                          f"测试 {n}：{result.field} 公式出错"
                          f"（{result.error.code}：{result.error.message('zh_CN')}）",
                          f"test {n}: the {result.field} formula fails ({result.error.code}: "
                          f"{result.error.message('en')})"))
            continue
        expected = case.value if result.field == "value" else case.score
        got = result.got_value if result.field == "value" else result.got_score
        shown = NA if got is None else f"{got:g}"
        what_zh = "值" if result.field == "value" else "得分"
        out.append(_p(IND_FILE, item, where, "TEST_FAILED",
                      f"测试 {n}：期望{what_zh} {expected}，实际为 {shown}",
                      f"test {n}: expected {result.field} {expected}, got {shown}"))


def _personal_weight(file: str, item: str, where: str, formula) -> list[Problem]:
    """A warning for a weight formula that reads a personal metric: people at one station would weigh
    the same indicator differently. Weights should read station variables (``station_<code>``)."""
    personal = personal_names(formula.names) if formula is not None else []
    if not personal:
        return []
    zh = {v.code: v.zh for v in BUILTIN_VARIABLES}
    names_zh = "、".join(zh[name] for name in personal)
    station_zh = "、".join(f"站点{zh[name]}" for name in personal)
    names, station = ", ".join(personal), ", ".join(f"station_{name}" for name in personal)
    return [_p(file, item, f"{where} weight", "PERSONAL_WEIGHT",
               f"权重公式使用了个人变量 {names_zh}：同一服务站的人会得到不同的权重；"
               f"权重应使用站点变量，如 {station_zh}",
               f"the weight formula uses the personal variable {names}: people at one station would get "
               f"different weights; weights should use station variables such as {station}",
               severity="warning")]


def _check_lines(ruleset, lines, file: str, item: str, out: list[Problem]) -> None:
    codes = set(ruleset.indicator_map)
    for code in sorted(_duplicates(line.indicator for line in lines)):
        out.append(_p(file, item, "line", "DUPLICATE", f"指标“{code}”出现了两次",
                      f"the indicator “{code}” appears twice"))
    for n, line in enumerate(lines, start=1):
        where = f"line {n}"
        if line.indicator and line.indicator not in codes:
            out.append(_p(file, item, where, "UNKNOWN_INDICATOR", f"没有代码为“{line.indicator}”的指标",
                          f"there is no indicator with the code “{line.indicator}”",
                          suggestions=_did_you_mean(line.indicator, codes)))
        if isinstance(line.weight, str):
            formula = _compile(ruleset, WEIGHT, line.weight, file, item, f"{where} weight", out)
            out += _personal_weight(file, item, where, formula)
        elif line.weight < 0:
            out.append(_p(file, item, f"{where} weight", "BAD_VALUE", "权重不能为负数",
                          "a weight cannot be negative"))


def _overlap(a: tuple, b: tuple) -> bool:
    return not a or not b or bool(set(a) & set(b))


def _check_templates(ruleset, stations: set[str] | None, out: list[Problem]) -> None:
    for code in sorted(_duplicates(t.code for t in ruleset.templates)):
        out.append(_p(TPL_FILE, f"template {code}", "code", "DUPLICATE", f"方案代码“{code}”重复",
                      f"the template code “{code}” is used twice"))
    if not ruleset.templates:
        out.append(_p(TPL_FILE, "", "template", "MISSING", "至少需要一个考核方案",
                      "at least one template is needed"))
    for n, tpl in enumerate(ruleset.templates):
        item = f"template {tpl.code}"
        if not tpl.lines:
            out.append(_p(TPL_FILE, item, "line", "EMPTY", "方案中没有指标",
                          "the template has no indicators"))
        _check_lines(ruleset, tpl.lines, TPL_FILE, item, out)
        for code in tpl.stations:
            if stations is not None and code not in stations:
                out.append(_p(TPL_FILE, item, "stations", "UNKNOWN_STATION", f"没有代码为“{code}”的服务站",
                              f"there is no station with the code “{code}”", severity="warning"))
        if tpl.lines and all(not isinstance(line.weight, str) for line in tpl.lines):
            total = sum(line.weight for line in tpl.lines)
            if abs(total - 100) > 1e-9:
                out.append(_p(TPL_FILE, item, "line", "WEIGHT_SUM",
                              f"权重合计为 {total:g}，不是 100；计算时会按比例折算为 100",
                              f"the weights add up to {total:g}, not 100; "
                              "they are scaled to 100 when scoring",
                              severity="warning"))
        for other in ruleset.templates[:n]:
            if (other.specificity == tpl.specificity and _overlap(other.positions, tpl.positions)
                    and _overlap(other.stations, tpl.stations) and _overlap(other.segments, tpl.segments)):
                out.append(_p(TPL_FILE, item, "positions", "AMBIGUOUS",
                              f"与方案“{other.code}”适用范围重叠；重叠部分使用排在前面的“{other.code}”",
                              f"overlaps the template “{other.code}”; where both apply, “{other.code}” "
                              "(listed first) is used", severity="warning"))


def _check_grades(ruleset, out: list[Problem]) -> None:
    if not ruleset.grades:
        out.append(_p(GRADE_FILE, "", "grade", "MISSING", "至少需要一个等级",
                      "at least one grade band is needed"))
        return
    for grade in sorted(_duplicates(g.grade for g in ruleset.grades)):
        out.append(_p(GRADE_FILE, f"grade {grade}", "grade", "DUPLICATE", f"等级“{grade}”重复",
                      f"the grade “{grade}” is used twice"))
    mins = Counter(g.min for g in ruleset.grades)
    for band in ruleset.grades:
        item = f"grade {band.grade}"
        if mins[band.min] > 1:
            out.append(_p(GRADE_FILE, item, "min", "DUPLICATE", f"两个等级的下限都是 {band.min}",
                          f"two grade bands start at {band.min}"))
        if band.min > 100:
            out.append(_p(GRADE_FILE, item, "min", "BAD_VALUE", "下限不能超过 100",
                          "the lower bound cannot exceed 100"))
    lowest = min(g.min for g in ruleset.grades)
    if lowest > 0:
        out.append(_p(GRADE_FILE, "grades", "min", "GRADE_GAP",
                      f"总分低于 {lowest:g} 时没有等级；最低一档的下限应为 0",
                      f"a total below {lowest:g} gets no grade; the lowest band must start at 0"))


def _check_outcomes(ruleset, out: list[Problem]) -> None:
    for code in sorted(_duplicates(o.code for o in ruleset.outcomes)):
        out.append(_p(GRADE_FILE, f"outcome {code}", "code", "DUPLICATE", f"结果规则代码“{code}”重复",
                      f"the outcome code “{code}” is used twice"))
    grades = {g.grade for g in ruleset.grades}
    for rule in ruleset.outcomes:
        item = f"outcome {rule.code}"
        formula = _compile(ruleset, OUTCOME, expr_text(rule.when), GRADE_FILE, item, "when", out)
        if formula is not None:
            for word in getattr(formula, "string_literals", ()) or ():
                if word not in grades:
                    out.append(_p(GRADE_FILE, item, "when", "BAD_VALUE", f"没有等级“{word}”",
                                  f"there is no grade “{word}”", severity="warning"))
        if rule.action == "bonus" and rule.coefficient == "":
            out.append(_p(GRADE_FILE, item, "coefficient", "MISSING", "奖金规则需要填写奖金系数公式",
                          "a bonus rule needs a coefficient formula"))
        if rule.action != "bonus" and rule.coefficient != "":
            out.append(_p(GRADE_FILE, item, "coefficient", "BAD_VALUE", "只有奖金规则（bonus）才有系数",
                          "only a bonus rule has a coefficient"))
        _compile(ruleset, OUTCOME, expr_text(rule.coefficient), GRADE_FILE, item, "coefficient", out)


def _check_swot(ruleset, stations: set[str] | None, out: list[Problem]) -> None:
    for n, swot in enumerate(ruleset.swot, start=1):
        item = f"swot {swot.station} {swot.year} {swot.kind} #{n}"
        if stations is not None and swot.station and swot.station not in stations:
            out.append(_p(SWOT_FILE, item, "station", "UNKNOWN_STATION",
                          f"没有代码为“{swot.station}”的服务站",
                          f"there is no station with the code “{swot.station}”", severity="warning"))
        if not 2000 <= swot.year <= 2100:
            out.append(_p(SWOT_FILE, item, "year", "BAD_VALUE", "年份应在 2000–2100 之间",
                          "the year must lie between 2000 and 2100"))
        _check_lines(ruleset, swot.lines, SWOT_FILE, item, out)
