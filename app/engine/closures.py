"""The closures a formula compiles to, one small factory per shape of node.

Every closure is ``f(values, tags)`` and either returns a value (float, bool, a text next to ==, None for
N/A) or raises FormulaError with the position of the node that failed. They inline the rules of ops.py
(N/A propagates, every result within ±MAX_MAGNITUDE) because a function call per operator costs about as
much as the operator itself; the property tests hold them to the simpleeval reference, which calls ops.py.
The common shapes of a KPI formula (``x * 100``, ``x >= 0.9``, ``100 - x``) have factories of their own.
"""

from __future__ import annotations

import ast
import operator

from . import ops
from .errors import FormulaError, fail
from .limits import LIMIT_TEXT, MAX_MAGNITUDE

M = MAX_MAGNITUDE


def too_big(position):
    return fail("result_too_big", position, limit=LIMIT_TEXT)


def constant(value):
    def known(v, t):
        return value
    return known


# -- names -------------------------------------------------------------------------------------------------
def read(coerce, code, x, position):
    """The slow half of reading a name: N/A, ints, Decimals, texts, refused values."""
    try:
        return coerce(code, x)
    except FormulaError as exc:
        raise exc.at(position) from None


def load_number(code, position):
    coerce = ops.coerce_number

    def load(v, t):
        x = v.get(code)
        if x.__class__ is float and -M <= x <= M:
            return x
        return read(coerce, code, x, position)
    return load


def load_text(code, position):
    coerce = ops.coerce_text

    def load(v, t):
        return read(coerce, code, v.get(code), position)
    return load


# A name next to a constant (``一次修复率 * 100``, ``工单数 >= 30``) is the commonest shape of a KPI formula:
# these closures read the variable themselves instead of calling a loader, one call less per name.
def name_times(code, name_at, c, position):
    coerce = ops.coerce_number

    def times(v, t):
        a = v.get(code)
        if a.__class__ is not float or not -M <= a <= M:
            a = read(coerce, code, a, name_at)
            if a is None:
                return None
        r = a * c
        if -M <= r <= M:
            return r
        raise too_big(position)
    return times


def name_plus(code, name_at, c, position):
    coerce = ops.coerce_number

    def plus(v, t):
        a = v.get(code)
        if a.__class__ is not float or not -M <= a <= M:
            a = read(coerce, code, a, name_at)
            if a is None:
                return None
        r = a + c
        if -M <= r <= M:
            return r
        raise too_big(position)
    return plus


def name_compare(op, code, name_at, c):
    coerce = ops.coerce_number

    def compare(v, t):
        a = v.get(code)
        if a.__class__ is not float or not -M <= a <= M:
            a = read(coerce, code, a, name_at)
            if a is None:
                return None
        return op(a, c)
    return compare


# -- arithmetic: + - * / by hand (the hot path), the rest through ops ------------------------------------
def add(fa, fb, position):
    def add(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        r = a + b
        if -M <= r <= M:
            return r
        raise too_big(position)
    return add


def add_const(fa, c, position):
    def add(v, t):
        a = fa(v, t)
        if a is None:
            return None
        r = a + c
        if -M <= r <= M:
            return r
        raise too_big(position)
    return add


def sub(fa, fb, position):
    def sub(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        r = a - b
        if -M <= r <= M:
            return r
        raise too_big(position)
    return sub


def sub_from_const(c, fb, position):
    def sub(v, t):
        b = fb(v, t)
        if b is None:
            return None
        r = c - b
        if -M <= r <= M:
            return r
        raise too_big(position)
    return sub


def mul(fa, fb, position):
    def mul(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        r = a * b
        if -M <= r <= M:
            return r
        raise too_big(position)
    return mul


def mul_const(fa, c, position):
    def mul(v, t):
        a = fa(v, t)
        if a is None:
            return None
        r = a * c
        if -M <= r <= M:
            return r
        raise too_big(position)
    return mul


def div(fa, fb, position):
    def div(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        if not b:
            raise fail("divide_by_zero", position)
        r = a / b
        if -M <= r <= M:
            return r
        raise too_big(position)
    return div


def div_const(fa, c, position):
    def div(v, t):
        a = fa(v, t)
        if a is None:
            return None
        r = a / c
        if -M <= r <= M:
            return r
        raise too_big(position)
    return div


def generic(function, fs, position):
    """Any operator or eager library function: evaluate the arguments left to right, then apply."""
    if len(fs) == 1:
        (fa,) = fs

        def apply1(v, t):
            x = fa(v, t)
            try:
                return function(x)
            except FormulaError as exc:
                raise exc.at(position) from None
        return apply1
    if len(fs) == 2:
        fa, fb = fs

        def apply2(v, t):
            a = fa(v, t)
            b = fb(v, t)
            try:
                return function(a, b)
            except FormulaError as exc:
                raise exc.at(position) from None
        return apply2

    if len(fs) == 3:
        fa, fb, fc = fs

        def apply3(v, t):
            a = fa(v, t)
            b = fb(v, t)
            c = fc(v, t)
            try:
                return function(a, b, c)
            except FormulaError as exc:
                raise exc.at(position) from None
        return apply3

    def apply(v, t):
        args = [f(v, t) for f in fs]
        try:
            return function(*args)
        except FormulaError as exc:
            raise exc.at(position) from None
    return apply


def aggregate(function, fs, position):
    """MIN, MAX, SUM, AVG: every argument evaluated, the N/A ones skipped."""
    def aggregate(v, t):
        present = []
        for f in fs:
            x = f(v, t)
            if x is not None:
                present.append(x)
        if not present:
            return None
        try:
            return function(present)
        except FormulaError as exc:
            raise exc.at(position) from None
    return aggregate


BINARY = {ast.Add: ops.add, ast.Sub: ops.sub, ast.Mult: ops.mul, ast.Div: ops.truediv,
           ast.FloorDiv: ops.floordiv, ast.Mod: ops.mod, ast.Pow: ops.power}
DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)


# -- comparisons and logic ----------------------------------------------------------------------------------
COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}


def ge_const(fa, c):
    def ge(v, t):
        a = fa(v, t)
        return None if a is None else a >= c
    return ge


def gt_const(fa, c):
    def gt(v, t):
        a = fa(v, t)
        return None if a is None else a > c
    return gt


def le_const(fa, c):
    def le(v, t):
        a = fa(v, t)
        return None if a is None else a <= c
    return le


def lt_const(fa, c):
    def lt(v, t):
        a = fa(v, t)
        return None if a is None else a < c
    return lt


COMPARE_CONST = {ast.GtE: ge_const, ast.Gt: gt_const, ast.LtE: le_const, ast.Lt: lt_const}


def compare(op, fa, fb):
    def compare(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        return op(a, b)
    return compare


def chain(operators, fs):
    """a < b < c: each link in turn; False as soon as one fails, N/A when a link is N/A and none fails."""
    first = fs[0]
    links = list(zip(operators, fs[1:], strict=True))

    def chain(v, t):
        left = first(v, t)
        na = False
        for op, f in links:
            right = f(v, t)
            if left is None or right is None:
                na = True
            elif not op(left, right):
                return False
            left = right
        return None if na else True
    return chain


def all_of(fs):
    if len(fs) == 2:
        fa, fb = fs

        def and2(v, t):
            a = fa(v, t)
            if a is not None and not a:
                return False
            b = fb(v, t)
            if b is not None and not b:
                return False
            return None if a is None or b is None else True
        return and2

    def and_(v, t):
        na = False
        for f in fs:
            x = f(v, t)
            if x is None:
                na = True
            elif not x:
                return False
        return None if na else True
    return and_


def any_of(fs):
    def or_(v, t):
        na = False
        for f in fs:
            x = f(v, t)
            if x is None:
                na = True
            elif x:
                return True
        return None if na else False
    return or_


def negation(fa):
    def not_(v, t):
        a = fa(v, t)
        return None if a is None else not a
    return not_


def minus(fa):
    def neg(v, t):
        a = fa(v, t)
        return None if a is None else -a
    return neg


def if_else(fc, fa, fb):
    def if_(v, t):
        c = fc(v, t)
        if c is None:
            return None
        return fa(v, t) if c else fb(v, t)
    return if_


def na(v, t):
    return None


def coalesce2(fa, fb):
    def coalesce(v, t):
        a = fa(v, t)
        b = fb(v, t)  # every argument is evaluated: an error in the default is still an error
        return a if a is not None else b
    return coalesce


def clamp_const(fx, lo, hi):
    """CLAMP(x, lo, hi) with constant bounds: min(max(x, lo), hi), spelled out."""
    def clamp(v, t):
        x = fx(v, t)
        if x is None:
            return None
        if lo > x:
            x = lo
        return float(hi if hi < x else x)
    return clamp


def piecewise(fx, xs, ys):
    interpolate = ops.interpolate

    def piecewise(v, t):
        x = fx(v, t)
        return None if x is None else interpolate(x, xs, ys)
    return piecewise


def piecewise_some(fx, points, variable, position):
    """PIECEWISE whose points are partly variable (``PIECEWISE(value, 0.6, 0, target, 90, 1, 100)``):
    ``points`` holds the constants in place, ``variable`` (index, closure) the others, evaluated left to
    right after x as the generic call would; then ops.fn_piecewise inlined (N/A, increasing x's,
    interpolation), without a list of every argument and slices of it per call."""
    interpolate = ops.interpolate
    last = len(points) - 1

    def piecewise(v, t):
        x = fx(v, t)
        p = list(points)
        for i, f in variable:
            p[i] = f(v, t)
        if x is None or None in p:  # the points are numbers or None: "in" is "is" here
            return None
        xs = p[0::2]
        for i in range(0, last - 1, 2):
            if not p[i] < p[i + 2]:
                raise fail("increasing", position, function="PIECEWISE")
        return interpolate(x, xs, p[1::2])
    return piecewise


def band(fx, thresholds, scores, default):
    step = ops.step

    def band(v, t):
        x = fx(v, t)
        return None if x is None else step(x, thresholds, scores, default)
    return band


def tagged(word, position, traced):
    def tagged(v, t):
        try:
            return ops.tag_count(t.tags if traced else t, word)
        except FormulaError as exc:
            raise exc.at(position) from None
    return tagged


def tagged_rate(word, load_orders, position, traced):
    def tagged_rate(v, t):
        orders = load_orders(v, t)
        try:
            return ops.tag_rate(t.tags if traced else t, word, orders)
        except FormulaError as exc:
            raise exc.at(position) from None
    return tagged_rate
