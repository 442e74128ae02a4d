"""From formula text to a Python syntax tree, with every position kept as a character offset.

Three passes before ``ast.parse(mode="eval")``, each keeping the text the same length so that a position in
the tree is a position in what the user typed:

1. ``prepare``: full-width characters from Chinese keyboards become their ASCII twins outside quotes
   (（）→(), ，→, ×→* …), curly quotes become straight ones, every space-like character a space. A character
   with no one-character twin (≥, 、 …) or no place in a formula ($, #, control characters …) is refused
   here with a message naming it, never a bare "syntax error".
2. ``rewrite_keyword_calls``: ``if(``, ``and(``, ``or(`` and ``not(`` are Python keywords; where they start an
   operand they must be Excel-style calls, so they become ``IF(`` … (same length). ``a if c else b`` and
   ``x and(y)`` keep their keyword, because there the word follows an operand.
3. ``ast.parse``; its SyntaxError becomes a FormulaError in both languages.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
import warnings
from dataclasses import dataclass

from .errors import fail
from .limits import MAX_DEPTH, MAX_LENGTH

# One-character twins, applied outside quotes. The full-width ASCII block (U+FF01–U+FF5E) maps by offset.
_TWINS = {"×": "*", "÷": "/", "−": "-", "\u3000": " ", "\ufeff": " "}
_DOUBLE_QUOTES = "\"“”＂"
_SINGLE_QUOTES = "'‘’＇"
# Characters with no one-character twin: the message says what to type instead.
_HINTS = {"≥": ">=", "≤": "<=", "≠": "!=", "【": "(", "】": ")", "、": ",", "。": "."}
# ASCII characters that have no meaning in a formula (Python would read # as a comment, \ as a line join).
_BAD_ASCII = frozenset("$?`#\\")


def _twin(ch: str) -> str:
    if "\uff01" <= ch <= "\uff5e":
        return chr(ord(ch) - 0xFEE0)
    return _TWINS.get(ch, ch)


def _allowed_outside_quotes(ch: str) -> bool:
    if ch.isascii():
        return " " <= ch < "\x7f" and ch not in _BAD_ASCII
    return ch.isidentifier() or ("a" + ch).isidentifier()


def prepare(source: str) -> str:
    """The text with ASCII twins and plain spaces, same length as ``source``; raises FormulaError for a
    character that has no place in a formula."""
    out = []
    quote = ""  # the ASCII quote of the open text literal, "" outside one
    escaped = False
    for index, ch in enumerate(source):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif (ch in _DOUBLE_QUOTES and quote == '"') or (ch in _SINGLE_QUOTES and quote == "'"):
                ch, quote = quote, ""
            elif ch in "\r\n":
                ch = " "  # keep the text on one line, so that a column is a position
            out.append(ch)
            continue
        if ch in _DOUBLE_QUOTES:
            ch = quote = '"'
        elif ch in _SINGLE_QUOTES:
            ch = quote = "'"
        elif ch.isspace():
            ch = " "
        else:
            ch = _twin(ch)
            if ch in _HINTS:
                raise fail("replace_char", index, char=ch, replacement=_HINTS[ch])
            if not _allowed_outside_quotes(ch):
                typed = source[index]
                raise fail("bad_char", index, char=typed if typed.isprintable() else " ",
                           hex=f"{ord(typed):04X}")
        out.append(ch)
    return "".join(out)


_KEYWORD_CALL = re.compile(r"\b(?:if|and|or|not)\s*\(")
_CALL_KEYWORDS = {"if": "IF", "and": "AND", "or": "OR", "not": "NOT"}
_SKIPPED = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT}


def _ends_operand(token) -> bool:
    if token is None:
        return False
    if token.type in (tokenize.NUMBER, tokenize.STRING):
        return True
    if token.type == tokenize.NAME:
        return not keyword.iskeyword(token.string) or token.string in ("True", "False", "None")
    return token.type == tokenize.OP and token.string in ")]}"


def rewrite_keyword_calls(text: str) -> str:
    """``if(``/``and(``/``or(``/``not(`` in operand position → ``IF(``/``AND(``/``OR(``/``NOT(``."""
    if not _KEYWORD_CALL.search(text):
        return text
    chars = list(text)
    previous = pending = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in _SKIPPED:
                continue
            if pending is not None and token.type == tokenize.OP and token.string == "(":
                start = pending.start[1]
                chars[start:start + len(pending.string)] = _CALL_KEYWORDS[pending.string]
            pending = None
            if token.type == tokenize.NAME and token.string in _CALL_KEYWORDS and not _ends_operand(previous):
                pending = token
            previous = token
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # the parser reports the problem, with a better message
    return "".join(chars)


@dataclass(frozen=True)
class Positions:
    """Turns the tree's UTF-8 byte columns into character offsets of the formula text."""

    lead: int  # leading spaces cut before parsing (the parser refuses them as an indent)
    char_at_byte: tuple[int, ...] | None  # None when the text is ASCII: bytes are characters

    @classmethod
    def of(cls, parsed_text: str, lead: int) -> Positions:
        if parsed_text.isascii():
            return cls(lead, None)
        table = []
        for index, ch in enumerate(parsed_text):
            table.extend([index] * len(ch.encode("utf-8")))
        table.append(len(parsed_text))
        return cls(lead, tuple(table))

    def char(self, byte_column: int | None) -> int | None:
        if byte_column is None or byte_column < 0:
            return None
        if self.char_at_byte is None:
            return self.lead + byte_column
        return self.lead + self.char_at_byte[min(byte_column, len(self.char_at_byte) - 1)]

    def span(self, node: ast.AST) -> tuple[int, int]:
        """(start, end) character offsets of a node."""
        return self.char(node.col_offset), self.char(node.end_col_offset)


_LONE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")
_NUMBER_PROBLEMS = ("decimal literal", "hexadecimal literal", "octal literal", "binary literal", "digit",
                    "leading zeros", "exponent")


def _lone_equals(text: str) -> int | None:
    """Position of an Excel-style single ``=`` outside quotes, if any."""
    quote = ""
    for index, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "=" and _LONE_EQUALS.match(text, index):
            return index
    return None


def _syntax_error(exc: SyntaxError, text: str, lead: int):
    message = exc.msg or ""
    # offset 0 or None: the parser ran out of text, so the problem is at its end
    position = lead + exc.offset - 1 if exc.offset and exc.offset > 0 else len(text.rstrip())
    position = min(position, len(text))
    column = position + 1
    if "too many nested" in message:
        return fail("too_deep", position, limit=MAX_DEPTH)
    equals = _lone_equals(text)
    if equals is not None:
        return fail("single_equals", equals)
    for fragment, key in (("was never closed", "unclosed"), ("unmatched", "unmatched"),
                          ("does not match", "mismatched")):
        if fragment in message:
            bracket = re.search(r"'(.)'", message)
            return fail(key, position, char=bracket.group(1) if bracket else "?")
    if "unterminated" in message:
        return fail("unterminated_string", position)
    if "invalid" in message and any(p in message for p in _NUMBER_PROBLEMS):
        return fail("bad_number", position, column=column)
    return fail("syntax", position, column=column)


def parse(source: str) -> tuple[ast.Expression, Positions, str]:
    """(tree, positions, prepared text) of a formula, or raises FormulaError (TOO_LONG, SYNTAX…)."""
    if not isinstance(source, str):
        raise fail("bad_type")
    if len(source) > MAX_LENGTH:
        raise fail("too_long", MAX_LENGTH, length=len(source), limit=MAX_LENGTH)
    text = rewrite_keyword_calls(prepare(source))
    body = text.lstrip(" ")
    if not body.strip():
        raise fail("empty", 0)
    lead = len(text) - len(body)
    try:
        # "invalid decimal literal" and the like: our error says it better. catch_warnings swaps a
        # process-wide list; two threads compiling at once can at worst leave these warnings ignored.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(exc, text, lead) from None
    except (RecursionError, MemoryError):
        raise fail("too_complex") from None
    except (ValueError, UnicodeError):  # null bytes and lone surrogates; prepare() refuses them first
        raise fail("syntax", None, column=1) from None
    return tree, Positions.of(body, lead), text
