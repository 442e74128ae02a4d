"""One spreadsheet cell from one value: text that a spreadsheet would run stays text.

A cell whose text starts with ``=`` ``+`` ``-`` ``@`` (or a tab, a carriage return or a line feed
before them) is what spreadsheets take for a formula: openpyxl writes a string starting with ``=``
as one, and a person who opens the cell and presses Enter turns any of them into one. Such text is
written as a string cell (``t="inlineStr"``) carrying Excel's quote prefix (the cell stays text when
edited), with the text unchanged: no apostrophe is added to what people read or copy.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
# Characters XML 1.0 cannot hold (openpyxl refuses the control characters; a lone surrogate or U+FFFE/FFFF
# would make the sheet's XML unreadable); a stored text may carry one from an import.
ILLEGAL = re.compile("[\000-\010\013\014\016-\037\ud800-\udfff\ufffe\uffff]")
MAX_TEXT = 32767  # Excel's limit for one cell


def clean_text(text: str) -> str:
    """``text`` as a cell may hold it: without XML-illegal control characters, line ends as line feeds
    (XML reads a carriage return as one anyway), at most 32,767 characters."""
    if ILLEGAL.search(text):
        text = ILLEGAL.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[:MAX_TEXT]


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def safe_cell(value: Any, worksheet=None) -> Any:
    """``value`` fit for a cell of a write-only ``worksheet``: None stays empty, numbers and dates stay
    as they are, text is cleaned, and formula-looking text becomes a string cell with a quote prefix
    (its ``data_type`` is ``"s"`` and its value the text as given)."""
    if value is None or isinstance(value, Cell):
        return value
    if not isinstance(value, str):
        if isinstance(value, int | float | Decimal | dt.date | dt.time):
            return value
        value = str(value)  # a lazy translation, an enum member
    value = clean_text(value)
    if not looks_like_formula(value):
        return value
    cell = WriteOnlyCell(worksheet)
    cell.value = value  # a leading "=" makes openpyxl guess a formula: the type is set after
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell
