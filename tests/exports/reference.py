"""The workbook writer as it was before sheets streamed their own XML: openpyxl's write-only cells for
every value, saved in one go. The tests hold ``app.exports.sheets.Book`` to it: the same cells, styles,
widths, frozen panes and filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from copy import copy
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.exports.cells import safe_cell
from app.exports.sheets import (
    FORMATS,
    MAX_WIDTH,
    TEXT,
    WIDTHS,
    Column,
    local_zone,
    number,
    sheet_title,
    text_width,
)
from app.rules.pools import stored_money


class ReferenceSheet:
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
            cell = safe_cell(column.header, self.ws)  # (a formula-looking header once failed here)
            cell = cell if isinstance(cell, Cell) else WriteOnlyCell(self.ws, cell)
            cell.font = bold
            header.append(cell)
        self.ws.append(header)
        self.rows += 1
        self._convert = [self._converter(column.kind) for column in self.columns]

    def _converter(self, kind: str):
        ws = self.ws
        if kind == TEXT:
            return lambda value: safe_cell(value, ws)
        read = {"money": stored_money, "datetime": self._local}.get(kind, number)
        template = WriteOnlyCell(ws)
        template.number_format = FORMATS[kind]
        style = template._style

        def convert(value):
            value = read(value)
            if value is None:
                return None
            cell = WriteOnlyCell(ws, value)
            cell._style = copy(style)
            return cell

        return convert

    def _local(self, when):
        if not isinstance(when, dt.datetime):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(self.zone).replace(tzinfo=None, microsecond=0)

    def append(self, values) -> None:
        self.ws.append([convert(value) for convert, value in zip(self._convert, values, strict=True)])
        self.rows += 1

    def finish(self) -> None:
        if self.columns:
            self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.columns))}{max(self.rows, 1)}"


class ReferenceBook:
    """``Book``'s interface: ``ReferenceBook(out, zone)``, ``sheet``, ``save``."""

    def __init__(self, out, zone: ZoneInfo | None = None) -> None:
        self.out = out
        self.workbook = Workbook(write_only=True)
        self.workbook.properties.creator = "Jixiao"
        self.zone = zone or local_zone()
        self.sheets: list[ReferenceSheet] = []

    def __enter__(self) -> ReferenceBook:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def sheet(self, title: str, columns: Sequence[Column]) -> ReferenceSheet:
        sheet = ReferenceSheet(self.workbook, title, columns, self.zone)
        self.sheets.append(sheet)
        return sheet

    def save(self) -> None:
        for sheet in self.sheets:
            sheet.finish()
        self.workbook.save(self.out)


def cells(book) -> dict:
    """Everything a reader sees of a loaded workbook: per sheet its frozen pane, filter, column widths and
    each cell's value, type, number format, boldness and quote prefix."""
    seen = {}
    for ws in book.worksheets:
        seen[ws.title] = {
            "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref,
            "widths": {key: dim.width for key, dim in ws.column_dimensions.items()},
            "rows": [[(c.value, c.data_type, c.number_format, bool(c.font.b), bool(c.quotePrefix))
                      for c in row] for row in ws.iter_rows()],
        }
    return seen
