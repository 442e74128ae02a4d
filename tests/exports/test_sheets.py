"""The sheets write their rows' XML themselves (app/exports/sheets.py); a workbook reads back exactly as
openpyxl's own write-only cells wrote it (tests/exports/reference.py): every value, type, number format, bold
header and quote prefix, and the widths, frozen panes and filters. The zip never seeks and a sheet filled
side by side waits in a temporary file."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from app.exports import Book, Column
from app.exports.sheets import COUNT, DATETIME, MONEY, NUMBER, SCORE, SHARE, TEXT
from tests.exports.reference import ReferenceBook, cells

KINDS = [TEXT, SCORE, SHARE, MONEY, NUMBER, COUNT, DATETIME]
VALUES = [
    None, "", " ", "张伟", " leading", "trailing ", "a & b < c > d", 'quote " and \' apostrophe',
    "line\nbreak", "tab\tinside", "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r\n@x", "=", "#N/A", "#DIV/0!",
    "x\x01y", "\ud800lone", "x" * 40000, "A1", "1.5", "0001",
    0, 1, -1, 2**53 + 1, 10**20, 0.1 + 0.2, 1e-300, -0.0, 83.15, 1 / 3, float("nan"), float("inf"),
    Decimal("1235"), Decimal("1234.56"), Decimal("-0.001"), Decimal("1E+3"),
    True, False,
    dt.date(2026, 12, 31), dt.datetime(2026, 12, 31, 16, 30, 5, 123456), dt.time(8, 30),
    dt.datetime(1900, 2, 28, 12), dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC),
]


def written(book_class, fill, zone="Asia/Shanghai") -> tuple[bytes, dict]:
    out = io.BytesIO()
    with book_class(out, ZoneInfo(zone)) as book:
        fill(book)
        book.save()
    data = out.getvalue()
    return data, cells(load_workbook(io.BytesIO(data)))


def as_text(value):
    """A value for a text column: not an aware moment (openpyxl refuses it; the converters of moment
    columns make them local first)."""
    return None if isinstance(value, dt.datetime) and value.tzinfo is not None else value


def test_every_kind_of_value_in_every_kind_of_column_reads_as_openpyxls_cells():
    def fill(book):
        for kind in KINDS:
            sheet = book.sheet(f"{kind} column", [Column("值"), Column(f"{kind} header", kind), Column("=x")])
            for value in VALUES:
                sheet.append([as_text(value), value if kind != TEXT else as_text(value), as_text(value)])

    _data, fast = written(Book, fill)
    _data, reference = written(ReferenceBook, fill)
    assert fast.keys() == reference.keys() and len(fast) == len(KINDS)
    for title in fast:
        assert fast[title] == reference[title] or _same_but_nan(fast[title], reference[title]), title
    rows = fast["text column"]["rows"]
    assert rows[0][2][1:] == ("s", "General", True, True)  # a formula-looking header: bold text
    assert ("=1+1", "s", "General", False, True) in [row[0] for row in rows]


def _same_but_nan(one: dict, other: dict) -> bool:
    """NaN never equals itself: compare the rows as text."""
    return repr(one) == repr(other)


def test_rows_of_many_columns_and_thousands_of_rows_read_as_openpyxls():
    columns = [Column("Station"), Column("Score", SCORE), Column("Share", SHARE), Column("Amount", MONEY),
               Column("Signed", DATETIME), Column("Count", COUNT)]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def fill(book):
        results = book.sheet("Results", columns)
        payroll = book.sheet("Payroll", columns[:2])  # filled side by side: waits in a temporary file
        for i in range(3000):
            row = [f"S{i % 7:02d}", i / 7, (i % 100) / 100, str(i * 10) if i % 3 else None,
                   start + dt.timedelta(minutes=17 * i) if i % 5 else None, i]
            results.append(row)
            if i % 2:
                payroll.append(row[:2])

    data, fast = written(Book, fill)
    _data, reference = written(ReferenceBook, fill)
    assert fast == reference
    assert len(fast["Results"]["rows"]) == 3001 and fast["Results"]["filter"] == "A1:F3001"
    names = [info.filename for info in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    # The fixed parts first, then the streamed sheet, the waiting one, and what closes the workbook.
    assert names[:5] == ["docProps/app.xml", "docProps/core.xml", "xl/theme/theme1.xml",
                         "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"]
    assert names[-1] == "[Content_Types].xml"


def test_the_file_is_written_as_rows_come_and_never_sought():
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.data += data
            return len(data)

        def seekable(self):
            return False

        def tell(self):
            raise OSError("not seekable")

    out = Unseekable()
    with Book(out, ZoneInfo("UTC")) as book:
        assert bytes(out.data).startswith(b"PK\x03\x04")  # the fixed parts: written at once
        sheet = book.sheet("t", [Column("a"), Column("b", SCORE)])
        before = len(out.data)
        for i in range(20000):
            sheet.append([f"row {i}", i])
        assert len(out.data) > before + 10000  # rows reached the file before the workbook was saved
        book.save()
    ws = load_workbook(io.BytesIO(bytes(out.data)))["t"]
    assert ws.max_row == 20001 and ws["A20001"].value == "row 19999" and ws["B20001"].value == 19999


@pytest.mark.parametrize("fail_after", [0, 5000])
def test_a_workbook_that_fails_on_the_way_leaves_no_valid_looking_file(fail_after):
    out = io.BytesIO()
    with pytest.raises(RuntimeError), Book(out, ZoneInfo("UTC")) as book:
        streamed = book.sheet("t", [Column("a")])
        waiting = book.sheet("u", [Column("a")])
        for i in range(fail_after):
            streamed.append([f"row {i}"])
            waiting.append([i])
        raise RuntimeError("the database went away")
    assert out.getvalue().startswith(b"PK\x03\x04")
    assert not zipfile.is_zipfile(io.BytesIO(out.getvalue()))  # no directory: no reader takes it
    assert waiting._file.closed
