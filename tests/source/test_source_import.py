"""The import service: formats, every rejection reason (file refused, row and column named, nothing
changed), --update, accounts for new employees, formula-looking text."""

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app.extensions import db
from app.importing import ImportRejected, import_file
from app.importing import kinds as kinds_module
from app.models import Employee, LaborCost, Survey, WorkOrder
from tests.source.factories import (
    COST_HEADER,
    ORDER_HEADER,
    SURVEY_HEADER,
    counts,
    csv_bytes,
    load,
    make_org,
    order,
)


@pytest.fixture
def org(appctx):
    ids = make_org(db.session)
    load("work-orders", ORDER_HEADER,
         [order("EXIST", reported_at="2024-05-01 08:00", completed_at="2024-05-01 12:00")])
    return ids


def rejected(kind, source, **kwargs):
    before = counts()
    with pytest.raises(ImportRejected) as info:
        import_file(db.session, kind, source, **kwargs)
    assert counts() == before, "a refused file changed the database"
    return [(e["row"], e["column"]) for e in info.value.errors], info.value.errors


def text_file(text: str, encoding="utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


HEAD = "order_no,station_code,technician_no,customer_type,reported_at,completed_at"
CASES = [
    # (name, kind, file text, expected (row, column) among the errors)
    ("missing required column", "work-orders",
     "order_no,station_code,customer_type,reported_at\nN1,T01,consumer,2024-05-01 10:00\n",
     (1, "technician_no")),
    ("unknown column", "work-orders", HEAD + ",colour\nN1,T01,TA,consumer,2024-05-01 10:00,,red\n",
     (1, "colour")),
    ("unknown station", "work-orders", HEAD + "\nN1,T01,TA,consumer,2024-05-01 10:00,\nN2,T99,TA,consumer,"
     "2024-05-01 10:00,\n", (3, "station_code")),
    ("unknown employee", "work-orders", HEAD + "\nN1,T01,NOBODY,consumer,2024-05-01 10:00,\n",
     (2, "technician_no")),
    ("bad date", "work-orders", HEAD + "\nN1,T01,TA,consumer,2024-13-01 10:00,\n", (2, "reported_at")),
    ("date without time", "work-orders", HEAD + "\nN1,T01,TA,consumer,2024-05-01,\n", (2, "reported_at")),
    ("bad number", "work-orders", HEAD + ",parts_cost\nN1,T01,TA,consumer,2024-05-01 10:00,,abc\n",
     (2, "parts_cost")),
    ("negative cost", "work-orders", HEAD + ",parts_cost\nN1,T01,TA,consumer,2024-05-01 10:00,,-5\n",
     (2, "parts_cost")),
    ("negative hours", "work-orders", HEAD + ",labor_hours\nN1,T01,TA,consumer,2024-05-01 10:00,,-1\n",
     (2, "labor_hours")),
    ("completed before reported", "work-orders",
     HEAD + "\nN1,T01,TA,consumer,2024-05-02 10:00,2024-05-01 10:00\n",
     (2, "completed_at")),
    ("customer type", "work-orders", HEAD + "\nN1,T01,TA,government,2024-05-01 10:00,\n",
     (2, "customer_type")),
    ("bad flag", "work-orders", HEAD + ",first_time_fixed\nN1,T01,TA,consumer,2024-05-01 10:00,,maybe\n",
     (2, "first_time_fixed")),
    ("duplicate in file", "work-orders", HEAD + "\nN1,T01,TA,consumer,2024-05-01 10:00,\nN1,T01,TA,consumer,"
     "2024-05-01 11:00,\n", (3, "order_no")),
    ("existing key without update", "work-orders", HEAD + "\nEXIST,T01,TA,consumer,2024-05-01 10:00,\n",
     (2, "order_no")),
    ("unknown rework", "work-orders", HEAD + ",rework_of\nN1,T01,TA,consumer,2024-05-01 10:00,,NOPE\n",
     (2, "rework_of")),
    ("required value empty", "work-orders", HEAD + "\nN1,T01,TA,consumer,,\n", (2, "reported_at")),
    ("score above 5", "surveys",
     "order_no,surveyed_at,attitude,quality,speed\nEXIST,2024-05-02 10:00,6,4,4\n",
     (2, "attitude")),
    ("score below 1", "surveys",
     "order_no,surveyed_at,attitude,quality,speed\nEXIST,2024-05-02 10:00,4,0,4\n",
     (2, "quality")),
    ("survey for unknown order", "surveys",
     "order_no,surveyed_at,attitude,quality,speed\nNOPE,2024-05-02 10:00,4,4,4\n", (2, "order_no")),
    ("survey before the report", "surveys",
     "order_no,surveyed_at,attitude,quality,speed\nEXIST,2024-04-02 10:00,4,4,4\n", (2, "surveyed_at")),
    ("negative salary", "costs", "employee_no,month,salary\nTA,2024-05,-100\n", (2, "salary")),
    ("bad month", "costs", "employee_no,month,salary\nTA,2024-13,100\n", (2, "month")),
    ("cost of unknown employee", "costs", "employee_no,month,salary\nNOBODY,2024-05,100\n",
     (2, "employee_no")),
    ("duplicate cost month", "costs", "employee_no,month,salary\nTA,2024-05,100\nTA,2024-05,200\n",
     (3, "month")),
    ("employee at unknown station", "employees", "employee_no,name,station_code\nN1,新人,T99\n",
     (2, "station_code")),
    ("unknown supervisor", "employees", "employee_no,name,station_code,supervisor_no\nN1,新人,T01,NOBODY\n",
     (2, "supervisor_no")),
    ("supervisor loop", "employees",
     "employee_no,name,station_code,supervisor_no\nN1,甲,T01,N2\nN2,乙,T01,N1\n",
     (2, "supervisor_no")),
    ("unknown position", "employees", "employee_no,name,station_code,position\nN1,新人,T01,厨师\n",
     (2, "position")),
    ("existing employee without update", "employees", "employee_no,name,station_code\nTA,甲,T01\n",
     (2, "employee_no")),
    ("demo user taken", "employees", "employee_no,name,station_code,username\nN1,新人,T01,emp1\n",
     (2, "username")),
]


@pytest.mark.parametrize("name,kind,text,expected", CASES, ids=[c[0] for c in CASES])
def test_each_rejection_names_row_and_column_and_changes_nothing(org, name, kind, text, expected):
    found, errors = rejected(kind, text_file(text))
    assert expected in found, errors
    assert all(e["message"] for e in errors)


@pytest.mark.parametrize("cell", ["2024-02-30 10:00", "2024-05-01 25:00", "2024-05-01 10:61"])
def test_a_day_or_time_that_does_not_exist_is_named_as_such(org, cell):
    _found, errors = rejected("work-orders", text_file(HEAD + f"\nN1,T01,TA,consumer,{cell},\n"))
    (error,) = errors
    assert (error["row"], error["column"]) == (2, "reported_at")
    assert error["message"].startswith("不存在的日期或时间") and cell in error["message"]


@pytest.mark.parametrize("content", [
    b"",
    b"\xff\xfeo\x00r\x00d\x00",            # UTF-16
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1xx",  # old .xls
    b"PK\x03\x04not really a zip",
    b"\x00\x01\x02binary",
    b"order_no,station_code\n\xff\xfe\xfd\xfc\x80\x81\n",  # neither UTF-8 nor GB18030
])
def test_unreadable_files_are_refused(org, content):
    found, _errors = rejected("work-orders", io.BytesIO(content))
    assert found and found[0][1] is None


def test_every_bad_row_is_reported_at_once(org):
    text = (HEAD + "\nN1,T99,TA,consumer,2024-05-01 10:00,\nN2,T01,TA,consumer,bad,"
            "\nN3,T01,TA,consumer,2024-05-01 10:00,\n")
    found, _errors = rejected("work-orders", text_file(text))
    assert (2, "station_code") in found and (3, "reported_at") in found
    assert not any(row == 4 for row, _col in found)


def test_a_row_reports_all_its_problems(org):
    text = HEAD + "\nN1,T99,NOBODY,government,2024-05-02 10:00,2024-05-01 10:00\n"
    found, _errors = rejected("work-orders", text_file(text))
    assert {(2, "station_code"), (2, "technician_no"), (2, "customer_type"),
            (2, "completed_at")} <= set(found)


def test_duplicates_across_chunks_are_found(org, monkeypatch):
    monkeypatch.setattr(kinds_module.WorkOrders, "chunk_size", 2)
    rows = [order(f"C{i}") for i in range(5)] + [order("C1")]
    found, errors = rejected("work-orders", csv_bytes(ORDER_HEADER, rows))
    assert found == [(7, "order_no")], errors


def test_forward_rework_reference_within_the_file(org, monkeypatch):
    monkeypatch.setattr(kinds_module.WorkOrders, "chunk_size", 2)
    rows = [order("R1", rework_of="R5", reported_at="2024-05-12 08:00"), order("R2"), order("R3"),
            order("R4"),
            order("R5", reported_at="2024-05-01 08:00", completed_at="2024-05-02 08:00")]
    assert load("work-orders", ORDER_HEADER, rows).inserted == 5
    r1, r5 = (db.session.scalar(select(WorkOrder).where(WorkOrder.order_no == no)) for no in ("R1", "R5"))
    assert r1.rework_of_id == r5.id


def test_gbk_file_with_chinese_names_imports(org):
    text = "employee_no,name,station_code,position\nG1,张伟,T01,维修技师\nG2,欧阳娜娜,T01,客服\n"
    result = import_file(db.session, "employees", text_file(text, "gbk"))
    assert result.inserted == 2
    assert db.session.scalar(select(Employee.name).where(Employee.employee_no == "G2")) == "欧阳娜娜"
    tags = csv_bytes(ORDER_HEADER, [order("GBK1", tags="新技术；增值服务", technician_no="G1")],
                     encoding="gb18030")
    import_file(db.session, "work-orders", tags)
    assert db.session.scalar(select(WorkOrder.tags).where(WorkOrder.order_no == "GBK1")) == "新技术;增值服务"


def test_utf8_with_bom_and_excel_style_dates(org):
    text = "\ufeff" + HEAD + "\nB1,T01,TA,企业,2024/5/1 9:05,2024/5/1 10:35\n"
    import_file(db.session, "work-orders", text_file(text))
    row = db.session.scalar(select(WorkOrder).where(WorkOrder.order_no == "B1"))
    assert row.customer_type == "enterprise"
    assert row.reported_at == dt.datetime(2024, 5, 1, 9, 5) and row.repair_hours is None


def test_xlsx_first_sheet_imports_typed_cells(org):
    book = Workbook()
    sheet = book.active
    sheet.append(["order_no", "station_code", "technician_no", "customer_type", "reported_at", "responded_at",
                  "completed_at", "parts_cost", "first_time_fixed", "tags"])
    sheet.append([10023, "T01", "TA", "个人", dt.datetime(2024, 5, 3, 8, 0), "2024-05-03 09:30",
                  dt.datetime(2024, 5, 3, 12, 0), 0, 1, "=SUM(A1:A2)"])
    sheet.append([None] * 10)  # spreadsheets keep empty rows: skipped
    book.create_sheet("ignored").append(["nothing"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    assert import_file(db.session, "work-orders", out).inserted == 1
    row = db.session.scalar(select(WorkOrder).where(WorkOrder.order_no == "10023"))
    assert row.parts_cost == 0.0 and row.first_time_fixed is True
    assert row.response_hours == pytest.approx(1.5) and row.repair_hours == pytest.approx(2.5)
    assert row.tags == "=SUM(A1:A2)"  # kept as text


def test_formula_looking_text_is_stored_as_text(org):
    load("surveys", SURVEY_HEADER, [{"order_no": "EXIST", "surveyed_at": "2024-05-02 10:00", "attitude": "5",
                                     "quality": "5", "speed": "5", "comment": "=HYPERLINK(\"x\")"}])
    comment = db.session.scalar(select(Survey.comment).where(Survey.order_no == "EXIST"))
    assert comment == '=HYPERLINK("x")'  # exports keep it a text cell: tests/exports/test_cells.py


def test_update_replaces_rows_and_keeps_surveys_in_step(org):
    load("surveys", SURVEY_HEADER, [{"order_no": "EXIST", "surveyed_at": "2024-05-02 10:00", "attitude": "4",
                                     "quality": "4", "speed": "4"}])
    changed = order("EXIST", technician_no="TB", reported_at="2024-05-01 08:00",
                    completed_at="2024-05-03 12:00",
                    first_time_fixed="1")
    result = load("work-orders", ORDER_HEADER, [changed, order("NEW1")], update=True)
    assert (result.inserted, result.updated) == (1, 1)
    row = db.session.scalar(select(WorkOrder).where(WorkOrder.order_no == "EXIST"))
    survey = db.session.scalar(select(Survey).where(Survey.order_no == "EXIST"))
    assert row.technician_id == org["TB"] and row.first_time_fixed is True
    assert survey.technician_id == org["TB"] and survey.order_completed_at == dt.datetime(2024, 5, 3, 12, 0)
    again = load("surveys", SURVEY_HEADER, [{"order_no": "EXIST", "surveyed_at": "2024-05-04 10:00",
                                             "attitude": "2", "quality": "2", "speed": "2"}], update=True)
    assert (again.inserted, again.updated) == (0, 1)
    cost = {"employee_no": "TA", "month": "2024-05", "salary": "100"}
    load("costs", COST_HEADER, [cost])
    assert load("costs", COST_HEADER, [{**cost, "salary": "300"}], update=True).updated == 1
    assert db.session.scalar(select(LaborCost.salary).where(LaborCost.employee_no == "TA")) == 300


def test_employees_import_creates_accounts_once(org, app):
    text = ("employee_no,name,station_code,position,supervisor_no,username,hired_on\n"
            "N2,新技师,T01,维修技师,N1,newtech,2024-03-01\n"
            "N1,新主管,T01,主管,,newsup,2023-01-15\n")
    result = import_file(db.session, "employees", text_file(text))
    assert result.inserted == 2
    accounts = {a["username"]: a for a in result.accounts}
    assert set(accounts) == {"newtech", "newsup"} and all(len(a["password"]) >= 12 for a in accounts.values())
    tech = db.session.scalar(select(Employee).where(Employee.employee_no == "N2"))
    assert tech.supervisor.employee_no == "N1" and tech.hired_on == dt.date(2024, 3, 1)
    assert [r.name for r in tech.user.roles] == ["Employee"]
    boss = db.session.scalar(select(Employee).where(Employee.employee_no == "N1"))
    assert [r.name for r in boss.user.roles] == ["Supervisor"]
    assert "newtech" not in (tech.user.password or "")
    assert accounts["newtech"]["password"] not in tech.user.password
    client = app.test_client()
    r = client.post("/api/v1/security/login",
                    json={"username": "newtech", "password": accounts["newtech"]["password"],
                                                    "provider": "db"})
    assert r.status_code == 200
    update = import_file(db.session, "employees", text_file(
        "employee_no,name,station_code,position\nN2,新技师改名,T01,客服\n"), update=True)
    assert (update.inserted, update.updated, update.accounts) == (0, 1, [])


def test_error_list_is_capped(org):
    rows = "".join(f"X{i},T99,TA,consumer,2024-05-01 10:00,\n" for i in range(1100))
    found, errors = rejected("work-orders", text_file(HEAD + "\n" + rows))
    assert len(errors) == 1001 and errors[-1]["row"] is None and "100" in errors[-1]["message"]
