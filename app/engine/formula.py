"""Formula: one validated, compiled formula, evaluated many times; and ``compile_formula`` that makes one."""

from __future__ import annotations

import ast
from collections.abc import Mapping

from . import ops
from .catalogue import Catalogue
from .compile import Compiler, guarded_call, translate
from .errors import FormulaError
from .explain import (
    TraceContext,
    TraceStep,
    format_value,
    line_pieces,
    line_template,
    operator_symbols,
    render_template,
)
from .limits import MAX_MAGNITUDE
from .ops import finish
from .validate import Checked, check

_EMPTY: dict = {}
_M = MAX_MAGNITUDE
Values = Mapping[str, "float | str | None"]
Tags = Mapping[str, int]


class Formula:
    """A formula that passed every static check. ``source`` is the text as typed, ``names`` the canonical
    codes it reads, ``tag_words`` the words it passes to TAGGED / TAGGED_RATE. Immutable and safe to share
    between threads: evaluation keeps no state on the instance."""

    __slots__ = ("source", "names", "tag_words", "_checked", "_fn", "_traced", "_shown", "_pieces", "_typed",
                 "_template", "_labelled_line", "_bare")

    def __init__(self, checked: Checked):
        self.source = checked.source
        self.names = checked.names
        self.tag_words = checked.tag_words
        self._checked = checked
        self._fn = Compiler(checked.source).build(checked.tree)[0]
        self._traced = None
        # the line of ``describe``: the text cut after each name and tag call, a value printed there
        after = {end: key for _start, end, key in _shown_spans(checked.tree) if end <= len(self.source)}
        ends = sorted(after)
        self._shown = [after[end] for end in ends]
        self._pieces = line_pieces(self.source, operator_symbols(checked.text), ends)
        self._template = line_template(self._pieces)
        self._labelled_line = None  # (labels, pieces, template) of the last ``labels`` asked for
        # per cut: the name typed just before it, so that a line can print another name there
        typed = {end: self.source[start:end] for start, end, _key in _shown_spans(checked.tree)}
        self._typed = tuple(typed.get(end, "") for end in ends)
        # a formula that is one name in a numeric place (``一次修复率``): its code, else None
        tree = checked.tree
        bare = isinstance(tree, ast.Name) and self._shown == [("name", tree.id, False)]
        self._bare = tree.id if bare else None

    def __repr__(self) -> str:
        return f"Formula({self.source!r})"

    def __reduce__(self):  # closures do not pickle: rebuild them from the checked tree
        return (Formula, (self._checked,))

    def evaluate(self, values: Values | None, tags: Tags | None = None) -> float | None:
        """The value over ``values`` (canonical code → number, text or None; a missing code is N/A) and
        ``tags`` (word → count of the employee's orders; None: no tag data). A finite float or None (N/A);
        raises FormulaError DIVIDE_BY_ZERO, NUMBER_TOO_BIG, NOT_FINITE or TYPE."""
        try:
            result = self._fn(_EMPTY if values is None else values, tags)
        except FormulaError:
            raise
        except Exception as exc:  # noqa: BLE001 - the contract: nothing else leaves the engine
            raise translate(exc) from None
        if result.__class__ is float:
            return result + 0.0
        return finish(result)

    def truth(self, values: Values | None, tags: Tags | None = None) -> bool:
        """For guards and conditions: True when the value is true (non-zero); N/A is False."""
        result = self.evaluate(values, tags)
        return result is not None and result != 0

    def explain(self, values: Values | None,
                tags: Tags | None = None) -> tuple[float | None, list[TraceStep]]:
        """(value, trace): the trace lists each evaluated sub-expression with its value, in evaluation
        order (a branch IF did not take is absent). Raises FormulaError as ``evaluate``."""
        if self._traced is None:  # built on first use; two threads building it at once is harmless
            self._traced = Compiler(self.source, trace=True, step_type=TraceStep).build(self._checked.tree)[0]
        context = TraceContext(tags)
        value = finish(guarded_call(self._traced, _EMPTY if values is None else values, context))
        steps = context.steps
        if not steps:  # a constant formula: one step, itself
            steps.append(TraceStep(self.source.strip(), value, 0, len(self.source)))
        return value, steps

    def describe(self, values: Values | None, tags: Tags | None = None, locale: str | None = "zh_CN") -> str:
        """One line for a person: ``一次修复率 0.92 × 100 = 92``. Raises FormulaError as ``evaluate``."""
        return self.explain_text(values, tags, locale)[1]

    def explain_text(self, values: Values | None, tags: Tags | None = None, locale: str | None = "zh_CN",
                     labels: Mapping[str, str] | None = None, *,
                     result: bool = True) -> tuple[float | None, str]:
        """(value, the line of ``describe``). ``labels`` (code → name) prints a name as the reader calls
        it instead of as it was typed (``一次修复率`` reads ``First-time fix rate`` on English pages).
        ``result=False``: the line without its `` = value`` (for a bare name, ``一次修复率 0.92`` says it
        all)."""
        values = _EMPTY if values is None else values
        if self._bare is not None:
            x = values.get(self._bare)
            if x.__class__ is float and -_M <= x <= _M:
                # what evaluating and rendering give, without running the closure: the name's value as it
                # is (+ 0.0, as evaluate returns it), printed between the two pieces of the line
                value = x + 0.0
                template = self._template if not labels else self._labelled_template(labels)[1]
                body = template[0] + format_value(x, locale) + template[1]
                return value, body + " = " + format_value(value, locale) if result else body
        value = self.evaluate(values, tags)
        shown = []
        for key in self._shown:
            x = values.get(key[1]) if key[0] == "name" else None
            # a number in range prints as it is; anything else goes through the checks of _shown_value
            shown.append(x if x.__class__ is float and -_M <= x <= _M else _shown_value(key, values, tags))
        if labels:
            pieces, template = self._labelled_template(labels)
        else:
            pieces, template = self._pieces, self._template
        line = render_template(template, pieces, shown, value, locale)
        return value, line if result else line.rsplit(" = ", 1)[0]  # a value's text holds no " = "

    def _labelled_template(self, labels: Mapping[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(pieces, template) of the line with the names of ``labels``, kept for the last mapping."""
        kept = self._labelled_line
        if kept is None or kept[0] is not labels:  # one mapping is used throughout (the English names)
            pieces = self._labelled(labels)
            kept = self._labelled_line = (labels, pieces, line_template(pieces))
        return kept[1], kept[2]

    def _labelled(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        pieces = list(self._pieces)
        for i, (key, typed) in enumerate(zip(self._shown, self._typed, strict=True)):
            label = labels.get(key[1]) if key[0] == "name" else None
            if label and typed and pieces[i].endswith(typed):
                pieces[i] = pieces[i][: len(pieces[i]) - len(typed)] + label
        return tuple(pieces)

    def reference(self, values: Values | None, tags: Tags | None = None) -> float | None:
        """The value computed by the simpleeval reference evaluator (slow; for tests and cross-checks)."""
        # late: simpleeval loads only for cross-checks, not on the fast path that is benchmarked alone
        from .reference import reference_evaluate

        return reference_evaluate(self._checked.tree, _EMPTY if values is None else values, tags)


def _shown_spans(tree: ast.expr) -> list[tuple[int, int, tuple]]:
    """Where the line of ``describe`` prints a value: after each name and each TAGGED/TAGGED_RATE call."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and hasattr(node, "jx_str_ok"):
            spans.append((node.jx_start, node.jx_end, ("name", node.id, node.jx_str_ok)))
        elif isinstance(node, ast.Call) and node.func.id in ("TAGGED", "TAGGED_RATE"):
            spans.append((node.jx_start, node.jx_end, (node.func.id, node.args[0].value)))
    return sorted(spans)


def _shown_value(key: tuple, values, tags):
    """The value printed after a name or tag call; never raises (a bad input prints as '?')."""
    try:
        if key[0] == "name":
            coerce = ops.coerce_text if key[2] else ops.coerce_number
            return coerce(key[1], values.get(key[1]))
        if key[0] == "TAGGED":
            return ops.tag_count(tags, key[1])
        return ops.tag_rate(tags, key[1], ops.coerce_number("orders", values.get("orders")))
    except Exception:  # noqa: BLE001 - a display helper: show that the value is unusable
        return _UNUSABLE


class _Unusable:
    def __str__(self) -> str:
        return "?"


_UNUSABLE = _Unusable()


def compile_formula(text: str, catalogue: Catalogue | None = None) -> Formula:
    """Parse, validate and compile ``text`` against the names of ``catalogue``. Raises FormulaError for
    every static problem (SYNTAX, UNKNOWN_NAME, UNKNOWN_FUNCTION, FORBIDDEN, TOO_LONG, TOO_COMPLEX,
    NUMBER_TOO_BIG, TYPE, and DIVIDE_BY_ZERO… of a constant part such as ``1/0``)."""
    try:
        return Formula(check(text, catalogue))
    except FormulaError:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: nothing else leaves the engine
        raise translate(exc) from None


def safe_evaluate(text: str, catalogue: Catalogue | None, values: Values | None,
                  tags: Tags | None = None) -> float | None:
    """compile_formula(text, catalogue).evaluate(values, tags), for one-off use."""
    return compile_formula(text, catalogue).evaluate(values, tags)
