"""A file may describe a far larger table than it weighs: the import stops at its limits (rows,
columns, cells; a run of blank rows ends a workbook's data) before reading what lies beyond them,
and says which limit, in the importer's usual error list."""

from __future__ import annotations

import io

import pytest

from app.extensions import db
from app.importing import ImportRejected, import_file
from tests.source.factories import ORDER_HEADER, counts, csv_bytes, make_org, order
from tests.source.hostile import BROKEN, blank_rows, row, wide_row, workbook

HEADER = ["order_no", "station_code", "technician_no", "customer_type", "reported_at"]
ONE = ["L1", "T01", "TA", "consumer", "2024-05-10 08:00"]


@pytest.fixture
def org(appctx):
    return make_org(db.session)


def refused(source, kind="work-orders") -> list[dict]:
    before = counts()
    with pytest.raises(ImportRejected) as info:
        import_file(db.session, kind, source)
    assert counts() == before
    return info.value.errors


@pytest.mark.parametrize("dimension", ["A1:XFD2", None, "A1:E2"], ids=["declared", "undeclared", "lying"])
def test_a_row_of_two_million_cells_is_refused_at_the_column_limit(org, dimension):
    # 2,000,000 cells (about 30 MB of XML in a zip of a few hundred KB), then broken XML: a reader
    # that went past the limit would call the file damaged instead.
    source = workbook([row(1, HEADER), *wide_row(2, 2_000_000)], dimension=dimension, after=BROKEN)
    assert len(source.getvalue()) < 1_000_000
    errors = refused(source)
    assert len(errors) == 1 and "256 列" in errors[0]["message"]
    assert errors[0]["row"] == (None if dimension == "A1:XFD2" else 2)  # declared: before any row


def test_the_api_answers_422_naming_the_limit(app, api_as, org):
    source = workbook([row(1, HEADER), *wide_row(2, 2_000_000)], after=BROKEN)
    response = api_as("hr").post("/api/v1/import/work-orders?_l_=en", content_type="multipart/form-data",
                                 data={"file": (source, "orders.xlsx")})
    assert response.status_code == 422
    assert response.json == {"errors": [{"row": 2, "column": None, "message": (
        "The sheet is wider than 256 columns, the most an import reads; "
        "delete the columns it does not need.")}]}


def test_a_run_of_blank_rows_ends_the_data(org):
    # 1,500,000 formatted empty rows under the data, then broken XML that is never reached.
    rows = [row(1, HEADER), row(2, ONE), *blank_rows(1_500_000)]
    source = workbook(rows, dimension="A1:P1500002", after=BROKEN)
    assert len(source.getvalue()) < 1_000_000
    assert import_file(db.session, "work-orders", source).inserted == 1


def test_blank_rows_inside_the_data_are_skipped(org, app):
    app.config["JIXIAO_IMPORT_BLANK_ROWS"] = 10
    rows = [row(1, HEADER), row(2, ONE), *blank_rows(9), row(12, ["L2", *ONE[1:]])]
    assert import_file(db.session, "work-orders", workbook(rows)).inserted == 2
    # ten blank rows end the data: L4 is not read, whether the rows are there or skipped
    rows = [row(1, HEADER), row(2, ["L3", *ONE[1:]]), *blank_rows(10), row(13, ["L4", *ONE[1:]])]
    assert import_file(db.session, "work-orders", workbook(rows)).inserted == 1
    rows = [row(1, HEADER), row(2, ["L5", *ONE[1:]]), row(13, ["L6", *ONE[1:]])]
    assert import_file(db.session, "work-orders", workbook(rows)).inserted == 1


@pytest.mark.parametrize("dimension", ["A1:E5", None])
def test_more_rows_than_the_limit(org, app, dimension):
    app.config["JIXIAO_IMPORT_MAX_ROWS"] = 4
    rows = [row(1, HEADER), *(row(n, [f"R{n}", *ONE[1:]]) for n in range(2, 6))]
    errors = refused(workbook(rows, dimension=dimension, after=BROKEN if dimension else ""))
    assert [(e["row"], e["column"]) for e in errors] == [(None if dimension else 5, None)]
    assert "4 rows" in errors[0]["message"] or "4 行" in errors[0]["message"]
    errors = refused(csv_bytes(ORDER_HEADER, [order(f"C{n}") for n in range(5)]))
    assert [e["row"] for e in errors] == [5]
    # rows are counted as well as numbered: a sheet whose rows all say they are row 2
    same = [row(1, HEADER), *(row(2, [f"S{n}", *ONE[1:]]) for n in range(4))]
    assert "4" in refused(workbook(same))[0]["message"]


def test_more_cells_than_the_limit(org, app):
    app.config["JIXIAO_IMPORT_MAX_CELLS"] = 12
    rows = [row(1, HEADER), row(2, ONE), row(3, ["L2", *ONE[1:]])]
    declared = refused(workbook(rows, dimension="A1:E3", after=BROKEN))
    assert declared[0]["row"] is None and "12" in declared[0]["message"]
    assert [e["row"] for e in refused(workbook(rows))] == [3]


def test_a_wide_csv_row_is_refused(org):
    text = ",".join(HEADER) + "\n" + ",".join(ONE) + "," * 300 + "\n"
    errors = refused(io.BytesIO(text.encode()))
    assert [e["row"] for e in errors] == [2] and "256" in errors[0]["message"]
    assert refused(io.BytesIO(("," * 300 + "\n").encode()))[0]["row"] == 1


def test_a_csv_line_of_millions_of_characters_is_refused_before_it_is_parsed(org):
    text = ",".join(HEADER) + "\n" + "," * 3_000_000 + "\n"
    errors = refused(io.BytesIO(text.encode()))
    assert [e["row"] for e in errors] == [2] and "1,048,576" in errors[0]["message"]


@pytest.mark.parametrize(("lang", "words"), [("en", "longer than 131,072 characters"),
                                             ("zh_CN", "超过 131,072 个字符")])
def test_an_over_long_csv_cell_names_its_column_and_the_limit(app, api_as, org, lang, words):
    text = ",".join(HEADER) + "\n" + ",".join(ONE) + "\n" + 'L2,T01,"' + "甲" * 200_000 + '",consumer,x\n'
    response = api_as("hr").post(f"/api/v1/import/work-orders?_l_={lang}", content_type="multipart/form-data",
                                 data={"file": (io.BytesIO(text.encode()), "orders.csv")})
    assert response.status_code == 422
    [error] = response.json["errors"]
    assert (error["row"], error["column"]) == (3, "technician_no")
    assert words in error["message"] and "technician_no" in error["message"]
    assert "field larger" not in error["message"]


def test_the_limits_admit_the_spec_files():
    """A million work orders with every column, and Excel's own largest sheet, fit."""
    from app.importing.kinds import WorkOrders
    from app.importing.reader import Limits
    from config import load

    limits = Limits.from_config(load())
    assert limits == Limits()  # the reader's defaults are the configuration's
    assert limits.rows >= 1_048_576 and limits.columns >= len(WorkOrders.columns)
    assert limits.cells >= 1_000_001 * len(WorkOrders.columns)
