"""Formula engine against plain compiled Python, on realistic KPI formulas.

The engine compiles each formula once (Chinese names, the function library) and evaluates it over 10,000
variable sets. The baseline is the same formula written as plain Python, compiled once with ``compile()``
and run with ``eval`` on the same dicts, with equivalent helper functions (PIECEWISE, BAND, CLAMP…). The
baseline has no N/A propagation, no bounds and no sandbox: that is the price the ratio measures.

Prints one JSON line: engine_evals_per_s, baseline_evals_per_s, ratio (engine ÷ baseline), …
Run: .venv/bin/python bench/formula.py [--sets N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import builtin_catalogue, compile_formula  # noqa: E402

# (engine formula, the same as plain Python over canonical codes)
FORMULAS = [
    ("一次修复率 * 100", "first_fix_rate * 100"),
    ("PIECEWISE(客户满意度, 3, 0, 4, 60, 4.5, 90, 5, 100)",
     "PIECEWISE(satisfaction, 3, 0, 4, 60, 4.5, 90, 5, 100)"),
    ("IF(返修率 <= 0.02, 100, MAX(0, 100 - (返修率 - 0.02) * 2000))",
     "(100 if rework_rate <= 0.02 else MAX(0, 100 - (rework_rate - 0.02) * 2000))"),
    ("CLAMP(100 - (平均维修时长 - 4) * 10, 0, 100)", "CLAMP(100 - (avg_repair_hours - 4) * 10, 0, 100)"),
    ("BAND(SLA达成率, 0.95, 100, 0.9, 80, 0.8, 60)", "BAND(sla_rate, 0.95, 100, 0.9, 80, 0.8, 60)"),
    ("COALESCE(回访率, 0) * 100", "COALESCE(survey_rate, 0) * 100"),
    ("ROUND(客户满意度 / 5 * 100, 1)", "ROUND(satisfaction / 5 * 100, 1)"),
    ("MAX(0, 100 - 20 * 配件延误次数)", "MAX(0, 100 - 20 * parts_delay_count)"),
    ("20 + 20 * 企业客户占比", "20 + 20 * enterprise_share"),
    ("IF(企业客户占比 > 0.5, SLA达成率 * 100, 客户满意度 * 20)",
     "(sla_rate * 100 if enterprise_share > 0.5 else satisfaction * 20)"),
    ("(服务态度 + 维修质量 + 响应速度评分) / 3 * 20", "(attitude + repair_quality + speed_rating) / 3 * 20"),
    ("100 - 人力成本占比 * 100", "100 - labor_cost_ratio * 100"),
    ("IF(单均配件成本 <= 200, 100, PIECEWISE(单均配件成本, 200, 100, 600, 0))",
     "(100 if parts_cost_per_order <= 200 else PIECEWISE(parts_cost_per_order, 200, 100, 600, 0))"),
    ("一次修复率 / 站点一次修复率 * 80", "first_fix_rate / station_first_fix_rate * 80"),
    ("CLAMP(50 + (客户满意度 - 站点客户满意度) * 50, 0, 100)",
     "CLAMP(50 + (satisfaction - station_satisfaction) * 50, 0, 100)"),
    ("工单数 / 考核天数", "orders / period_days"),
    ("IF(工单数 >= 30 and 一次修复率 >= 0.9, 1.2, IF(工单数 >= 20, 1.0, 0.8))",
     "(1.2 if orders >= 30 and first_fix_rate >= 0.9 else (1.0 if orders >= 20 else 0.8))"),
    ("PIECEWISE(平均响应时长, 1, 100, 4, 80, 8, 40, 24, 0)",
     "PIECEWISE(avg_response_hours, 1, 100, 4, 80, 8, 40, 24, 0)"),
    ("AVG(服务态度, 维修质量, 响应速度评分) * 20", "AVG(attitude, repair_quality, speed_rating) * 20"),
    ("ROUND(COALESCE(回访率, 站点回访率) * 100)", "ROUND(COALESCE(survey_rate, station_survey_rate) * 100)"),
    ("IF(ISNA(回访率), 60, 回访率 * 100)", "(60 if survey_rate is None else survey_rate * 100)"),
    ("ABS(一次修复率 - 站点一次修复率) < 0.05", "abs(first_fix_rate - station_first_fix_rate) < 0.05"),
    ("MIN(100, 工单数 / (考核天数 / 30) / 40 * 100)", "MIN(100, orders / (period_days / 30) / 40 * 100)"),
    ("一次修复率 * 40 + 客户满意度 * 8 + SLA达成率 * 20",
     "first_fix_rate * 40 + satisfaction * 8 + sla_rate * 20"),
]


# -- the baseline's helpers: plain Python, same results on these inputs ----------------------------------
def PIECEWISE(x, *p):  # noqa: N802 - the formula's own name
    xs, ys = p[0::2], p[1::2]
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = 1
    while xs[i] < x:
        i += 1
    return ys[i - 1] + (ys[i] - ys[i - 1]) * ((x - xs[i - 1]) / (xs[i] - xs[i - 1]))


def BAND(x, *p):  # noqa: N802
    best, result = None, 0
    for t, s in zip(p[0::2], p[1::2], strict=False):
        if x >= t and (best is None or t > best):
            best, result = t, s
    return result


def CLAMP(x, lo, hi):  # noqa: N802
    return min(max(x, lo), hi)


def ROUND(x, n=0):  # noqa: N802
    return float(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-n), ROUND_HALF_UP))


def COALESCE(*args):  # noqa: N802
    return next((a for a in args if a is not None), None)


HELPERS = {"__builtins__": {}, "PIECEWISE": PIECEWISE, "BAND": BAND, "CLAMP": CLAMP, "ROUND": ROUND,
           "COALESCE": COALESCE, "MAX": max, "MIN": min, "abs": abs,
           "AVG": lambda *a: sum(a) / len(a)}


def variable_sets(count: int, seed: int = 7) -> list[dict]:
    """Plausible metrics of one employee and their station; survey_rate missing for one in five."""
    rng = random.Random(seed)
    sets = []
    for _ in range(count):
        v = {
            "orders": float(rng.randint(5, 80)), "satisfaction": rng.uniform(2.5, 5.0),
            "attitude": rng.uniform(2.5, 5.0), "repair_quality": rng.uniform(2.5, 5.0),
            "speed_rating": rng.uniform(2.5, 5.0),
            "survey_rate": None if rng.random() < 0.2 else rng.uniform(0.3, 1.0),
            "first_fix_rate": rng.uniform(0.6, 1.0), "rework_rate": rng.uniform(0.0, 0.08),
            "avg_repair_hours": rng.uniform(1.0, 12.0), "avg_response_hours": rng.uniform(0.2, 30.0),
            "sla_rate": rng.uniform(0.6, 1.0), "parts_cost_per_order": rng.uniform(50, 700),
            "labor_cost_ratio": rng.uniform(0.1, 0.6), "parts_delay_count": float(rng.randint(0, 6)),
            "enterprise_share": rng.uniform(0.0, 1.0), "period_days": 30.0,
        }
        for code in ("first_fix_rate", "satisfaction", "survey_rate"):
            v[f"station_{code}"] = rng.uniform(0.5, 1.0) if code != "satisfaction" else rng.uniform(3.0, 5.0)
        sets.append(v)
    return sets


def time_engine(evaluators, sets) -> float:
    start = time.perf_counter()
    for values in sets:
        for evaluate in evaluators:
            evaluate(values)
    return time.perf_counter() - start


def time_baseline(codes, sets) -> float:
    start = time.perf_counter()
    for values in sets:
        for code in codes:
            eval(code, HELPERS, values)  # noqa: S307 - our own benchmark text, never user input
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    catalogue = builtin_catalogue()
    formulas = [compile_formula(text, catalogue) for text, _ in FORMULAS]
    codes = [compile(python, f"<formula {i}>", "eval") for i, (_, python) in enumerate(FORMULAS)]
    sets = variable_sets(args.sets)

    for values in sets[:500]:  # the two sides compute the same numbers
        for formula, code in zip(formulas, codes, strict=True):
            got, want = formula.evaluate(values), float(eval(code, HELPERS, values))  # noqa: S307
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (formula.source, got, want)

    evaluators = [f.evaluate for f in formulas]
    evaluations = len(sets) * len(formulas)
    engine = baseline = float("inf")
    for _ in range(args.repeat):  # interleaved, best of each: a busy machine slows both sides alike
        engine = min(engine, time_engine(evaluators, sets))
        baseline = min(baseline, time_baseline(codes, sets))
    print(json.dumps({
        "engine_evals_per_s": round(evaluations / engine),
        "baseline_evals_per_s": round(evaluations / baseline),
        "ratio": round(baseline / engine, 3),
        "formulas": len(formulas), "variable_sets": len(sets), "evaluations": evaluations,
        "repeat_best_of": args.repeat, "python": platform.python_version(),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
