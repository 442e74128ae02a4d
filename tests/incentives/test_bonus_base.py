"""An employee's bonus base (奖金基数): the employees file's optional column (at least 0, yuan with at most
2 decimals; a bad cell rejects the whole file, nothing stored, the message in the user's language), the
employee screen's field and the employee API's field (a string in, a string out)."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.importing import ImportRejected, import_file
from app.models import Employee
from tests.conftest import csrf_token
from tests.source.factories import counts, csv_bytes, make_org

HEADER = ["employee_no", "name", "station_code", "bonus_base"]


def base_of(no: str) -> Decimal | None:
    db.session.expire_all()
    return db.session.scalar(select(Employee.bonus_base).where(Employee.employee_no == no))


@pytest.fixture
def org(appctx):
    return make_org(db.session)


def test_the_employees_file_carries_bonus_bases(org):
    rows = [["N1", "新一", "T01", "1500"], ["N2", "新二", "T01", "1,800.50"], ["N3", "新三", "T02", ""],
            ["N4", "新四", "T02", "0"], ["N5", "新五", "T02", "2000.5"]]
    result = import_file(db.session, "employees", csv_bytes(HEADER, rows))
    assert result.inserted == 5
    assert [base_of(no) for no in ("N1", "N2", "N3", "N4", "N5")] == [
        Decimal("1500"), Decimal("1800.50"), None, Decimal("0"), Decimal("2000.50")]


def test_a_spreadsheet_number_cell_is_read_as_yuan(org):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["N1", "新一", "T01", 1500.1])
    sheet.append(["N2", "新二", "T01", 2600])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    import_file(db.session, "employees", out)
    assert (base_of("N1"), base_of("N2")) == (Decimal("1500.10"), Decimal("2600"))


def test_an_update_sets_the_bonus_base_of_existing_people(org):
    import_file(db.session, "employees", csv_bytes(HEADER, [["TA", "甲", "T01", "2300"]]), update=True)
    assert base_of("TA") == Decimal("2300")


BAD = [("-5", "不能为负数", "Must not be negative"),
       ("1.234", "最多两位小数", "at most 2 decimals"),
       ("abc", "不是有效的金额", "Not an amount in yuan"),
       ("1e3", "不是有效的金额", "Not an amount in yuan"),
       ("12345678901", "数值过大", "Too large")]


@pytest.mark.parametrize("locale,which", [("zh_CN", 1), ("en", 2)])
def test_bad_bonus_bases_reject_the_file_row_by_row_and_store_nothing(org, locale, which):
    before = counts()
    rows = [["N0", "好人", "T01", "1500"]] + [[f"N{i + 1}", "新人", "T01", cell]
                                              for i, (cell, _zh, _en) in enumerate(BAD)]
    with force_locale(locale), pytest.raises(ImportRejected) as info:
        import_file(db.session, "employees", csv_bytes(HEADER, rows))
    errors = info.value.errors
    assert [(e["row"], e["column"]) for e in errors] == [(i + 3, "bonus_base") for i in range(len(BAD))]
    for error, bad in zip(errors, BAD, strict=True):
        assert bad[which] in error["message"], error["message"]
    assert counts() == before
    assert base_of("N0") is None and db.session.scalar(
        select(Employee).where(Employee.employee_no == "N0")) is None


def test_the_import_screen_lists_the_column(login_as):
    html = login_as("hr").get("/import/").get_data(as_text=True)
    assert "bonus_base" in html and "每月绩效奖金基数（元）" in html


def _demo(no: str) -> Employee:
    return db.session.scalar(select(Employee).where(Employee.employee_no == no))


def test_the_employee_api_reads_and_writes_the_bonus_base_as_a_string(app, api_as):
    hr = api_as("hr")
    with app.app_context():
        pk = _demo("EMP1").id
    assert hr.get(f"/api/v1/employee/{pk}").json["result"]["bonus_base"] == "2500.00"
    saved = hr.put(f"/api/v1/employee/{pk}", json={"bonus_base": "2600.5"})
    assert saved.status_code == 200 and saved.json["result"]["bonus_base"] == "2600.50"
    number = hr.put(f"/api/v1/employee/{pk}", json={"bonus_base": 2700})
    assert number.json["result"]["bonus_base"] == "2700.00"
    for bad in ("1.234", -1, "abc", True):
        refused = hr.put(f"/api/v1/employee/{pk}", json={"bonus_base": bad})
        assert refused.status_code == 422, bad
        assert refused.json["message"]["bonus_base"]
    refused = api_as("hr").put(f"/api/v1/employee/{pk}?_l_=en", json={"bonus_base": "1.234"})
    assert "at most 2 decimals" in refused.json["message"]["bonus_base"][0]
    cleared = hr.put(f"/api/v1/employee/{pk}", json={"bonus_base": None})
    assert cleared.status_code == 200 and cleared.json["result"]["bonus_base"] is None
    with app.app_context():
        assert _demo("EMP1").bonus_base is None


def test_the_employee_screen_edits_the_bonus_base(app, login_as):
    browser = login_as("hr")
    with app.app_context():
        e = _demo("EMP2")
        form = {"employee_no": e.employee_no, "name": e.name, "station": str(e.station_id),
                "position": e.position, "supervisor": str(e.supervisor_id), "user": str(e.user_id),
                "hired_on": e.hired_on.isoformat()}
        pk = e.id
    page = browser.get(f"/employeeview/edit/{pk}").get_data(as_text=True)
    assert "奖金基数（元/月）" in page and 'value="2200.00"' in page
    form["csrf_token"] = csrf_token(browser, f"/employeeview/edit/{pk}")
    saved = browser.post(f"/employeeview/edit/{pk}", data={**form, "bonus_base": "2450.5"})
    assert saved.status_code == 302
    with app.app_context():
        assert _demo("EMP2").bonus_base == Decimal("2450.50")
    for bad, message in (("-3", "不能为负数"), ("1.234", "最多两位小数")):
        refused = browser.post(f"/employeeview/edit/{pk}", data={**form, "bonus_base": bad})
        assert refused.status_code == 200 and message in refused.get_data(as_text=True)
    with app.app_context():
        assert _demo("EMP2").bonus_base == Decimal("2450.50")
    listed = browser.get("/employeeview/list/").get_data(as_text=True)
    assert "2450.50" in listed
