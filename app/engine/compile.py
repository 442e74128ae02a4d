"""Compile a validated tree into nested Python closures: validate and compile once, evaluate many times.

Nothing the user typed is ever handed to ``eval`` or ``exec``: each node of the checked tree picks a closure
factory of closures.py. Constant sub-expressions are computed here (``100 / 3``, ``-5``), so a constant that
fails (``1 / 0``, ``10 ** 99``) is an error when the formula is saved, not at appraisal time.
``tests/engine/test_formula_fuzz.py`` proves every shortcut against the simpleeval reference.
"""

from __future__ import annotations

import ast

from . import closures, ops
from .errors import FormulaError, fail
from .functions import EAGER
from .limits import LIMIT_TEXT

NOT_CONST = object()  # marks a node whose value is not known before evaluation
_EMPTY: dict = {}


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
        start, end, step = node.jx_start, node.jx_end, self.step_type
        source = self.source[start:end]

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
        return closures.constant(value), value

    # -- leaves --------------------------------------------------------------------------------------
    def _Constant(self, node):
        return closures.constant(node.value), node.value

    def _Name(self, node):
        load = closures.load_text if node.jx_str_ok else closures.load_number
        return load(node.id, node.jx_start), NOT_CONST

    # -- operators -----------------------------------------------------------------------------------
    def _BinOp(self, node):
        (fa, ca), (fb, cb) = self.build(node.left), self.build(node.right)
        op, position = type(node.op), node.jx_start
        if self.fold and cb is not NOT_CONST and op in closures.DIVISIONS and cb is not None and not cb:
            raise fail("divide_by_zero", position)  # x / 0 is wrong whatever x is: say so when saving
        fast = None if self.trace else self._fast_binary(node, op, fa, ca, fb, cb, position)
        if fast is not None:
            return self._folded(fast, (ca, cb))
        if op is ast.Add:
            fn = closures.add(fa, fb, position)
        elif op is ast.Sub:
            fn = closures.sub(fa, fb, position)
        elif op is ast.Mult:
            fn = closures.mul(fa, fb, position)
        elif op is ast.Div:
            fn = closures.div(fa, fb, position)
        else:
            fn = closures.generic(closures.BINARY[op], (fa, fb), position)
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
            return closures.name_plus(*name, c, position) if name else closures.add_const(f, c, position)
        if op is ast.Mult:
            return closures.name_times(*name, c, position) if name else closures.mul_const(f, c, position)
        if op is ast.Sub:
            return closures.sub_from_const(c, f, position)
        if op is ast.Div and not const_left and c:
            return closures.div_const(f, c, position)
        return None

    def _UnaryOp(self, node):
        fa, ca = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            fn = closures.minus(fa)
        elif isinstance(node.op, ast.Not):
            fn = closures.negation(fa)
        else:
            fn = closures.generic(ops.pos, (fa,), node.jx_start)
        return self._folded(fn, (ca,))

    def _Compare(self, node):
        built = [self.build(n) for n in (node.left, *node.comparators)]
        fs, consts = [f for f, _ in built], [c for _, c in built]
        if len(node.ops) == 1:
            op = type(node.ops[0])
            c = consts[1]
            name = _plain_name(node.left)
            if self.trace or c.__class__ is not float or consts[0] is not NOT_CONST:
                fn = closures.compare(closures.COMPARE[op], fs[0], fs[1])
            elif name is not None:
                fn = closures.name_compare(closures.COMPARE[op], *name, c)
            elif op in closures.COMPARE_CONST:
                fn = closures.COMPARE_CONST[op](fs[0], c)
            else:
                fn = closures.compare(closures.COMPARE[op], fs[0], fs[1])
        else:
            fn = closures.chain([closures.COMPARE[type(op)] for op in node.ops], fs)
        return self._folded(fn, consts)

    def _BoolOp(self, node):
        built = [self.build(n) for n in node.values]
        fs = [f for f, _ in built]
        fn = closures.all_of(fs) if isinstance(node.op, ast.And) else closures.any_of(fs)
        return self._folded(fn, [c for _, c in built])

    def _IfExp(self, node):
        return self._conditional(node.test, node.body, node.orelse)

    def _conditional(self, test, body, orelse):
        (fc, cc), (fa, ca) = self.build(test), self.build(body)
        fb, cb = self.build(orelse) if orelse is not None else (closures.na, None)
        if self.fold and cc is not NOT_CONST:  # a constant condition picks its branch now
            if cc is None:
                return closures.na, None
            return (fa, ca) if cc else (fb, cb)
        return closures.if_else(fc, fa, fb), NOT_CONST

    # -- calls ---------------------------------------------------------------------------------------
    def _Call(self, node):
        name, args, position = node.func.id, node.args, node.jx_start
        if name == "IF":
            return self._conditional(args[0], args[1], args[2] if len(args) > 2 else None)
        if name == "TAGGED":
            return closures.tagged(args[0].value, position, self.trace), NOT_CONST
        if name == "TAGGED_RATE":
            orders = closures.load_number("orders", position)  # read, not a step of the trace
            return closures.tagged_rate(args[0].value, orders, position, self.trace), NOT_CONST
        built = [self.build(a) for a in args]
        fs, consts = [f for f, _ in built], [c for _, c in built]
        if name in ("AND", "OR"):
            return self._folded(closures.all_of(fs) if name == "AND" else closures.any_of(fs), consts)
        if name == "NOT":
            return self._folded(closures.negation(fs[0]), consts)
        if name in ops.AGGREGATES:
            return self._folded(closures.aggregate(ops.AGGREGATES[name], fs, position), consts)
        if name == "CLAMP" and all(c.__class__ is float for c in consts[1:]):
            return self._folded(closures.clamp_const(fs[0], consts[1], consts[2]), consts)
        if name == "COALESCE" and len(fs) == 2:
            return self._folded(closures.coalesce2(*fs), consts)
        if name in ("PIECEWISE", "BAND") and self.fold and all(c is not NOT_CONST for c in consts[1:]):
            special = self._table(name, fs[0], consts[1:], position)
            if special is not None:
                return self._folded(special, consts)
        if (name == "PIECEWISE" and not self.trace and len(fs) % 2
                and any(c is NOT_CONST for c in consts[1:])):
            # a table with a variable point, as scores read ``target``: only that point is evaluated
            points = [None if c is NOT_CONST else c for c in consts[1:]]
            variable = [(i, f) for i, (f, c) in enumerate(zip(fs[1:], consts[1:], strict=True))
                        if c is NOT_CONST]
            return closures.piecewise_some(fs[0], tuple(points), tuple(variable), position), NOT_CONST
        return self._folded(closures.generic(EAGER[name], fs, position), consts)

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
            return closures.piecewise(fx, xs, ys)
        default = 0.0
        if len(points) % 2:
            default, points = points[-1], points[:-1]
        return closures.band(fx, tuple(points[0::2]), tuple(points[1::2]), default)


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
