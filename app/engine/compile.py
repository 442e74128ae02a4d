"""Compile a validated tree into nested Python closures: validate and compile once, evaluate many times.

Each node becomes a function ``f(values, tags)``; nothing the user typed is ever handed to ``eval`` or
``exec``. Constant sub-expressions are computed once here (``100 / 3``, ``-5``), so a constant that fails
(``1 / 0``, ``10 ** 99``) is an error when the formula is saved, not at appraisal time. The common shapes
(``x * 100``, ``x >= 0.9``, two-way IF) get closures of their own: speed is why this module exists, and
``tests/engine/test_reference.py`` proves every shortcut against the simpleeval reference.

A closure either returns a value (float, bool, str next to ==, None for N/A) or raises FormulaError with
the position of the node that failed.
"""

from __future__ import annotations

import ast
import operator

from . import ops
from .errors import FormulaError, fail
from .functions import EAGER
from .limits import LIMIT_TEXT, MAX_MAGNITUDE

M = MAX_MAGNITUDE
NOT_CONST = object()  # marks a node whose value is not known before evaluation
_EMPTY: dict = {}


def _too_big(position):
    return fail("result_too_big", position, limit=LIMIT_TEXT)


def _constant(value):
    def constant(v, t):
        return value
    return constant


# -- names -------------------------------------------------------------------------------------------------
def _load_number(code, position):
    coerce = ops.coerce_number

    def load(v, t):
        x = v.get(code)
        if x.__class__ is float and -M <= x <= M:
            return x
        try:
            return coerce(code, x)
        except FormulaError as exc:
            raise exc.at(position) from None
    return load


def _load_text(code, position):
    coerce = ops.coerce_text

    def load(v, t):
        try:
            return coerce(code, v.get(code))
        except FormulaError as exc:
            raise exc.at(position) from None
    return load


def _read(coerce, code, x, position):
    """The slow half of an inlined name: N/A, ints, Decimals, refused values."""
    try:
        return coerce(code, x)
    except FormulaError as exc:
        raise exc.at(position) from None


# A name next to a constant (``一次修复率 * 100``, ``工单数 >= 30``) is the commonest shape of a KPI formula:
# these closures read the variable themselves instead of calling a loader, one call less per name.
def _name_times(code, name_at, c, position):
    coerce = ops.coerce_number

    def times(v, t):
        a = v.get(code)
        if a.__class__ is not float or not -M <= a <= M:
            a = _read(coerce, code, a, name_at)
            if a is None:
                return None
        r = a * c
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return times


def _name_plus(code, name_at, c, position):
    coerce = ops.coerce_number

    def plus(v, t):
        a = v.get(code)
        if a.__class__ is not float or not -M <= a <= M:
            a = _read(coerce, code, a, name_at)
            if a is None:
                return None
        r = a + c
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return plus


def _name_compare(op, code, name_at, c):
    coerce = ops.coerce_number

    def compare(v, t):
        a = v.get(code)
        if a.__class__ is not float or not -M <= a <= M:
            a = _read(coerce, code, a, name_at)
            if a is None:
                return None
        return op(a, c)
    return compare


# -- arithmetic: + - * / by hand (the hot path), the rest through ops -----------------------------------------
def _add(fa, fb, position):
    def add(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        r = a + b
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return add


def _add_const(fa, c, position):
    def add(v, t):
        a = fa(v, t)
        if a is None:
            return None
        r = a + c
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return add


def _sub(fa, fb, position):
    def sub(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        r = a - b
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return sub


def _sub_from_const(c, fb, position):
    def sub(v, t):
        b = fb(v, t)
        if b is None:
            return None
        r = c - b
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return sub


def _mul(fa, fb, position):
    def mul(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        r = a * b
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return mul


def _mul_const(fa, c, position):
    def mul(v, t):
        a = fa(v, t)
        if a is None:
            return None
        r = a * c
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return mul


def _div(fa, fb, position):
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
        raise _too_big(position)
    return div


def _div_const(fa, c, position):
    def div(v, t):
        a = fa(v, t)
        if a is None:
            return None
        r = a / c
        if -M <= r <= M:
            return r
        raise _too_big(position)
    return div


def _generic(function, fs, position):
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

    def apply(v, t):
        args = [f(v, t) for f in fs]
        try:
            return function(*args)
        except FormulaError as exc:
            raise exc.at(position) from None
    return apply


def _aggregate(function, fs, position):
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


_BINARY = {ast.Add: ops.add, ast.Sub: ops.sub, ast.Mult: ops.mul, ast.Div: ops.truediv,
           ast.FloorDiv: ops.floordiv, ast.Mod: ops.mod, ast.Pow: ops.power}
_DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)


# -- comparisons and logic ----------------------------------------------------------------------------------
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}


def _ge_const(fa, c):
    def ge(v, t):
        a = fa(v, t)
        return None if a is None else a >= c
    return ge


def _gt_const(fa, c):
    def gt(v, t):
        a = fa(v, t)
        return None if a is None else a > c
    return gt


def _le_const(fa, c):
    def le(v, t):
        a = fa(v, t)
        return None if a is None else a <= c
    return le


def _lt_const(fa, c):
    def lt(v, t):
        a = fa(v, t)
        return None if a is None else a < c
    return lt


_COMPARE_CONST = {ast.GtE: _ge_const, ast.Gt: _gt_const, ast.LtE: _le_const, ast.Lt: _lt_const}


def _compare(op, fa, fb):
    def compare(v, t):
        a = fa(v, t)
        b = fb(v, t)
        if a is None or b is None:
            return None
        return op(a, b)
    return compare


def _chain(operators, fs):
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


def _and(fs):
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


def _or(fs):
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


def _not(fa):
    def not_(v, t):
        a = fa(v, t)
        return None if a is None else not a
    return not_


def _neg(fa):
    def neg(v, t):
        a = fa(v, t)
        return None if a is None else -a
    return neg


def _if(fc, fa, fb):
    def if_(v, t):
        c = fc(v, t)
        if c is None:
            return None
        return fa(v, t) if c else fb(v, t)
    return if_


def _na(v, t):
    return None


def _coalesce2(fa, fb):
    def coalesce(v, t):
        a = fa(v, t)
        b = fb(v, t)  # every argument is evaluated: an error in the default is still an error
        return a if a is not None else b
    return coalesce


def _piecewise(fx, xs, ys):
    interpolate = ops.interpolate

    def piecewise(v, t):
        x = fx(v, t)
        return None if x is None else interpolate(x, xs, ys)
    return piecewise


def _band(fx, thresholds, scores, default):
    step = ops.step

    def band(v, t):
        x = fx(v, t)
        return None if x is None else step(x, thresholds, scores, default)
    return band


def _tagged(word, position, traced):
    def tagged(v, t):
        try:
            return ops.tag_count(t.tags if traced else t, word)
        except FormulaError as exc:
            raise exc.at(position) from None
    return tagged


def _tagged_rate(word, load_orders, position, traced):
    def tagged_rate(v, t):
        orders = load_orders(v, t)
        try:
            return ops.tag_rate(t.tags if traced else t, word, orders)
        except FormulaError as exc:
            raise exc.at(position) from None
    return tagged_rate


class Compiler:
    """Builds the closure of a normalised tree (see validate.py).

    ``fold``: compute constant sub-expressions now (off only in tests that compare with the reference
    node by node). ``trace``: every non-constant node also appends a TraceStep to ``t.steps`` (``t`` is then
    a TraceContext holding the tags), and no shortcut skips a node, so the trace shows every step.
    """

    def __init__(self, source: str, fold: bool = True, trace: bool = False, step_type=None):
        self.source = source
        self.fold = fold
        self.trace = trace
        self.step_type = step_type

    def build(self, node: ast.expr):
        """(closure, constant value or NOT_CONST)."""
        fn, const = getattr(self, "_" + type(node).__name__)(node)
        if self.trace and const is NOT_CONST:
            fn = self._traced(fn, node)
        return fn, const

    def _traced(self, fn, node):
        source, start, end, step = self.source[node.jx_start:node.jx_end], node.jx_start, node.jx_end, self.step_type

        def traced(v, t):
            r = fn(v, t)
            t.steps.append(step(source, r, start, end))
            return r
        return traced

    def _folded(self, fn, consts):
        """fn itself, or a constant closure when every input is constant (its error is a static error)."""
        if not self.fold or any(c is NOT_CONST for c in consts):
            return fn, NOT_CONST
        value = guarded_call(fn, _EMPTY, None)
        return _constant(value), value

    # -- leaves --------------------------------------------------------------------------------------
    def _Constant(self, node):
        return _constant(node.value), node.value

    def _Name(self, node):
        load = _load_text if node.jx_str_ok else _load_number
        return load(node.id, node.jx_start), NOT_CONST

    # -- operators -----------------------------------------------------------------------------------
    def _BinOp(self, node):
        (fa, ca), (fb, cb) = self.build(node.left), self.build(node.right)
        op, position = type(node.op), node.jx_start
        if self.fold and cb is not NOT_CONST and op in _DIVISIONS and cb is not None and not cb:
            raise fail("divide_by_zero", position)  # x / 0 is wrong whatever x is: say so when saving
        fast = None if self.trace else self._fast_binary(node, op, fa, ca, fb, cb, position)
        if fast is not None:
            return self._folded(fast, (ca, cb))
        if op is ast.Add:
            fn = _add(fa, fb, position)
        elif op is ast.Sub:
            fn = _sub(fa, fb, position)
        elif op is ast.Mult:
            fn = _mul(fa, fb, position)
        elif op is ast.Div:
            fn = _div(fa, fb, position)
        else:
            fn = _generic(_BINARY[op], (fa, fb), position)
        return self._folded(fn, (ca, cb))

    def _fast_binary(self, node, op, fa, ca, fb, cb, position):
        """Closures with one constant operand (``x * 100``, ``100 - x``, ``x / 3``), or None."""
        if (ca is NOT_CONST) == (cb is NOT_CONST):
            return None  # both variable, or both constant (folded anyway)
        const_left = cb is NOT_CONST
        f, side, c = (fb, node.right, ca) if const_left else (fa, node.left, cb)
        if c.__class__ is not float:
            return None
        name = _plain_name(side)
        if op is ast.Sub and not const_left:
            op, c = ast.Add, -c  # x - c is x + (-c), bit for bit
        if op is ast.Add:
            return _name_plus(*name, c, position) if name else _add_const(f, c, position)
        if op is ast.Mult:
            return _name_times(*name, c, position) if name else _mul_const(f, c, position)
        if op is ast.Sub:
            return _sub_from_const(c, f, position)
        if op is ast.Div and not const_left and c:
            return _div_const(f, c, position)
        return None

    def _UnaryOp(self, node):
        fa, ca = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            fn = _neg(fa)
        elif isinstance(node.op, ast.Not):
            fn = _not(fa)
        else:
            fn = _generic(ops.pos, (fa,), node.jx_start)
        return self._folded(fn, (ca,))

    def _Compare(self, node):
        built = [self.build(n) for n in (node.left, *node.comparators)]
        fs, consts = [f for f, _ in built], [c for _, c in built]
        if len(node.ops) == 1:
            op = type(node.ops[0])
            c = consts[1]
            name = _plain_name(node.left)
            if self.trace or c.__class__ is not float or consts[0] is not NOT_CONST:
                fn = _compare(_COMPARE[op], fs[0], fs[1])
            elif name is not None:
                fn = _name_compare(_COMPARE[op], *name, c)
            elif op in _COMPARE_CONST:
                fn = _COMPARE_CONST[op](fs[0], c)
            else:
                fn = _compare(_COMPARE[op], fs[0], fs[1])
        else:
            fn = _chain([_COMPARE[type(op)] for op in node.ops], fs)
        return self._folded(fn, consts)

    def _BoolOp(self, node):
        built = [self.build(n) for n in node.values]
        fs = [f for f, _ in built]
        fn = _and(fs) if isinstance(node.op, ast.And) else _or(fs)
        return self._folded(fn, [c for _, c in built])

    def _IfExp(self, node):
        return self._conditional(node.test, node.body, node.orelse)

    def _conditional(self, test, body, orelse):
        (fc, cc), (fa, ca) = self.build(test), self.build(body)
        fb, cb = self.build(orelse) if orelse is not None else (_na, None)
        if self.fold and cc is not NOT_CONST:  # a constant condition picks its branch now
            if cc is None:
                return _na, None
            return (fa, ca) if cc else (fb, cb)
        return _if(fc, fa, fb), NOT_CONST

    # -- calls ---------------------------------------------------------------------------------------
    def _Call(self, node):
        name, args, position = node.func.id, node.args, node.jx_start
        if name == "IF":
            return self._conditional(args[0], args[1], args[2] if len(args) > 2 else None)
        if name == "TAGGED":
            return _tagged(args[0].value, position, self.trace), NOT_CONST
        if name == "TAGGED_RATE":
            orders = _load_number("orders", position)  # read, not a step of the trace
            return _tagged_rate(args[0].value, orders, position, self.trace), NOT_CONST
        built = [self.build(a) for a in args]
        fs, consts = [f for f, _ in built], [c for _, c in built]
        if name in ("AND", "OR"):
            return self._folded(_and(fs) if name == "AND" else _or(fs), consts)
        if name == "NOT":
            return self._folded(_not(fs[0]), consts)
        if name in ops.AGGREGATES:
            return self._folded(_aggregate(ops.AGGREGATES[name], fs, position), consts)
        if name == "COALESCE" and len(fs) == 2:
            return self._folded(_coalesce2(*fs), consts)
        if name in ("PIECEWISE", "BAND") and self.fold and all(c is not NOT_CONST for c in consts[1:]):
            special = self._table(name, fs[0], consts[1:], position)
            if special is not None:
                return self._folded(special, consts)
        return self._folded(_generic(EAGER[name], fs, position), consts)

    @staticmethod
    def _table(name, fx, points, position):
        """PIECEWISE / BAND with constant points: checked now, looked up fast later."""
        if any(p is None for p in points):
            return None
        if name == "PIECEWISE":
            xs, ys = tuple(points[0::2]), tuple(points[1::2])
            try:
                ops.check_increasing(xs)
            except FormulaError as exc:
                raise exc.at(position) from None
            return _piecewise(fx, xs, ys)
        default = 0.0
        if len(points) % 2:
            default, points = points[-1], points[:-1]
        return _band(fx, tuple(points[0::2]), tuple(points[1::2]), default)


def _plain_name(node):
    """(code, position) of a name in a numeric place, else None."""
    if isinstance(node, ast.Name) and not node.jx_str_ok:
        return node.id, node.jx_start
    return None


def guarded_call(fn, values, tags):
    """Run a closure; any exception but FormulaError becomes one (no other type leaves the engine)."""
    try:
        return fn(values, tags)
    except FormulaError:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: nothing else escapes
        raise translate(exc) from None


def translate(exc: BaseException) -> FormulaError:
    """The FormulaError for an exception Python raised inside an evaluation."""
    if isinstance(exc, RecursionError | MemoryError):
        return fail("too_complex")
    if isinstance(exc, ZeroDivisionError):
        return fail("divide_by_zero")
    if isinstance(exc, OverflowError):
        return fail("result_too_big", limit=LIMIT_TEXT)
    return fail("bad_type")
