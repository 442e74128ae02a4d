"""The arithmetic of the language on plain values, one small function per operator.

Values are floats (bools from comparisons count as 1/0), None for N/A, and strings only where a string may
stand (operands of == and !=). N/A propagates; every result is checked against ±MAX_MAGNITUDE, so nothing
can grow to inf and no nan can appear. The reference evaluator uses these functions as its operator table;
the compiled closures inline the same rules (tests/engine prove the two agree).
"""

from __future__ import annotations

import math
import numbers
from decimal import ROUND_HALF_UP, Context, Decimal

from .errors import fail
from .limits import LIMIT_TEXT, MAX_EXPONENT10, MAX_MAGNITUDE, ROUND_DIGITS

M = MAX_MAGNITUDE


def too_big():
    return fail("result_too_big", limit=LIMIT_TEXT)


def bounded(r):
    if -M <= r <= M:
        return r
    raise too_big()


def finish(result):
    """A closure's raw result as the engine's answer: a finite float or None."""
    if result is None:
        return None
    if result.__class__ is float:
        return result + 0.0  # -0.0 prints as 0
    if isinstance(result, bool | int):
        return float(result)
    raise fail("result_text")


def add(a, b):
    return None if a is None or b is None else bounded(a + b)


def sub(a, b):
    return None if a is None or b is None else bounded(a - b)


def mul(a, b):
    return None if a is None or b is None else bounded(a * b)


def truediv(a, b):
    if a is None or b is None:
        return None
    if not b:
        raise fail("divide_by_zero")
    return bounded(a / b)


def floordiv(a, b):
    if a is None or b is None:
        return None
    if not b:
        raise fail("divide_by_zero")
    return bounded(a // b)


def mod(a, b):
    if a is None or b is None:
        return None
    if not b:
        raise fail("divide_by_zero")
    return bounded(a % b)


def power(a, b):
    """a ** b, refused before computing when the result would leave the bounds or the real numbers."""
    if a is None or b is None:
        return None
    if a == 0:
        if b < 0:
            raise fail("divide_by_zero")
        return 1.0 if b == 0 else 0.0
    if a < 0 and not float(b).is_integer():
        raise fail("not_real")
    if abs(a) != 1 and b * math.log10(abs(a)) > MAX_EXPONENT10 + 1e-9:
        raise too_big()
    return bounded(float(a) ** float(b))


def neg(a):
    return None if a is None else -a


def pos(a):
    return None if a is None else +a


def not_(a):
    return None if a is None else not a


def eq(a, b):
    return None if a is None or b is None else a == b


def ne(a, b):
    return None if a is None or b is None else a != b


def lt(a, b):
    return None if a is None or b is None else a < b


def le(a, b):
    return None if a is None or b is None else a <= b


def gt(a, b):
    return None if a is None or b is None else a > b


def ge(a, b):
    return None if a is None or b is None else a >= b


# -- functions of the library that evaluate all their arguments --------------------------------------------
def _present(args):
    return [a for a in args if a is not None]


def min_of(present):
    return float(min(present))


def max_of(present):
    return float(max(present))


def sum_of(present):
    return bounded(math.fsum(present))  # fsum: correctly rounded, whatever the order


def avg_of(present):
    return bounded(math.fsum(present) / len(present))


# MIN, MAX, SUM, AVG: the function of the values that are not N/A (N/A when none is).
AGGREGATES = {"MIN": min_of, "MAX": max_of, "SUM": sum_of, "AVG": avg_of}


def fn_min(*args):
    present = _present(args)
    return min_of(present) if present else None


def fn_max(*args):
    present = _present(args)
    return max_of(present) if present else None


def fn_sum(*args):
    present = _present(args)
    return sum_of(present) if present else None


def fn_avg(*args):
    present = _present(args)
    return avg_of(present) if present else None


def fn_abs(x):
    return None if x is None else float(abs(x))


def fn_isna(x):
    return x is None


def fn_coalesce(*args):
    for a in args:
        if a is not None:
            return a
    return None


def fn_clamp(x, lo, hi):
    """min(max(x, lo), hi): with lo > hi the result is hi."""
    if x is None or lo is None or hi is None:
        return None
    return float(min(max(x, lo), hi))


_ROUND_CONTEXT = Context(prec=60)
_QUANTA = {n: Decimal(1).scaleb(-n) for n in range(-ROUND_DIGITS, ROUND_DIGITS + 1)}


def fn_round(x, n=0.0):
    """Half away from zero on the decimal digits the user sees, as Excel does: ROUND(2.675, 2) = 2.68.
    (The C decimal module makes this as fast as rounding the float by hand, and exact.)"""
    if x is None or n is None:
        return None
    digits = int(max(-ROUND_DIGITS, min(ROUND_DIGITS, n)))  # Excel truncates a fractional n
    return float(Decimal(repr(float(x))).quantize(_QUANTA[digits], ROUND_HALF_UP, _ROUND_CONTEXT)) + 0.0


def check_increasing(xs, function="PIECEWISE"):
    for i in range(1, len(xs)):
        if not xs[i - 1] < xs[i]:
            raise fail("increasing", function=function)


def interpolate(x, xs, ys):
    """Linear interpolation through (xs, ys), xs strictly increasing, clamped at both ends."""
    if x <= xs[0]:
        return float(ys[0])
    if x >= xs[-1]:
        return float(ys[-1])
    i = 1
    while xs[i] < x:
        i += 1
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return float(y0 + (y1 - y0) * ((x - x0) / (x1 - x0)))


def fn_piecewise(x, *points):
    """PIECEWISE(x, x1, y1, x2, y2, …): N/A when any argument is."""
    if x is None or None in points:  # the points are numbers or None: "in" is "is" here
        return None
    xs = points[0::2]
    check_increasing(xs)
    return interpolate(x, xs, points[1::2])


def step(x, thresholds, scores, default):
    """The score of the highest threshold that x reaches, else ``default``."""
    best = None
    result = default
    for threshold, score in zip(thresholds, scores, strict=True):
        if x >= threshold and (best is None or threshold > best):
            best, result = threshold, score
    return None if result is None else float(result)


def fn_band(x, *rest):
    """BAND(x, t1, s1, t2, s2, … [, default]): N/A when any argument is; 0 below every threshold unless a
    default is given last."""
    if x is None or any(r is None for r in rest):
        return None
    default = 0.0
    if len(rest) % 2:
        default, rest = rest[-1], rest[:-1]
    return step(x, rest[0::2], rest[1::2], default)


# -- input values ------------------------------------------------------------------------------------------
def coerce_number(name: str, x):
    """An input value as a number of the language (bool stays bool), None for N/A; refuses the rest."""
    if x is None:
        return None
    kind = x.__class__
    if kind is float:
        if x != x or x in (math.inf, -math.inf):
            raise fail("input_not_finite", name=name)
        if -M <= x <= M:
            return x
        raise fail("input_too_big", name=name, limit=LIMIT_TEXT)
    if kind is bool:
        return x
    if kind is str:
        raise fail("text_value", name=name)
    if isinstance(x, int):  # exact: compare before converting, a huge int must not become inf
        if -M <= x <= M:
            return float(x)
        raise fail("input_too_big", name=name, limit=LIMIT_TEXT)
    if isinstance(x, numbers.Real | Decimal):  # Decimal from a database, numpy floats, Fraction
        try:
            number = float(x)
        except (ValueError, OverflowError):  # a signalling NaN, a Fraction beyond float
            raise fail("input_not_finite", name=name) from None
        if math.isinf(number):
            raise fail("input_too_big", name=name, limit=LIMIT_TEXT)
        return coerce_number(name, number)
    raise fail("bad_value", name=name, type=kind.__name__)


def coerce_text(name: str, x):
    """As coerce_number, but a text passes (next to == and !=)."""
    return x if x.__class__ is str else coerce_number(name, x)


def tag_count(tags, word: str):
    """TAGGED(word): the count in ``tags``, 0 when absent, N/A without tags."""
    if tags is None:
        return None
    count = tags.get(word, 0)
    if count is None:
        return None
    if count.__class__ is str:
        raise fail("bad_tag_count", name=word)
    try:
        return coerce_number(word, count)
    except Exception:
        raise fail("bad_tag_count", name=word) from None


def tag_rate(tags, word: str, orders):
    """TAGGED_RATE(word): TAGGED(word) / orders, N/A when either is N/A or orders is 0."""
    count = tag_count(tags, word)
    if count is None or orders is None or not orders:
        return None
    return bounded(count / orders)
