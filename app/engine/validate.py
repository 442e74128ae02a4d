"""Walk the syntax tree against an explicit whitelist, before anything is evaluated.

Anything not listed here is refused (FORBIDDEN): attributes, subscripts, lambdas, comprehensions,
f-strings, walrus, starred or keyword arguments, containers, names starting with ``_``, strings anywhere
but next to == / !=. The accepted tree comes back *normalised*, which is what both evaluators read:

* every node carries ``jx_start``/``jx_end``, character offsets into the formula text;
* a name is replaced by its canonical code (``一次修复率`` → ``first_fix_rate``), ``jx_str_ok`` says whether
  a text value may stand there (directly next to == or !=);
* ``true``/``false`` in any case become boolean constants, every number a float;
* a call's function name is upper case (``if`` → ``IF``).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from . import functions
from .catalogue import TEXT, Catalogue, suggest
from .errors import fail, forbidden
from .limits import LIMIT_TEXT, MAX_DEPTH, MAX_MAGNITUDE, MAX_NODES, MAX_STRING
from .syntax import Positions, parse

BINARY_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
UNARY_OPERATORS = (ast.UAdd, ast.USub, ast.Not)
COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
EQUALITY = (ast.Eq, ast.NotEq)

# What a refused operator looks like, for the message.
_SYMBOLS = {
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@",
    ast.Invert: "~", ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}
_REFUSED = {
    ast.Attribute: "Attribute", ast.Subscript: "Subscript", ast.Lambda: "Lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension", ast.DictComp: "comprehension", ast.GeneratorExp: "comprehension",
    ast.JoinedStr: "JoinedStr", ast.FormattedValue: "JoinedStr", ast.NamedExpr: "NamedExpr",
    ast.Starred: "Starred", ast.List: "container", ast.Tuple: "container", ast.Dict: "container",
    ast.Set: "container", ast.Await: "Await", ast.Yield: "Yield", ast.YieldFrom: "Yield", ast.Slice: "Slice",
}
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Checked:
    """A formula that passed validation: its normalised tree and what it reads."""

    source: str
    text: str  # the prepared text (ASCII twins), same length as source
    tree: ast.expr
    names: frozenset[str]
    tag_words: frozenset[str]


def measure(tree: ast.AST, positions: Positions) -> None:
    """Refuse a tree deeper than MAX_DEPTH or larger than MAX_NODES (iteratively: no recursion yet)."""
    stack = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            depth += 1
            if depth > MAX_DEPTH:
                raise fail("too_deep", positions.char(node.col_offset), limit=MAX_DEPTH)
            if count > MAX_NODES:
                raise fail("too_many_nodes", positions.char(node.col_offset), limit=MAX_NODES)
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))


def check(source: str, catalogue: Catalogue | None) -> Checked:
    """Parse and validate a formula; raises FormulaError for any static problem."""
    tree, positions, text = parse(source)
    measure(tree, positions)
    validator = _Validator(source, catalogue or Catalogue(), positions)
    body = validator.visit(tree.body)
    return Checked(source, text, body, frozenset(validator.names), frozenset(validator.tag_words))


class _Validator:
    def __init__(self, source: str, catalogue: Catalogue, positions: Positions):
        self.source = source
        self.catalogue = catalogue
        self.positions = positions
        self.names: dict[str, None] = {}
        self.tag_words: dict[str, None] = {}

    def visit(self, node: ast.AST, str_ok: bool = False) -> ast.expr:
        start, end = self.positions.span(node) if hasattr(node, "col_offset") else (None, None)
        handler = getattr(self, "visit_" + type(node).__name__, None)
        if handler is None:
            what = _REFUSED.get(type(node))
            if what is None:  # a node type this Python knows and we never heard of: refuse it too
                raise fail("forbidden", start, what_zh=type(node).__name__, what_en=type(node).__name__)
            raise forbidden(what, start)
        out = handler(node, start, str_ok)
        out.jx_start, out.jx_end = start, end
        return out

    # -- leaves --------------------------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant, start, str_ok):
        value = node.value
        if isinstance(value, bool):
            return node
        if isinstance(value, int | float):
            if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
                raise fail("literal_too_big", start,
                           text=self.source[start:self.positions.char(node.end_col_offset)],
                           limit=LIMIT_TEXT)
            return _constant(float(value), node)
        if isinstance(value, str):
            if not str_ok:
                raise fail("string_place", start)
            if len(value) > MAX_STRING:
                raise fail("string_too_long", start, limit=MAX_STRING)
            return node
        what = {bytes: "bytes", complex: "complex", type(None): "None",
                type(...): "Ellipsis"}.get(type(value))
        raise forbidden(what or "Ellipsis", start)

    def visit_Name(self, node: ast.Name, start, str_ok):
        name = node.id
        if name.startswith("_"):
            raise fail("underscore", start, name=name)
        code = self.catalogue.resolve(name)
        if code is None:
            if name.lower() in _BOOLEANS:
                return _constant(_BOOLEANS[name.lower()], node)
            raise fail("unknown_name", start, name=name, suggestions=self.catalogue.suggestions(name))
        if self.catalogue.kind(code) == TEXT and not str_ok:
            raise fail("text_variable", start, name=name)
        self.names[code] = None
        out = ast.Name(id=code, ctx=ast.Load())
        out.jx_str_ok = str_ok
        return out

    # -- operators -----------------------------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp, start, str_ok):
        if not isinstance(node.op, BINARY_OPERATORS):
            raise forbidden("operator", start, op=_SYMBOLS.get(type(node.op), "?"))
        return ast.BinOp(left=self.visit(node.left), op=node.op, right=self.visit(node.right))

    def visit_UnaryOp(self, node: ast.UnaryOp, start, str_ok):
        if not isinstance(node.op, UNARY_OPERATORS):
            raise forbidden("operator", start, op=_SYMBOLS.get(type(node.op), "?"))
        return ast.UnaryOp(op=node.op, operand=self.visit(node.operand))

    def visit_BoolOp(self, node: ast.BoolOp, start, str_ok):
        return ast.BoolOp(op=node.op, values=[self.visit(v) for v in node.values])

    def visit_Compare(self, node: ast.Compare, start, str_ok):
        for op in node.ops:
            if not isinstance(op, COMPARISONS):
                raise forbidden("operator", start, op=_SYMBOLS.get(type(op), "?"))
        equality = all(isinstance(op, EQUALITY) for op in node.ops)
        operands = [node.left, *node.comparators]
        checked = [self.visit(o,
                              str_ok=equality and isinstance(o, ast.Name | ast.Constant)) for o in operands]
        if equality:
            for left, right in zip(checked, checked[1:], strict=False):
                for text, other in ((left, right), (right, left)):
                    # a text next to an arithmetic result can never be equal: say so when saving
                    if _is_text(text) and not isinstance(other, ast.Name | ast.Constant):
                        raise fail("number_vs_text", other.jx_start, name=self._source_of(other))
        return ast.Compare(left=checked[0], ops=node.ops, comparators=checked[1:])

    def visit_IfExp(self, node: ast.IfExp, start, str_ok):
        return ast.IfExp(test=self.visit(node.test), body=self.visit(node.body),
                         orelse=self.visit(node.orelse))

    # -- calls ---------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call, start, str_ok):
        if not isinstance(node.func, ast.Name):
            raise fail("call_target", start)
        name = node.func.id
        if name.startswith("_"):
            raise fail("underscore", start, name=name)
        info = functions.lookup(name)
        if info is None:
            if self.catalogue.resolve(name) is not None:
                raise fail("not_a_function", start, name=name)
            raise fail("unknown_function", start, name=name, suggestions=suggest(name, functions.FUNCTIONS))
        if node.keywords:
            raise fail("keyword_arg", self.positions.char(node.keywords[0].col_offset))
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise forbidden("Starred", self.positions.char(arg.col_offset))
        count = len(node.args)
        if count < info.min_args or (info.max_args is not None and count > info.max_args) \
                or (info.odd and count % 2 == 0):
            raise fail("arity", start, function=info.name, expected=info.arity_text(), got=count)
        if info.name in functions.TAG_FUNCTIONS:
            args = [self._tag_word(info.name, node.args[0])]
            if info.name == "TAGGED_RATE":
                self.names["orders"] = None
        else:
            args = [self.visit(arg) for arg in node.args]
        func = ast.Name(id=info.name, ctx=ast.Load())
        func.jx_start, func.jx_end = self.positions.span(node.func)
        return ast.Call(func=func, args=args, keywords=[])

    def _tag_word(self, function: str, arg: ast.expr) -> ast.Constant:
        start, end = self.positions.span(arg)
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise fail("tag_word", start, function=function)
        if len(arg.value) > MAX_STRING:
            raise fail("string_too_long", start, limit=MAX_STRING)
        self.tag_words[arg.value] = None
        arg.jx_start, arg.jx_end = start, end
        return arg

    def _source_of(self, node: ast.expr) -> str:
        return self.source[node.jx_start:node.jx_end]


def _constant(value, like: ast.AST) -> ast.Constant:
    out = ast.Constant(value=value)
    ast.copy_location(out, like)
    return out


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)
