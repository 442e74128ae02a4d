"""Workbooks small on disk that describe huge tables, written as raw sheet XML (no library would
write them): one row of millions of cells, a million blank rows, a size that lies."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument" '
                    'Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (f'<workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets>'
                        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
                                   f'Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
                                   '</Relationships>'),
}


def workbook(rows: Iterable[str], dimension: str | None = None, after: str = "") -> io.BytesIO:
    """An .xlsx whose first sheet holds ``rows`` (``<row>`` XML, streamed into the zip) and then
    ``after``, raw text: put broken XML there to show that a reader stopped before it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in PARTS.items():
            zf.writestr(name, text)
        with zf.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}">'.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            chunk: list[str] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= 10_000:
                    sheet.write("".join(chunk).encode())
                    chunk = []
            sheet.write("".join(chunk).encode())
            sheet.write(after.encode() or b"</sheetData></worksheet>")
    out.seek(0)
    return out


def row(number: int, values: Iterable[object]) -> str:
    cells = "".join(f'<c t="inlineStr"><is><t>{escape(str(v))}</t></is></c>' for v in values)
    return f'<row r="{number}">{cells}</row>'


def wide_row(number: int, cells: int) -> Iterator[str]:
    """One row of ``cells`` numbers, in pieces."""
    yield f'<row r="{number}">'
    piece = "<c><v>1</v></c>" * 10_000
    for _ in range(cells // 10_000):
        yield piece
    yield "</row>"


def blank_rows(count: int) -> Iterator[str]:
    """Rows that hold nothing but an empty formatted cell, as sheets formatted to the bottom do
    (unnumbered: each follows the row before)."""
    for _ in range(count):
        yield '<row><c s="1"/></row>'


BROKEN = "<c><v>1</v></c><this is not xml"
