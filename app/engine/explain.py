"""How a value was reached: the trace of an evaluation and the one line a screen or the PDF prints.

A trace is the list of sub-expressions in evaluation order, each with its value (constants are left out;
a branch IF did not take is absent). ``render_line`` writes the formula as the user typed it with each
variable's value after its name, × and ÷ for * and /, and the result: ``一次修复率 0.92 × 100 = 92``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

_PLAIN = (float, bool, type(None))  # values whose text never holds white space


@dataclass(frozen=True)
class TraceStep:
    """One evaluated sub-expression: its ``source`` text, its ``value`` (None is N/A) and where it is."""

    source: str
    value: object
    start: int | None = None
    end: int | None = None

    def to_dict(self) -> dict:
        value = self.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = float(value)
        return {"source": self.source, "value": value}


@dataclass
class TraceContext:
    """What a traced evaluation carries instead of the bare tags: the tags and the steps so far."""

    tags: object
    steps: list = field(default_factory=list)


# A float's text by value: the same figures recur across people and lines (a person's value is printed on
# its line and again in its score's); finite ones only, bounded. 0.0 and -0.0 are one key and both print "0".
_FLOAT_TEXTS: dict[float, str] = {}
_FLOAT_TEXTS_KEPT = 100_000


def format_value(value, locale: str | None = "zh_CN") -> str:
    """A value as a person reads it: 92, 0.92, N/A, 是/否 (true/false), "A"."""
    if value.__class__ is float:
        text = _FLOAT_TEXTS.get(value)
        if text is None:
            text = _number_text(value)
            if len(_FLOAT_TEXTS) < _FLOAT_TEXTS_KEPT and math.isfinite(value):
                _FLOAT_TEXTS[value] = text
        return text
    if isinstance(value, int) and not isinstance(value, bool):
        return _number_text(float(value))
    if value is None:
        return "N/A"
    if isinstance(value, bool):
        english = (locale or "").lower().startswith("en")
        return ("true" if value else "false") if english else ("是" if value else "否")
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):  # a float subclass
        return format_value(float(value), locale)
    return str(value)


def _number_text(number: float) -> str:
    """format_value of a float."""
    if not math.isfinite(number):
        return str(number)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    if abs(number) >= 0.01:
        return f"{number:.4f}".rstrip("0").rstrip(".")
    return f"{number:.3g}"


def operator_symbols(text: str) -> dict[int, str]:
    """Positions of * and / outside quotes in the prepared text, with the symbol to print instead:
    × for *, ÷ for /, ^ for ** (its second character prints as ""); // stays as it is."""
    out: dict[int, str] = {}
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "*" and text.startswith("**", i):
            out[i], out[i + 1] = "^", ""
            i += 1
        elif ch == "/" and text.startswith("//", i):
            i += 1  # floor division keeps its two characters
        elif ch == "*":
            out[i] = "×"
        elif ch == "/":
            out[i] = "÷"
        i += 1
    return out


def line_pieces(source: str, symbols: dict[int, str], ends: list[int]) -> tuple[str, ...]:
    """The formula's text with ``symbols`` applied, cut at each of ``ends`` (ascending, distinct, at
    most ``len(source)``): ``len(ends) + 1`` pieces, a value goes between each two. Made once per
    formula, so printing a line is a join, not a walk over the characters."""
    pieces, start = [], 0
    for end in (*ends, len(source)):
        pieces.append("".join(symbols.get(i, source[i]) for i in range(start, end)))
        start = end
    return tuple(pieces)


def render_pieces(pieces: tuple[str, ...], values, result, locale: str | None = "zh_CN") -> str:
    """The line of ``pieces`` (see :func:`line_pieces`) with one value after each cut, then `` = result``."""
    parts = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        parts.append(" " + format_value(value, locale))
        parts.append(piece)
    body = " ".join("".join(parts).split())
    return f"{body} = {format_value(result, locale)}"


def line_template(pieces: tuple[str, ...]) -> tuple[str, ...]:
    """``pieces`` (see :func:`line_pieces`) with their white space already as :func:`render_pieces`
    leaves it, and the space before each value included: joined with the values' texts in between,
    they make the line's body, provided no value's text holds white space (a text value may)."""
    last = len(pieces) - 1
    if last == 0:
        return (" ".join(pieces[0].split()),)
    out = []
    for i, piece in enumerate(pieces):
        segment = piece if i == last else piece + " "  # the space render_pieces puts before a value
        words = segment.split()
        if not words:
            out.append("" if i in (0, last) else " ")
            continue
        lead = " " if i > 0 and segment[0].isspace() else ""
        trail = " " if i < last and segment[-1].isspace() else ""
        out.append(lead + " ".join(words) + trail)
    return tuple(out)


def render_template(template: tuple[str, ...], pieces: tuple[str, ...], values, result,
                    locale: str | None = "zh_CN") -> str:
    """What ``render_pieces(pieces, values, result, locale)`` gives, made from ``line_template(pieces)``
    by concatenation unless a value's text has white space that :func:`render_pieces` would change."""
    parts = [template[0]]
    for value, piece in zip(values, template[1:], strict=True):
        text = format_value(value, locale)
        if value.__class__ not in _PLAIN and (not text or " ".join(text.split()) != text):
            return render_pieces(pieces, values, result, locale)
        parts.append(text)
        parts.append(piece)
    parts.append(" = ")
    parts.append(format_value(result, locale))
    return "".join(parts)


def render_line(source: str, symbols: dict[int, str], shown: list[tuple[int, int, object]], result,
                locale: str | None = "zh_CN") -> str:
    """The formula with ``shown`` values (start, end, value) after their spans, then `` = result``."""
    after = {end: value for _start, end, value in shown if end <= len(source)}
    ends = sorted(after)
    return render_pieces(line_pieces(source, symbols, ends), [after[end] for end in ends], result, locale)
