"""The reference evaluator: simpleeval walking the validated tree, node by node.

simpleeval is the sandbox we cross-check against; here it runs *after* our own validation, with its
operator table cut down to ours (N/A-aware, bounded, from ops.py), its function table replaced by our
library (no ``rand``, no defaults), and no names of its own. It is slow and plain on purpose: the property
tests compare the fast closures of compile.py with it on generated formulas, value for value and error
code for error code.

The handlers overridden below are the language's own rules, which Python's do not match: N/A (None) in
conditions and logic (three-valued, like SQL), IF computing one branch, TAGGED reading a literal word, and
a text value allowed only next to == and !=.
"""

from __future__ import annotations

import ast

from simpleeval import SimpleEval

from . import ops
from .compile import translate
from .errors import FormulaError
from .functions import EAGER
from .ops import finish

OPERATORS = {
    ast.Add: ops.add, ast.Sub: ops.sub, ast.Mult: ops.mul, ast.Div: ops.truediv, ast.FloorDiv: ops.floordiv,
    ast.Mod: ops.mod, ast.Pow: ops.power, ast.USub: ops.neg, ast.UAdd: ops.pos, ast.Not: ops.not_,
    ast.Eq: ops.eq, ast.NotEq: ops.ne, ast.Lt: ops.lt, ast.LtE: ops.le, ast.Gt: ops.gt, ast.GtE: ops.ge,
}


class ReferenceEvaluator(SimpleEval):
    """One evaluation (a new instance per call: simpleeval keeps per-call state on the instance)."""

    def __init__(self, values, tags):
        super().__init__(operators=dict(OPERATORS), functions=dict(EAGER), names={})
        self.values = values
        self.tags = tags

    def _eval(self, node):
        try:
            return super()._eval(node)
        except FormulaError as exc:
            raise exc.at(getattr(node, "jx_start", None)) from None

    def _eval_name(self, node):
        coerce = ops.coerce_text if node.jx_str_ok else ops.coerce_number
        return coerce(node.id, self.values.get(node.id))

    def _eval_boolop(self, node):
        want = isinstance(node.op, ast.Or)  # the value that decides: True for or, False for and
        return self._kleene(want, node.values)

    def _kleene(self, want, operands):
        na = False
        for operand in operands:
            value = self._eval(operand)
            if value is None:
                na = True
            elif bool(value) == want:
                return want
        return None if na else not want

    def _eval_compare(self, node):
        left = self._eval(node.left)
        na = False
        for op, operand in zip(node.ops, node.comparators, strict=True):
            right = self._eval(operand)
            result = self.operators[type(op)](left, right)
            if result is None:
                na = True
            elif not result:
                return False
            left = right
        return None if na else True

    def _eval_ifexp(self, node):
        return self._if(node.test, node.body, node.orelse)

    def _if(self, test, body, orelse):
        condition = self._eval(test)
        if condition is None:
            return None
        if condition:
            return self._eval(body)
        return None if orelse is None else self._eval(orelse)

    def _eval_call(self, node):
        name, args = node.func.id, node.args
        if name == "IF":
            return self._if(args[0], args[1], args[2] if len(args) > 2 else None)
        if name in ("AND", "OR"):
            return self._kleene(name == "OR", args)
        if name == "TAGGED":
            return ops.tag_count(self.tags, args[0].value)
        if name == "TAGGED_RATE":
            orders = ops.coerce_number("orders", self.values.get("orders"))
            return ops.tag_rate(self.tags, args[0].value, orders)
        return super()._eval_call(node)  # simpleeval: evaluate every argument, call our function


def reference_evaluate(tree: ast.expr, values, tags=None):
    """The value of a normalised tree (validate.check) by the reference evaluator: float or None."""
    try:
        return finish(ReferenceEvaluator(values, tags)._eval(tree))
    except FormulaError:
        raise
    except Exception as exc:  # noqa: BLE001 - simpleeval's own errors included: nothing else escapes
        raise translate(exc) from None
