"""Text never becomes a formula: a workbook written with safe_cell and opened again holds string cells with
the text as written; numbers and dates stay numbers and dates; the writer's sheets keep their header, widths
and number formats."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from app.exports import Book, Column, safe_cell
from app.exports.sheets import DATETIME, MONEY, SCORE, SHARE, sheet_title, text_width

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "=1+1", "\t=1+1", "\r=1+1", "\n@x",
           "-2+3", "=cmd|' /C calc'!A0"]


def reopened(fill, zone: str = "UTC"):
    """The workbook ``fill(book)`` writes, saved and opened again."""
    out = io.BytesIO()
    with Book(out, ZoneInfo(zone)) as book:
        fill(book)
        book.save()
    return load_workbook(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_looking_text_stays_the_same_text_in_a_string_cell(text):
    cell = reopened(lambda book: book.sheet("t", [Column("name")]).append([text]))["t"]["A2"]
    assert cell.data_type == "s"
    assert cell.value == text.replace("\r", "\n")  # XML reads a carriage return as a line feed
    assert cell.quotePrefix  # stays text when someone edits the cell


def test_plain_text_numbers_and_none_pass_unchanged():
    assert safe_cell("张伟") == "张伟"
    assert safe_cell("a=b") == "a=b"
    assert [safe_cell(v) for v in (5, 1.5, Decimal("12"), None)] == [5, 1.5, Decimal("12"), None]
    assert safe_cell("x\x01y\x1f") == "xy"  # characters XML cannot hold are dropped
    assert len(safe_cell("x" * 40000)) == 32767


def test_an_unsafe_cell_without_a_sheet_is_still_a_string_cell():
    cell = safe_cell("=1+1")
    assert (cell.data_type, cell.value, cell.quotePrefix) == ("s", "=1+1", True)


def test_number_formats_frozen_header_widths_and_local_times():
    def fill(book):
        sheet = book.sheet("Sheet [1]: a/b", [Column("姓名"), Column("Total", SCORE), Column("Share", SHARE),
                                              Column("Amount", MONEY), Column("Signed at", DATETIME)])
        signed = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
        sheet.append(["张伟", 83.15, 0.25, Decimal("1235"), signed])
        sheet.append(["李明", None, None, None, dt.datetime(2026, 12, 31, 16, 30)])  # naive = UTC

    ws = reopened(fill, "Asia/Shanghai").worksheets[0]
    assert ws.title == sheet_title("Sheet [1]: a/b") == "Sheet  1   a b"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:E3"
    assert ws["A1"].font.bold
    assert [c.number_format for c in ws[2][1:]] == ["0.00", "0.0%", "#,##0", "yyyy-mm-dd hh:mm"]
    assert [c.value for c in ws[2]] == ["张伟", 83.15, 0.25, 1235, dt.datetime(2027, 1, 1, 0, 30)]
    assert ws["E3"].value == dt.datetime(2027, 1, 1, 0, 30)
    assert [ws["B3"].value, ws["C3"].value, ws["D3"].value] == [None, None, None]
    assert ws.column_dimensions["A"].width >= text_width("姓名") and text_width("姓名") == 4


def test_a_row_of_the_wrong_length_is_refused_and_the_unsaved_book_leaves_no_file(tmp_path):
    path = tmp_path / "t.xlsx"
    with pytest.raises(ValueError), Book(path, ZoneInfo("UTC")) as book:
        streamed = book.sheet("t", [Column("a"), Column("b")])
        waiting = book.sheet("u", [Column("a")])  # in a temporary file until the first is done
        streamed.append(["a", "b"])
        waiting.append(["a"])
        assert path.exists()
        streamed.append(["only one"])
    assert not path.exists()
    assert waiting._file.closed  # an unnamed temporary file: closed, it is gone
