"""Property tests with hypothesis.

1. Grammar-generated formulas and variables: the compiled closures (with and without constant folding),
   the traced closures and the simpleeval reference give the same value or the same error code.
2. Random text, from a formula-like alphabet and from all of Unicode: only FormulaError ever comes out, and
   every compile + evaluate + explain ends within SLOW seconds.

Hypothesis draws a seed and a small generator builds the expression from it (hypothesis' own recursive
strategies cost ~10 ms per example, too slow for 10,000); one test keeps native strategies so that a
failure there shrinks to a minimal formula. A failing seed prints its formula.

The default run generates 10,000 expressions in total; ``JIXIAO_FUZZ_EXAMPLES=100000`` runs a larger one
with the same proportions.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import CODES, RUNTIME_CODES, FormulaError, compile_formula
from app.engine.compile import Compiler, guarded_call
from app.engine.formula import Formula
from app.engine.functions import lookup
from app.engine.ops import finish
from app.engine.reference import reference_evaluate
from app.engine.validate import check
from tests.engine.support import CATALOGUE, cpu_clock

TOTAL = int(os.environ.get("JIXIAO_FUZZ_EXAMPLES", "10000"))
SLOW = 1.0  # CPU seconds of this thread, collector held off: catches a runaway evaluation, not a busy machine
SHARES = {"native": 0.05, "grammar": 0.45, "formula_like": 0.3, "any_text": 0.2}
assert abs(sum(SHARES.values()) - 1) < 1e-9


def fuzz_settings(kind: str):
    return settings(max_examples=max(1, round(TOTAL * SHARES[kind])), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


seeds = st.integers(min_value=0, max_value=2 ** 64 - 1)

# -- the grammar -------------------------------------------------------------------------------------------
GOOD_NAMES = ["x", "y", "w", "z", "n", "big", "一次修复率", "工单数", "orders", "TRUE", "false",
              "站点一次修复率"]
BAD_NAMES = ["nope", "_x", "s", "grade", "__import__"]
FUNCTIONS = ["IF", "if", "If", "AND", "and", "OR", "or", "NOT", "not", "MIN", "max", "SUM", "avg", "ROUND",
             "ABS", "CLAMP", "COALESCE", "ISNA", "PIECEWISE", "BAND", "isna", "coalesce", "piecewise"]
BAD_FUNCTIONS = ["foo", "eval", "getattr"]
BINARY = ["+", "-", "*", "/", "//", "%", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or"]
BAD_BINARY = ["<<", "&", "|", "@"]
SPECIAL_NUMBERS = ["0", "1", "2", "0.5", "1e15", "1e16", "9007199254740993", "1e-300", "2.5", "0.125", "-0.0",
                   "1e308", "3", "10", "100", "1_000", "0x1F"]
TAG_CALLS = ["TAGGED('新技术')", "TAGGED_RATE('新技术')", "tagged('无')", "TAGGED(x)", "TAGGED_RATE(\"x\")"]


def number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return str(rng.randint(-12, 12))
    if roll < 0.7:
        return repr(round(rng.uniform(-1e3, 1e3), rng.randint(0, 6)))
    return rng.choice(SPECIAL_NUMBERS)


def leaf(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return number(rng)
    if roll < 0.85:
        return rng.choice(GOOD_NAMES)
    if roll < 0.98:
        return rng.choice(TAG_CALLS)
    if roll < 0.99:  # a text where no text may stand (a tree has ~20 leaves: keep mistakes rare)
        return rng.choice(["'A'", '"B"', "“A”"])
    return rng.choice(BAD_NAMES)


def formula(rng: random.Random, depth: int = 0) -> str:
    """A random expression of the language, with a few mistakes and forbidden parts mixed in."""
    if depth >= 5 or rng.random() < 0.25 + 0.12 * depth:
        return leaf(rng)
    roll = rng.random()
    sub = lambda: formula(rng, depth + 1)  # noqa: E731
    if roll < 0.4:
        op = rng.choice(BAD_BINARY) if rng.random() < 0.03 else rng.choice(BINARY)
        return f"({sub()} {op} {sub()})"
    if roll < 0.5:
        return f"{rng.choice(['-', '+', 'not ', '-', '~' if rng.random() < 0.1 else '-'])}({sub()})"
    if roll < 0.58:
        return f"({sub()} if {sub()} else {sub()})"
    if roll < 0.66:
        ops = [rng.choice(["<", "<=", "==", ">", "!=", ">="]) for _ in range(rng.randint(2, 3))]
        parts = [sub()]
        for op in ops:
            parts += [op, sub()]
        return "(" + " ".join(parts) + ")"
    if roll < 0.7:  # text comparison, as grades and segments are compared
        name, op = rng.choice(["grade", "x", "z", "s"]), rng.choice(["==", "!="])
        return f"({name} {op} {rng.choice(['“A”', repr('B')])})"
    name = rng.choice(BAD_FUNCTIONS) if rng.random() < 0.03 else rng.choice(FUNCTIONS)
    if name.upper() in ("PIECEWISE", "BAND") and rng.random() < 0.6:  # mostly sensible tables
        points = sorted(rng.sample(range(-20, 100), rng.randint(1, 4)))
        args = [sub()] + [str(v) for p in points for v in (p, rng.randint(0, 100))]
        if name.upper() == "BAND" and rng.random() < 0.3:
            args.append(sub())
    else:
        info = lookup(name)
        count = rng.choice([1, 2, 3, 4, 5])
        if info is not None and rng.random() < 0.9:  # mostly the right number of arguments
            count = rng.randint(info.min_args, min(info.max_args or 5, 5))
            count += info.odd and count % 2 == 0
        args = [sub() for _ in range(count)]
    return f"{name}({', '.join(args)})"


def input_value(rng: random.Random):
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.55:
        return round(rng.uniform(-100, 100), rng.randint(0, 4))
    if roll < 0.75:
        return rng.randint(-5, 5)
    if roll < 0.8:
        return rng.choice([True, False])
    if roll < 0.97:
        return rng.choice([0.0, 1e15, -1e15, 0.5, 1e-9, 1.0, 2.0, 3.0])
    return rng.choice([1e16, float("nan"), float("inf"), "A", 10 ** 20])


def variables(rng: random.Random) -> dict:
    values = {name: input_value(rng) for name in ("x", "y", "w", "z", "n", "big", "first_fix_rate", "orders",
                                                  "station_first_fix_rate")}
    values["grade"] = rng.choice(["A", "B", None, 1.0])
    values["s"] = rng.choice(["text", 1.0, None])
    return values


def tags(rng: random.Random):
    if rng.random() < 0.2:
        return None
    return {word: rng.randint(0, 5) for word in ("新技术", "无", "x") if rng.random() < 0.7}


# -- 1. closures against the reference ---------------------------------------------------------------------
def outcome(call):
    try:
        return "ok", call()
    except FormulaError as exc:
        assert exc.code in CODES
        return "error", exc.code


def agree(text: str, values: dict, tag_map) -> None:
    """Closures (unfolded, folded, traced) and the simpleeval reference: same value or same error code."""
    with cpu_clock() as clock:
        compare(text, values, tag_map)
    assert clock.seconds < SLOW, text


def compare(text: str, values: dict, tag_map) -> None:
    try:
        checked = check(text, CATALOGUE)
    except FormulaError as exc:
        assert exc.code in CODES
        return
    reference = outcome(lambda: reference_evaluate(checked.tree, values, tag_map))
    unfolded = Compiler(text, fold=False).build(checked.tree)[0]
    assert outcome(lambda: finish(guarded_call(unfolded, values, tag_map))) == reference, (text, values)
    try:
        compiled = Formula(checked)
    except FormulaError as exc:  # a constant part fails: reported when saved, which the reference cannot see
        assert exc.code in RUNTIME_CODES, (text, exc.code)
        return
    fast = outcome(lambda: compiled.evaluate(values, tag_map))
    assert fast == reference, (text, values)
    assert outcome(lambda: compiled.explain(values, tag_map)[0]) == fast, text
    if fast[0] == "ok":
        assert fast[1] is None or type(fast[1]) is float
        compiled.describe(values, tag_map)


@fuzz_settings("grammar")
@given(seeds)
def test_generated_formulas_agree_with_the_simpleeval_reference(seed):
    rng = random.Random(seed)
    agree(formula(rng), variables(rng), tags(rng))


native_leaves = st.one_of(st.integers(-12, 12).map(str),
                          st.sampled_from(SPECIAL_NUMBERS + GOOD_NAMES + TAG_CALLS))
native_formulas = st.recursive(native_leaves, lambda children: st.one_of(
    st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    st.tuples(st.sampled_from(["-", "not "]), children).map(lambda t: f"{t[0]}({t[1]})"),
    st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    st.tuples(st.sampled_from(FUNCTIONS), st.lists(children, min_size=1, max_size=4)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"),
), max_leaves=10)


@fuzz_settings("native")
@given(native_formulas, seeds)
def test_shrinkable_formulas_agree_with_the_simpleeval_reference(text, seed):
    rng = random.Random(seed)
    agree(text, variables(rng), tags(rng))


# -- 2. random text ------------------------------------------------------------------------------------------
PIECES = list("0123456789.+-*/%()<>=!,'\" _abcxyzeEj\n\t") + [
    "（", "）", "，", "×", "÷", "＋", "一次修复率", "工单数", "≥", "\u3000", "\x00", "\\", "#", "$", "[",
    "]", "{", "}",
    ":", "@", "~", "^", "&", "|", " if ", " else ", " and ", " or ", "not ", "lambda", "__",
    "TAGGED(", "'新技术'",
    "IF(", "if(", "and(", "MAX(", "PIECEWISE(", "**", "//", "“", "”", "ｘ", "\u200b", "\ud800", "f'",
    "b'", "...",
    "x", "y", "z", "w", "1e15", "9" * 20, "grade", "==",
]


def survive(text: str, values: dict, tag_map) -> None:
    with cpu_clock() as clock:
        try:
            compiled = compile_formula(text, CATALOGUE)
            compiled.evaluate(values, tag_map)
            compiled.explain(values, tag_map)
            compiled.describe(values, tag_map)
        except FormulaError as exc:
            assert exc.code in CODES
            assert exc.position is None or 0 <= exc.position <= len(text), (text, exc.position)
            exc.to_dict("en")
    assert clock.seconds < SLOW, repr(text)


@fuzz_settings("formula_like")
@given(seeds)
def test_formula_like_text_only_raises_formula_error(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))
    survive(text, variables(rng), tags(rng))


def any_character(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return chr(rng.randint(0x20, 0x7E))
    if roll < 0.8:
        return chr(rng.randint(0x80, 0xFFFF))
    return chr(rng.randint(0, 0x10FFFF))


@fuzz_settings("any_text")
@given(seeds)
def test_any_text_only_raises_formula_error(seed):
    rng = random.Random(seed)
    length = rng.choice([rng.randint(0, 30), rng.randint(0, 200), rng.randint(990, 1010)])
    survive("".join(any_character(rng) for _ in range(length)), variables(rng), tags(rng))
