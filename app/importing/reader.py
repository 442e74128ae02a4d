"""Open an uploaded file as a table: header plus rows, whatever the format, without asking.

* ``.xlsx`` (a zip), first sheet: openpyxl reads the workbook's parts and converts each cell,
  the sheet's rows are read here as its XML streams;
* CSV in UTF-8 with or without a BOM, else GB18030 (a superset of GBK, what Excel in China
  saves), decided on the first few megabytes;
* anything else (old ``.xls``, UTF-16, binary) is refused with a message saying what to do.

Rows stream: nothing holds more than one row. Each row carries its spreadsheet row number
(header = row 1), counting rows a CSV cell spans several lines in as one, like a spreadsheet.

A small file may describe a huge table (an .xlsx is compressed: 200 KB can hold a row of two
million cells or a million empty rows), so the table's size is bounded by :class:`Limits`: a
workbook's declared size is checked before any row is read, and since that declaration may be
missing or false, every limit is checked again while reading. A workbook's rows are read here from
the sheet's XML as it streams, never widened to the declared width; a run of blank rows ends its
data (sheets often carry formatted empty rows to the bottom).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext as _

SNIFF_BYTES = 4 * 1024 * 1024
# A CSV line is read at most this far before csv parses it: a line of commas is a row of cells.
MAX_LINE_CHARS = 1024 * 1024
# In a sheet's XML a cell's value takes two or three elements; a flood of them is no spreadsheet.
MAX_ELEMENTS_BETWEEN_CELLS = 100_000


def _grouped(n: int) -> str:
    return f"{n:,}"  # 2,000,000: digits grouped the same way in Chinese and English


@dataclass(frozen=True)
class Limits:
    """How large a table one import reads (the defaults admit a million work orders twice over).
    Set by ``JIXIAO_IMPORT_MAX_ROWS``, ``…_MAX_COLUMNS``, ``…_MAX_CELLS`` and ``…_BLANK_ROWS``."""

    rows: int = 2_000_000  # the last spreadsheet row that may hold data (the header is row 1)
    columns: int = 256
    cells: int = 40_000_000  # cells present in a workbook, or declared by its size
    blank_rows: int = 1_000  # in a workbook, this many blank rows in a row end the data

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(rows=int(config.get("JIXIAO_IMPORT_MAX_ROWS", cls.rows)),
                   columns=int(config.get("JIXIAO_IMPORT_MAX_COLUMNS", cls.columns)),
                   cells=int(config.get("JIXIAO_IMPORT_MAX_CELLS", cls.cells)),
                   blank_rows=int(config.get("JIXIAO_IMPORT_BLANK_ROWS", cls.blank_rows)))

    def too_many_rows(self, row: int | None = None) -> FileRefused:
        return FileRefused(_("The file has more than %(n)s rows, the most one import reads; split it into "
                             "several files.", n=_grouped(self.rows)), row=row)

    def too_many_columns(self, row: int | None = None) -> FileRefused:
        return FileRefused(_("The sheet is wider than %(n)s columns, the most an import reads; delete the "
                             "columns it does not need.", n=_grouped(self.columns)), row=row)

    def too_many_cells(self, row: int | None = None) -> FileRefused:
        return FileRefused(_("The sheet has more than %(n)s cells, the most one import reads; delete what it "
                             "does not need or split it into several files.",
                             n=_grouped(self.cells)), row=row)


class FileRefused(Exception):
    """The file as a whole cannot be read; ``row`` (and ``column``, a header name) are set when
    the problem is in one place."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


class _Counting(io.RawIOBase):
    """Counts the bytes read through it, for the progress bar."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    total: int  # progress units: bytes for CSV, rows for xlsx (0 = unknown)
    encoding: str = ""
    _done: Any = field(default=None, repr=False)

    def done(self) -> int:
        return self._done() if self._done else 0


def open_table(source: str | os.PathLike | IO[bytes], limits: Limits | None = None) -> Table:
    """Open ``source`` (a path or a binary file object, seekable) and read its header. Raises
    FileRefused when the file cannot be read or is larger than ``limits`` (the defaults if None);
    the rows raise it where they go past a limit."""
    limits = limits or Limits()
    if isinstance(source, (str, os.PathLike)):
        raw: IO[bytes] = open(Path(source), "rb")  # noqa: SIM115 - closed when the rows end
    else:
        raw = source
    head = raw.read(8)
    raw.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(raw, limits)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(_("Old .xls workbooks are not supported; save the file as .xlsx or CSV."))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(_("UTF-16 text is not supported; save the file as CSV (UTF-8) or .xlsx."))
    return _open_csv(raw, limits)


def _detect_encoding(raw: IO[bytes]) -> str:
    sample = raw.read(SNIFF_BYTES)
    whole = len(sample) < SNIFF_BYTES
    raw.seek(0)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in sample:
        raise FileRefused(_("This is not a CSV or .xlsx file."))
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileRefused(_("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV (UTF-8) or .xlsx."))


def _open_csv(raw: IO[bytes], limits: Limits) -> Table:
    encoding = _detect_encoding(raw)
    try:
        total = os.fstat(raw.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        raw.seek(0, io.SEEK_END)
        total = raw.tell()
        raw.seek(0)
    counting = _Counting(raw)
    stream = io.TextIOWrapper(io.BufferedReader(counting, 1 << 16), encoding=encoding, newline="")
    record: list[str] = []  # the lines of the row being read, to say which cell is too long

    def line() -> str:
        text = stream.readline(MAX_LINE_CHARS + 1)
        if len(text) > MAX_LINE_CHARS:
            raise FileRefused(_("A line of the file is longer than %(n)s characters; "
                                "is it really a CSV file?", n=_grouped(MAX_LINE_CHARS)))
        return text

    first = line()
    if not first.strip():
        raise FileRefused(_("The file is empty."))
    delimiter = "\t" if "\t" in first and "," not in first else ","
    header = next(csv.reader([first], delimiter=delimiter))
    if len(header) > limits.columns:
        raise limits.too_many_columns(row=1)

    def lines() -> Iterator[str]:
        while text := line():
            record.append(text)
            yield text

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1
        reader = csv.reader(lines(), delimiter=delimiter)
        try:
            for number, cells in enumerate(reader, 2):  # noqa: B007 - used after the loop
                record.clear()
                if number > limits.rows:
                    raise limits.too_many_rows(row=number)
                if len(cells) > limits.columns:
                    raise limits.too_many_columns(row=number)
                yield number, cells
        except UnicodeDecodeError:
            raise FileRefused(
                _("The file is not valid %(encoding)s text from this row on.", encoding=encoding.upper()),
                row=number + 1,
            ) from None
        except csv.Error as exc:
            if str(exc).startswith("field larger than field limit"):
                raise _cell_too_long(header, "".join(record), delimiter, number + 1) from None
            raise FileRefused(_("The CSV text is malformed: %(reason)s", reason=str(exc)),
                              row=number + 1) from None
        except FileRefused as exc:
            exc.row = exc.row or number + 1
            raise
        finally:
            raw.close()

    return Table(header=header, rows=rows(), total=total, encoding=encoding, _done=lambda: counting.count)


def _cell_too_long(header: list[str], text: str, delimiter: str, row: int) -> FileRefused:
    """csv stops at a cell longer than it reads; name that cell's column (from the row's text)."""
    limit = csv.field_size_limit()
    index, quoted, length = 0, False, 0
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            index, length = index + 1, 0
        else:
            length += 1
            if length > limit:
                break
    name = header[index].strip().lower() if index < len(header) else ""
    column = name or str(index + 1)
    return FileRefused(_("The cell in column “%(column)s” is longer than %(n)s characters, "
                         "the most a cell may hold.", column=column, n=_grouped(limit)),
                       row=row, column=column)


@dataclass
class _Sheet:
    """The first worksheet of a workbook, opened without reading its rows."""

    archive: Any  # the zip
    path: str
    strings: list
    workbook: Any  # openpyxl's Workbook: the epoch and which styles are dates
    size: tuple[int, int, int, int] | None  # declared (min column, min row, max column, max row)


def _open_sheet(raw: IO[bytes]) -> _Sheet:
    """openpyxl's ``load_workbook`` would, for a sheet that does not declare its size, read the
    whole sheet once just to measure it; here the workbook's parts are read as it does, and the
    sheet's declared size is looked up in the sheet's first elements only."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(raw, read_only=True, data_only=False)
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        names = set(reader.archive.namelist())
        path = next(rel.target for _sheet, rel in reader.parser.find_sheets()
                    if "chartsheet" not in rel.Type and rel.target in names)
        return _Sheet(reader.archive, path, reader.shared_strings, reader.wb,
                      _declared_size(reader.archive, path))
    except BaseException:
        reader.archive.close()
        raise


def _declared_size(archive, path: str) -> tuple[int, int, int, int] | None:
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    with archive.open(path) as source:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == f"{{{SHEET_MAIN_NS}}}dimension":
                ref = element.get("ref") or ""
                bounds = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
                return bounds if None not in bounds else None
            if element.tag == f"{{{SHEET_MAIN_NS}}}sheetData":
                return None
    return None


def _open_xlsx(raw: IO[bytes], limits: Limits) -> Table:
    try:
        sheet = _open_sheet(raw)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise FileRefused(_("The .xlsx workbook cannot be read; is the file damaged?")) from None
    try:
        _check_declared_size(sheet.size, limits)
    except FileRefused:
        sheet.archive.close()
        raise
    position = [1]
    values = _sheet_rows(sheet, limits, position)
    try:
        first = next(values, None)
    except FileRefused:
        values.close()
        raise
    if first is None:
        values.close()
        raise FileRefused(_("The file is empty."))
    header = ["" if v is None else str(v) for v in first[1]]
    while header and not header[-1].strip():
        header.pop()
    total = min(sheet.size[3], limits.rows) if sheet.size else 0
    return Table(header=header, rows=values, total=total, encoding="xlsx", _done=lambda: position[0])


def _check_declared_size(size: tuple[int, int, int, int] | None, limits: Limits) -> None:
    """The size the sheet declares (its ``dimension``), before reading a row of it."""
    if size is None:
        return  # not declared: the rows are checked as they come
    min_column, min_row, max_column, max_row = size
    if max_column > limits.columns:
        raise limits.too_many_columns()
    if max_row > limits.rows:
        raise limits.too_many_rows()
    if (max_row - min_row + 1) * (max_column - min_column + 1) > limits.cells:
        raise limits.too_many_cells()


def _sheet_rows(sheet: _Sheet, limits: Limits, position: list[int]) -> Iterator[tuple[int, list[Any]]]:
    """The first sheet's rows that hold something, as (row number, values), straight from its XML.

    openpyxl's own row reader builds a whole row before handing it over and pads every row, empty
    ones too, to the declared width: one row of two million cells, or a million blank rows of a
    wide sheet, would hold a worker for minutes. Here each cell is converted by openpyxl's parser
    as it arrives, and the limits stop the reading at the first cell past them.
    """
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    row_tag, cell_tag, data_tag = (f"{{{SHEET_MAIN_NS}}}{name}" for name in ("row", "c", "sheetData"))
    book = sheet.workbook
    parser = WorkSheetParser(None, sheet.strings, data_only=False, epoch=book.epoch,
                             date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
    number = last = rows = cells = in_row = loose = 0
    row: list[Any] = []
    sheet_data = None
    try:
        with sheet.archive.open(sheet.path) as source:
            for event, element in iterparse(source, events=("start", "end")):
                tag = element.tag
                if event == "end" and tag != cell_tag and tag != row_tag:
                    if tag == data_tag:
                        return  # what follows the data (merged cells, print setup…) is not needed
                    loose += 1  # a cell's value, or the parts before the data
                    if loose > MAX_ELEMENTS_BETWEEN_CELLS:
                        raise FileRefused(_("The .xlsx workbook cannot be read; is the file damaged?"))
                    continue
                if event == "start":
                    if tag == row_tag:
                        r = element.get("r")
                        number = int(r) if r and r.isdigit() else number + 1
                        rows += 1  # counted too: row numbers may repeat or go back
                        if number - last - 1 >= limits.blank_rows:
                            return  # a run of blank rows: the data has ended
                        if number > limits.rows or rows > limits.rows:
                            raise limits.too_many_rows(row=number)
                        parser.row_counter, parser.col_counter = number, 0
                        position[0], row, in_row = number, [], 0
                    elif tag == data_tag:
                        sheet_data = element
                    continue
                if tag == cell_tag:
                    cells += 1
                    in_row += 1
                    loose = 0
                    if cells > limits.cells:
                        raise limits.too_many_cells(row=number)
                    cell = parser.parse_cell(element)
                    element.clear()
                    column, value = cell["column"], cell["value"]
                    if column > limits.columns or in_row > limits.columns:
                        raise limits.too_many_columns(row=number)
                    if value is None or (value.__class__ is str and (not value or value.isspace())):
                        continue
                    if column > len(row):
                        row.extend([""] * (column - len(row)))
                    row[column - 1] = value
                elif tag == row_tag:
                    if row:
                        last = number
                        yield number, row
                    if sheet_data is not None:
                        sheet_data.clear()  # the rows read so far, so that memory stays flat
    except FileRefused as exc:
        exc.row = exc.row or number or None
        raise
    except Exception:  # noqa: BLE001 - a damaged sheet fails in many ways
        raise FileRefused(_("The .xlsx workbook cannot be read; is the file damaged?"),
                          row=number or None) from None
    finally:
        sheet.archive.close()
