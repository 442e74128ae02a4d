"""Cell parsers: one function per kind of value, each returning the stored value or raising
``CellError`` with a message in the user's language. Empty cells come in as None.

Cells come from CSV (always text) or from an .xlsx sheet (text, numbers, datetimes); every
parser takes both. Text is stored as written: a cell starting with ``=`` ``+`` ``-`` ``@`` stays
plain text here, and exports write it as a text cell (``app.exports.safe_cell``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _


class CellError(ValueError):
    """A cell's value is not acceptable; ``message`` is already translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Parser = Callable[[Any], Any]


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed into a spreadsheet cell as a number
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def text(max_length: int) -> Parser:
    def parse(value: Any) -> str:
        if value.__class__ is not str:
            value = _as_text(value)
        value = value.strip()
        if len(value) > max_length:
            raise CellError(_("Too long: at most %(n)d characters.", n=max_length))
        return value

    return parse


_DATETIME = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_MONTH = re.compile(r"(\d{4})[-/](\d{1,2})")


def timestamp(value: Any) -> dt.datetime:
    """``YYYY-MM-DD HH:MM[:SS]`` (also with ``/`` and without leading zeros, as Excel in China
    writes it); an .xlsx date cell as it is."""
    if value.__class__ is str and len(value) in (16, 19) and value[4] == "-" and value[10] == " ":
        try:  # the common case, in C
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0, 0))
    s = str(value).strip()
    m = _DATETIME.fullmatch(s)
    if m:
        try:
            return dt.datetime(*(int(g) for g in m.groups(default="0")))
        except ValueError:
            raise _no_such(value) from None
    raise CellError(_("Not a date and time (expected YYYY-MM-DD HH:MM): “%(value)s”.", value=_shown(value)))


def _no_such(value: Any) -> CellError:
    """The cell is written right but names a day or time that does not exist (2024-02-30, 25:00)."""
    return CellError(_("No such date or time: “%(value)s” (check the month's days, hours 0–23 and minutes "
                       "0–59).", value=_shown(value)))


def date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _DATE.fullmatch(str(value).strip())
    if m:
        try:
            return dt.date(*(int(g) for g in m.groups()))
        except ValueError:
            raise _no_such(value) from None
    raise CellError(_("Not a date (expected YYYY-MM-DD): “%(value)s”.", value=_shown(value)))


def month(value: Any) -> dt.date:
    """``YYYY-MM``: stored as the month's first day."""
    if isinstance(value, dt.date):
        return value.replace(day=1) if not isinstance(value, dt.datetime) else value.date().replace(day=1)
    m = _MONTH.fullmatch(str(value).strip())
    if m and 1 <= int(m.group(2)) <= 12:
        return dt.date(int(m.group(1)), int(m.group(2)), 1)
    raise CellError(_("Not a month (expected YYYY-MM): “%(value)s”.", value=_shown(value)))


def number(value: Any) -> float:
    """A number of at least 0 (costs, hours, fees)."""
    try:
        if value.__class__ is str:
            if "_" in value:  # float() would take 1_000
                raise ValueError
            x = float(value.replace(",", "") if "," in value else value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            x = float(value)
        else:
            raise ValueError
        if not math.isfinite(x) or abs(x) > 1e12:
            raise ValueError
    except ValueError:
        raise CellError(_("Not a number: “%(value)s”.", value=_shown(value))) from None
    if x < 0:
        raise CellError(_("Must not be negative: %(value)s.", value=_shown(value)))
    return x


_MONEY = re.compile(r"\d+(\.\d{1,2})?")
MAX_MONEY = Decimal("9999999999.99")  # what a Numeric(12, 2) column holds
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d{1,2})?")


def money(value: Any) -> Decimal:
    """An amount in yuan of at least 0 with at most 2 decimals (``1500``, ``1,500.50``), as ``Decimal``;
    a spreadsheet's number cell (and a form's Decimal) too."""
    if isinstance(value, Decimal) and value.is_finite():
        text = format(value.normalize(), "f")
    elif isinstance(value, float) and math.isfinite(value):
        text = repr(value).removesuffix(".0")
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        text = str(value).strip()
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    if _GROUPED.fullmatch(digits):
        digits = digits.replace(",", "")
    if not _MONEY.fullmatch(digits):
        raise CellError(_("Not an amount in yuan with at most 2 decimals (e.g. 1500 or 1500.50): "
                          "“%(value)s”.", value=_shown(value)))
    amount = Decimal(digits)
    if sign and amount != 0:
        raise CellError(_("Must not be negative: %(value)s.", value=_shown(value)))
    if amount > MAX_MONEY:
        raise CellError(_("Too large: at most %(max)s.", max="9,999,999,999.99"))
    return amount


def score(value: Any) -> float:
    """A survey score from 1 to 5."""
    try:
        x = number(value)
    except CellError:
        x = -1.0
    if not 1 <= x <= 5:
        raise CellError(_("A score must be between 1 and 5: “%(value)s”.", value=_shown(value)))
    return x


_TRUE = {"1", "1.0", "true", "yes", "y", "是"}
_FALSE = {"0", "0.0", "false", "no", "n", "否"}


def flag(value: Any) -> bool:
    """1/0 (also true/false, 是/否)."""
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise CellError(_("Expected 1 or 0: “%(value)s”.", value=_shown(value)))


_CUSTOMER_TYPES = {"enterprise": "enterprise", "企业": "enterprise", "consumer": "consumer",
                   "个人": "consumer"}


def customer_type(value: Any) -> str:
    found = _CUSTOMER_TYPES.get(str(value).strip().lower())
    if found is None:
        raise CellError(_("Expected enterprise, consumer, 企业 or 个人: “%(value)s”.", value=_shown(value)))
    return found


_TAG_SPLIT = re.compile(r"[;；]")


def tags(value: Any) -> str | None:
    """Words separated by ``;`` (a full-width ``；`` too), stored as ``word;word`` without repeats."""
    words: list[str] = []
    for word in _TAG_SPLIT.split(str(value)):
        word = word.strip()
        if word and word not in words:
            words.append(word)
    joined = ";".join(words)
    if len(joined) > 500:
        raise CellError(_("Too long: at most %(n)d characters.", n=500))
    return joined or None
