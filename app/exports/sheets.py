"""Streaming workbooks: openpyxl's write-only mode, each sheet with a frozen header row, column widths,
an autofilter and number formats by the kind of each column.

A write-only sheet writes each row to its own temporary file as it is appended, so a workbook of any
number of rows needs the memory of one row; sheets may be filled side by side in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from contextlib import suppress
from copy import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..rules.pools import stored_money
from .cells import safe_cell

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The kinds of column and how their numbers look.
TEXT = "text"
SCORE = "score"  # 0.00
SHARE = "share"  # 0.0 % (a share 0..1)
MONEY = "money"  # whole yuan, #,##0 (Decimal)
NUMBER = "number"  # a measured value, #,##0.00
COUNT = "count"  # a whole number
DATETIME = "datetime"  # wall time of the configured time zone
FORMATS = {SCORE: "0.00", SHARE: "0.0%", MONEY: "#,##0", NUMBER: "#,##0.00", COUNT: "0",
           DATETIME: "yyyy-mm-dd hh:mm"}
WIDTHS = {TEXT: 12, SCORE: 9, SHARE: 9, MONEY: 12, NUMBER: 11, COUNT: 8, DATETIME: 17}
MAX_WIDTH = 48

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: float | None = None  # None: from the header and the kind


def local_zone() -> ZoneInfo:
    """The configured time zone (``JIXIAO_TIMEZONE``), UTC outside the application."""
    name = current_app.config.get("JIXIAO_TIMEZONE", "Asia/Shanghai") if has_app_context() else "UTC"
    return ZoneInfo(name)


def text_width(text: str) -> int:
    """Characters a column needs for ``text``: East Asian wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def sheet_title(title: str) -> str:
    """A title Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return _BAD_TITLE.sub(" ", title).strip()[:31] or "Sheet"


def number(value: Any) -> float | int | Decimal | None:
    """A numeric cell's value; anything else (None, "N/A", text) leaves the cell empty."""
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int | float | Decimal) else None


class Sheet:
    """One write-only worksheet of a :class:`Book`: ``append`` a row of values in the columns' order."""

    def __init__(self, workbook: Workbook, title: str, columns: Sequence[Column], zone: ZoneInfo) -> None:
        self.ws = workbook.create_sheet(title=sheet_title(title))
        self.columns = list(columns)
        self.zone = zone
        self.rows = 0
        for index, column in enumerate(self.columns, 1):
            width = column.width or max(WIDTHS[column.kind], min(text_width(column.header) + 2, MAX_WIDTH))
            self.ws.column_dimensions[get_column_letter(index)].width = width
        self.ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(self.ws, safe_cell(column.header, self.ws))
            cell.font = bold
            header.append(cell)
        self._write(header)
        self._convert = [self._converter(column.kind) for column in self.columns]

    def _converter(self, kind: str):
        ws = self.ws
        if kind == TEXT:
            return lambda value: safe_cell(value, ws)
        read = {MONEY: stored_money, DATETIME: self._local}.get(kind, number)
        template = WriteOnlyCell(ws)
        template.number_format = FORMATS[kind]
        style = template._style  # the format registered once; each cell gets a copy of its style array

        def convert(value):
            value = read(value)
            if value is None:
                return None
            cell = WriteOnlyCell(ws, value)
            cell._style = copy(style)
            return cell

        return convert

    def _local(self, when: Any) -> dt.datetime | None:
        """A stored moment as the zone's wall time (Excel keeps no zone); naive ones are UTC."""
        if not isinstance(when, dt.datetime):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(self.zone).replace(tzinfo=None, microsecond=0)

    def _write(self, cells: list) -> None:
        self.ws.append(cells)
        self.rows += 1

    def append(self, values: Sequence[Any]) -> None:
        self._write([convert(value) for convert, value in zip(self._convert, values, strict=True)])

    def finish(self) -> None:
        if self.columns:
            self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.columns))}{max(self.rows, 1)}"


class Book:
    """A write-only workbook: add sheets, fill them (side by side if need be), then ``save``. Used as a
    context manager, a workbook left unsaved (an error on the way) removes its sheets' temporary files."""

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.workbook = Workbook(write_only=True)
        self.workbook.properties.creator = "Jixiao"
        self.zone = zone or local_zone()
        self.sheets: list[Sheet] = []
        self.saved = False

    def __enter__(self) -> Book:
        return self

    def __exit__(self, *exc) -> None:
        if not self.saved:
            self.discard()

    def discard(self) -> None:
        """Close every sheet and remove its temporary file (openpyxl's writer keeps it until saved)."""
        for sheet in self.sheets:
            with suppress(Exception):
                sheet.ws.close()
            writer = getattr(sheet.ws, "_writer", None)
            with suppress(Exception):
                writer.cleanup()
        self.sheets = []

    def sheet(self, title: str, columns: Sequence[Column]) -> Sheet:
        sheet = Sheet(self.workbook, title, columns, self.zone)
        self.sheets.append(sheet)
        return sheet

    def save(self, out) -> None:
        """Write the workbook to ``out``, a path or a binary file."""
        for sheet in self.sheets:
            sheet.finish()
        self.workbook.save(out)
        self.saved = True
