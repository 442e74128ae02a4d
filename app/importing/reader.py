"""Open an uploaded file as a table: header plus rows, whatever the format, without asking.

* ``.xlsx`` (a zip) through openpyxl in read-only mode, first sheet;
* CSV in UTF-8 with or without a BOM, else GB18030 (a superset of GBK, what Excel in China
  saves), decided on the first few megabytes;
* anything else (old ``.xls``, UTF-16, binary) is refused with a message saying what to do.

Rows stream: nothing holds more than one row. Each row carries its spreadsheet row number
(header = row 1), counting rows a CSV cell spans several lines in as one, like a spreadsheet.
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


class FileRefused(Exception):
    """The file as a whole cannot be read; ``row`` is set when the problem starts mid-file."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


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


def open_table(source: str | os.PathLike | IO[bytes]) -> Table:
    """Open ``source`` (a path or a binary file object, seekable) and read its header."""
    if isinstance(source, (str, os.PathLike)):
        raw: IO[bytes] = open(Path(source), "rb")  # noqa: SIM115 - closed when the rows end
    else:
        raw = source
    head = raw.read(8)
    raw.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(raw)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(_("Old .xls workbooks are not supported; save the file as .xlsx or CSV."))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(_("UTF-16 text is not supported; save the file as CSV (UTF-8) or .xlsx."))
    return _open_csv(raw)


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


def _open_csv(raw: IO[bytes]) -> Table:
    encoding = _detect_encoding(raw)
    try:
        total = os.fstat(raw.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        raw.seek(0, io.SEEK_END)
        total = raw.tell()
        raw.seek(0)
    counting = _Counting(raw)
    stream = io.TextIOWrapper(io.BufferedReader(counting, 1 << 16), encoding=encoding, newline="")
    first = stream.readline()
    if not first.strip():
        raise FileRefused(_("The file is empty."))
    delimiter = "\t" if "\t" in first and "," not in first else ","
    header = next(csv.reader([first], delimiter=delimiter))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            for number, cells in enumerate(reader, 2):  # noqa: B007 - used after the loop
                yield number, cells
        except UnicodeDecodeError:
            raise FileRefused(
                _("The file is not valid %(encoding)s text from this row on.", encoding=encoding.upper()),
                row=number + 1,
            ) from None
        except csv.Error as exc:
            raise FileRefused(_("The CSV text is malformed: %(reason)s", reason=str(exc)), row=number + 1) from None
        finally:
            raw.close()

    return Table(header=header, rows=rows(), total=total, encoding=encoding, _done=lambda: counting.count)


def _open_xlsx(raw: IO[bytes]) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(raw, read_only=True, data_only=False)
        sheet = workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        first = next(values, None)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise FileRefused(_("The .xlsx workbook cannot be read; is the file damaged?")) from None
    if first is None:
        workbook.close()
        raise FileRefused(_("The file is empty."))
    header = ["" if v is None else str(v) for v in first]
    while header and not header[-1].strip():
        header.pop()
    position = [1]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(values, 2):
                position[0] = number
                yield number, ["" if v is None else v for v in cells]
        except Exception:  # noqa: BLE001
            raise FileRefused(_("The .xlsx workbook cannot be read; is the file damaged?"),
                              row=position[0] + 1) from None
        finally:
            workbook.close()

    total = sheet.max_row or 0
    return Table(header=header, rows=rows(), total=total, encoding="xlsx", _done=lambda: position[0])
