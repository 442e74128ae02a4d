"""Streaming workbooks: each sheet with a frozen header row, column widths, an autofilter and number formats
by the kind of each column, written to ``out`` as the rows come.

A :class:`Book` writes its zip (the xlsx file) to a path or to any writable binary file, and never seeks
in it: the zip's entries carry data descriptors, so ``out`` may be a pipe or a response being sent. The
fixed parts (properties, theme) go first, then the first sheet's rows as they are appended; a sheet filled
side by side with it waits in a temporary file until it is done; the styles, the workbook and the content
types close the file. A download therefore starts at once and grows steadily, and memory stays that of a
few rows however many rows a workbook has.

openpyxl provides every part but the rows (styles, sheet views and columns, workbook, content types); the
rows' XML is written here, several times faster than openpyxl's write-only cells. A value of a kind the
fast path does not know goes through openpyxl's own cell writer; tests/exports/test_sheets.py holds the
fast path to openpyxl's output.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell._writer import etree_write_cell
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.packaging.extended import ExtendedProperties
from openpyxl.packaging.manifest import Manifest
from openpyxl.styles import Font
from openpyxl.styles.stylesheet import write_stylesheet
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook._writer import WorkbookWriter
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.theme import theme_xml
from openpyxl.xml.constants import (
    ARC_APP,
    ARC_CORE,
    ARC_ROOT_RELS,
    ARC_STYLE,
    ARC_THEME,
    ARC_WORKBOOK,
    ARC_WORKBOOK_RELS,
)
from openpyxl.xml.functions import tostring

from ..rules.pools import stored_money
from .cells import clean_text, looks_like_formula, safe_cell

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

ROWS_PER_WRITE = 64  # rows joined into one write to the zip (or the waiting sheet's file)
KNOWN_TEXTS = 1024  # texts a column keeps written (the first met): codes, states, grades repeat

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_NOT_FINITE = frozenset({"nan", "inf", "-inf"})


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


_NUMBER_TYPES = frozenset({int, float, Decimal})


def number(value: Any) -> float | int | Decimal | None:
    """A numeric cell's value; anything else (None, "N/A", text, a boolean) leaves the cell empty."""
    if type(value) in _NUMBER_TYPES:  # the common case, without the checks below
        return value
    if value is None or isinstance(value, bool):
        return None
    return value if isinstance(value, int | float | Decimal) else None


# -- the rows' XML -------------------------------------------------------------------------------------------

def _text_element(text: str) -> str:
    """``<t>`` of an inline string, as openpyxl writes it (spaces kept where they lead or trail)."""
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text != text.strip():
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


def _number_text(value) -> str:
    """A number as openpyxl writes it (up to 16 significant digits; nothing for NaN and infinities)."""
    text = "%.16g" % value  # noqa: UP031 - openpyxl's own format, kept for identical cells
    return "" if text in _NOT_FINITE else text


class _Collected:
    """Stands for openpyxl's XML stream: keeps the one element its cell writer writes."""

    element = None

    def write(self, element) -> None:
        self.element = element


class _Sink:
    """What the zip writes to: ``out`` without ``tell`` or ``seek`` (the zip then needs neither), and
    nothing more once the book is discarded (a half-written zip must never be completed)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.broken = False

    def write(self, data) -> int:
        if not self.broken:
            self.out.write(data)
        return len(data)

    def flush(self) -> None:
        if not self.broken and hasattr(self.out, "flush"):
            self.out.flush()


class Sheet:
    """One worksheet of a :class:`Book`: ``append`` a row of values in the columns' order."""

    def __init__(self, book: Book, title: str, columns: Sequence[Column], streamed: bool) -> None:
        ws = book.workbook.create_sheet(title=sheet_title(title))
        ws._id = len(book.workbook.worksheets)  # its part's name, xl/worksheets/sheet<n>.xml
        self.ws = ws
        self.book = book
        self.columns = list(columns)
        self.zone = book.zone
        self.rows = 0
        self.finished = False
        for index, column in enumerate(self.columns, 1):
            width = column.width or max(WIDTHS[column.kind], min(text_width(column.header) + 2, MAX_WIDTH))
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        self._letters = [get_column_letter(index) for index in range(1, len(self.columns) + 1)]
        self._convert = [self._converter(column.kind, index) for index, column in enumerate(self.columns)]
        # Streamed: straight into the zip; else a temporary file, copied into the zip when it is done.
        self._file: IO[bytes] = (book.archive.open(_part_info(ws), "w") if streamed
                                 else tempfile.TemporaryFile())
        self.streamed = streamed
        self._pending: list[str] = [_part(ws, WorksheetWriter.write_top).removesuffix("</worksheet>"),
                                    "<sheetData>"]
        bold = Font(bold=True)
        header = []
        for column in self.columns:
            cell = safe_cell(column.header, ws)
            if not isinstance(cell, Cell):
                cell = WriteOnlyCell(ws, cell)
            cell.font = bold
            header.append(cell)
        self.rows += 1
        cells = "".join(self._openpyxl_cell(cell, index, "1") for index, cell in enumerate(header))
        self._pending.append(f'<row r="1">{cells}</row>')

    # A column's converter answers a cell's XML ("" for no cell) from the value and the row's number.
    def _converter(self, kind: str, index: int):
        letter = self._letters[index]
        if kind == TEXT:
            return self._text_converter(index)
        read = {MONEY: stored_money, DATETIME: self._local}.get(kind)
        epoch = self.ws.parent.epoch
        template = WriteOnlyCell(self.ws)
        template.number_format = FORMATS[kind]
        middle = ""  # '" s="<style>" t="n"><v>': the style registered when first used, as openpyxl does

        def convert(value, row: str) -> str:
            nonlocal middle
            if read is not None:
                value = read(value)
                if value is None:
                    return ""
                if isinstance(value, dt.datetime):
                    value = to_excel(value, epoch)
            elif type(value) not in _NUMBER_TYPES:  # the common case skips number()
                value = number(value)
                if value is None:
                    return ""
            if not middle:
                middle = f'" s="{template.style_id}" t="n"><v>'
            text = "%.16g" % value  # noqa: UP031 - openpyxl's own format, kept for identical cells
            if text in _NOT_FINITE:
                text = ""
            return f'<c r="{letter}{row}{middle}{text}</v></c>'

        return convert

    def _text_converter(self, index: int):
        """A text column's cells, as :func:`safe_cell` makes them: text stays text, formula-looking text
        carries the quote prefix, numbers stay numbers."""
        letter = self._letters[index]
        book = self.book
        known: dict[str, str] = {}  # a text → its cell after the reference (stations, states repeat)

        def after_reference(value: str) -> str:
            value = clean_text(value)
            if looks_like_formula(value):
                return f' s="{book.quoted_style}" t="inlineStr"><is>{_text_element(value)}</is></c>'
            if value in ERROR_CODES:  # openpyxl's reading of such a text, kept
                return f' t="e"><v>{value}</v></c>'
            if not value:
                return ' t="inlineStr"/>'
            return f' t="inlineStr"><is>{_text_element(value)}</is></c>'

        def convert(value, row: str) -> str:
            if value is None:
                return ""
            if type(value) is not str:
                if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                    return f'<c r="{letter}{row}" t="n"><v>{_number_text(value)}</v></c>'
                if isinstance(value, Cell | dt.date | dt.time | dt.timedelta | bool):
                    return self._openpyxl_cell(value, index, row)
                value = str(value)  # a lazy translation, an enum member
            rest = known.get(value)
            if rest is None:
                rest = after_reference(value)
                if len(known) < KNOWN_TEXTS:
                    known[value] = rest
            return f'<c r="{letter}{row}"{rest}'

        return convert

    def _openpyxl_cell(self, value, index: int, row: str) -> str:
        """The cell as openpyxl's own writer writes it (the header, values the fast path leaves to it)."""
        cell = value if isinstance(value, Cell) else WriteOnlyCell(self.ws, value)
        cell.row, cell.column = int(row), index + 1
        collected = _Collected()
        etree_write_cell(collected, self.ws, cell, cell.has_style)
        return tostring(collected.element, encoding="unicode")

    def _local(self, when: Any) -> dt.datetime | None:
        """A stored moment as the zone's wall time (Excel keeps no zone); naive ones are UTC."""
        if not isinstance(when, dt.datetime):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(self.zone).replace(tzinfo=None, microsecond=0)

    def append(self, values: Sequence[Any]) -> None:
        if self.finished:
            raise ValueError(f"the sheet {self.ws.title!r} is finished")
        row = str(self.rows + 1)
        xml = "".join([convert(value, row) for convert, value in zip(self._convert, values, strict=True)])
        self.rows += 1
        self._pending.append(f'<row r="{row}">{xml}</row>')
        if len(self._pending) >= ROWS_PER_WRITE:
            self._write()

    def _write(self) -> None:
        self._file.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def finish(self) -> None:
        """No more rows: the autofilter over them and the sheet's end. A streamed sheet's part is then
        complete, and the next sheet the book makes streams in its turn."""
        if self.finished:
            return
        if self.columns:
            self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.columns))}{max(self.rows, 1)}"
        tail = _part(self.ws, WorksheetWriter.write_tail)
        self._pending += ["</sheetData>", tail[tail.index(">") + 1:]]
        self._write()
        self.finished = True
        if self.streamed:
            self._file.close()

    def copy_into(self, archive: ZipFile) -> None:
        """A finished sheet that waited in its file: into the zip."""
        if self.streamed:
            return
        self._file.seek(0)
        with archive.open(_part_info(self.ws), "w") as part:
            shutil.copyfileobj(self._file, part, 1 << 20)
        self.close()

    def close(self) -> None:
        """Its file closed: a waiting sheet's file is removed."""
        self._file.close()


def _part_info(ws) -> ZipInfo:
    """A sheet's entry in the zip, dated and compressed as the workbook's other parts."""
    info = ZipInfo(ws.path[1:], time.localtime(time.time())[:6])
    info.compress_type = ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def _part(ws, write) -> str:
    """What openpyxl's sheet writer writes with ``write`` (the sheet's top or its tail), in its
    ``<worksheet>`` element."""
    writer = WorksheetWriter(ws, out=BytesIO())
    write(writer)
    return writer.read().decode("utf-8")


class Book:
    """A workbook written to ``out`` (a path or a writable binary file) as it is filled: add sheets, fill
    them (side by side if need be), then ``save``. Used as a context manager, a workbook left unsaved (an
    error on the way) is discarded: its temporary files removed, ``out`` never completed into a valid file
    (a path is removed)."""

    def __init__(self, out: str | os.PathLike | IO[bytes], zone: ZoneInfo | None = None) -> None:
        self.workbook = Workbook(write_only=True)
        self.workbook.properties.creator = "Jixiao"
        # As openpyxl's save sets it.
        self.workbook.properties.modified = dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)
        self.zone = zone or local_zone()
        self.sheets: list[Sheet] = []
        self.saved = False
        self._quoted_style: int | None = None
        self._path = os.fspath(out) if isinstance(out, str | os.PathLike) else None
        self._sink = _Sink(open(self._path, "wb") if self._path else out)  # noqa: SIM115 - closed by save
        try:
            self.archive = ZipFile(self._sink, "w", ZIP_DEFLATED)
            # The fixed parts first: a download shows bytes before any row is read.
            self.archive.writestr(ARC_APP, tostring(ExtendedProperties().to_tree()))
            self.archive.writestr(ARC_CORE, tostring(self.workbook.properties.to_tree()))
            self.archive.writestr(ARC_THEME, theme_xml)
            self._sink.flush()
        except BaseException:
            self.discard()
            raise

    def __enter__(self) -> Book:
        return self

    def __exit__(self, *exc) -> None:
        if not self.saved:
            self.discard()

    @property
    def quoted_style(self) -> int:
        """The style of text cells carrying Excel's quote prefix."""
        if self._quoted_style is None:
            cell = WriteOnlyCell(self.sheets[0].ws)
            cell.quotePrefix = True
            self._quoted_style = self.workbook._cell_styles.add(cell._style)
        return self._quoted_style

    def sheet(self, title: str, columns: Sequence[Column]) -> Sheet:
        """A new sheet; it streams into the file unless another is streaming and not finished."""
        streamed = all(sheet.finished or not sheet.streamed for sheet in self.sheets)
        sheet = Sheet(self, title, columns, streamed)
        self.sheets.append(sheet)
        return sheet

    def discard(self) -> None:
        """Stop: nothing more reaches ``out`` (a half-written zip stays invalid), the waiting sheets'
        files are removed, a path written to is removed."""
        self._sink.broken = True
        for sheet in self.sheets:
            with suppress(Exception):
                sheet.close()
        self.sheets = []
        if self._path:
            with suppress(OSError):
                self._sink.out.close()
            with suppress(OSError):
                os.unlink(self._path)

    def save(self) -> None:
        """Finish every sheet and write the rest of the workbook: its styles, the workbook part, the
        relationships and content types, and the zip's directory."""
        if not self.sheets:
            self.sheet("Sheet", [])  # a workbook has at least one sheet
        for sheet in self.sheets:
            sheet.finish()
        manifest = Manifest()
        for sheet in self.sheets:
            sheet.copy_into(self.archive)
            manifest.append(sheet.ws)
        workbook, archive = self.workbook, self.archive
        archive.writestr(ARC_STYLE, tostring(write_stylesheet(workbook)))
        writer = WorkbookWriter(workbook)
        archive.writestr(ARC_ROOT_RELS, writer.write_root_rels())
        archive.writestr(ARC_WORKBOOK, writer.write())
        archive.writestr(ARC_WORKBOOK_RELS, writer.write_rels())
        manifest._write(archive, workbook)
        archive.close()
        self._sink.flush()
        if self._path:
            self._sink.out.close()
        self.saved = True
