"""A cycle's workbook (``GET /api/v1/cycle/<id>/export.xlsx`` and ``flask cycle export``) opened with
openpyxl: its rows are the appraisal API's, the payroll adds up to the amounts, user text stays text, the
headers follow the reader's language, and the rows follow the caller's scope."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal, Employee, SignedPdf
from app.services.workflows import default_table
from tests.factories import demo_cycle

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOSTILE = {"EMP1": '=HYPERLINK("http://x","y")', "EMP2": "+1", "EMP3": "@SUM(A1)"}


def cycle_id(app) -> int:
    with app.app_context():
        return demo_cycle().id


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == XLSX
    return load_workbook(io.BytesIO(response.data))


def table(ws) -> list[dict]:
    """The sheet's rows as dicts by header."""
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def api_appraisals(api, cid: int) -> dict[str, dict]:
    q = f"(filters:!((col:cycle,opr:rel_o_m,value:{cid}),(col:is_current,opr:eq,value:!t)),page_size:500)"
    answer = api.get(f"/api/v1/appraisal/?q={q}").json
    assert answer["count"] == len(answer["result"])
    return {item["employee_no"]: item for item in answer["result"]}


def set_amounts(app, amounts: dict[str, str | None]) -> None:
    """Give the current appraisals of these employees an incentive part with this amount."""
    with app.app_context():
        for no, amount in amounts.items():
            appraisal = db.session.scalar(
                select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
                .where(Employee.employee_no == no, Appraisal.is_current.is_(True)))
            incentive = {"formula": "bonus_base * coefficient", "raw": amount, "amount": amount, "cap": None,
                         "capped": False, "pool": None, "note": None}
            appraisal.snapshot = {**appraisal.snapshot, "incentive": incentive}
        db.session.commit()
        db.session.remove()


def rename(app, names: dict[str, str]) -> None:
    with app.app_context():
        for no, name in names.items():
            db.session.scalar(select(Employee).where(Employee.employee_no == no)).name = name
        db.session.commit()
        db.session.remove()


def test_every_row_is_the_appraisal_apis_answer(app, api_as):
    cid = cycle_id(app)
    api = api_as("hr")
    book = workbook(api.get(f"/api/v1/cycle/{cid}/export.xlsx"))
    assert book.sheetnames == ["考核结果", "薪酬发放", "等级分布"]
    results = book["考核结果"]
    assert results.freeze_panes == "A2"
    rows = table(results)
    listed = api_appraisals(api, cid)
    assert sorted(r["工号"] for r in rows) == sorted(listed) and len(rows) == len(listed) > 10
    labels = default_table()
    for row in rows:
        item = listed[row["工号"]]
        assert row["服务站"] == item["station"]
        assert row["姓名"] == item["employee_name"]
        assert row["总分"] == item["total"]
        assert row["等级"] == item["grade"]
        assert row["状态"] == labels.state_label(item["state"], "zh_CN")
        assert row["结果应用"] == "；".join(item["outcomes"])
        amount = item.get("incentive")
        assert row["绩效奖金（元）"] == (None if amount is None else Decimal(amount))
        for line in item["lines"]:
            assert row[f"{line['name']} 得分"] == line["score"]
    assert [(r["服务站"], r["工号"]) for r in rows] == sorted(
        ((r["服务站"], r["工号"]) for r in rows), key=lambda k: (k[0], k[1]))
    total_column = list(rows[0]).index("总分") + 1
    assert results.cell(2, total_column).number_format == "0.00"
    assert any(row["绩效奖金（元）"] for row in rows)  # the demo's rule set pays incentives


def test_payroll_lists_each_amount_and_adds_up_to_the_results(app, api_as):
    set_amounts(app, {"EMP1": "2000", "EMP2": "1235", "EMP6": "980", "EMP7": None})
    book = workbook(api_as("hr").get(f"/api/v1/cycle/{cycle_id(app)}/export.xlsx"))
    payroll = {r["工号"]: r for r in table(book["薪酬发放"])}
    assert {no: payroll[no]["金额（元）"] for no in ("EMP1", "EMP2", "EMP6")} == {
        "EMP1": 2000, "EMP2": 1235, "EMP6": 980}
    assert "EMP7" not in payroll  # no amount, nothing to pay
    assert payroll["EMP1"]["服务站"] == "S01" and payroll["EMP6"]["服务站"] == "S02"
    results = {r["工号"]: r["绩效奖金（元）"] for r in table(book["考核结果"])}
    paid = {no: amount for no, amount in results.items() if amount is not None}
    assert {no: r["金额（元）"] for no, r in payroll.items()} == paid
    assert results["EMP7"] is None
    assert sum(Decimal(str(r["金额（元）"])) for r in payroll.values()) == sum(
        Decimal(str(v)) for v in paid.values())
    assert book["薪酬发放"]["D2"].number_format == "#,##0"


def test_formula_looking_names_stay_text_in_every_sheet(app, api_as):
    rename(app, HOSTILE)
    set_amounts(app, {"EMP1": "100", "EMP2": "200", "EMP3": "300"})
    book = workbook(api_as("hr").get(f"/api/v1/cycle/{cycle_id(app)}/export.xlsx"))
    for title, no_column, name_column in (("考核结果", 2, 3), ("薪酬发放", 1, 2)):
        ws = book[title]
        found = {ws.cell(r, no_column).value: ws.cell(r, name_column) for r in range(2, ws.max_row + 1)}
        for no, name in HOSTILE.items():
            assert found[no].data_type == "s", (title, no)
            assert found[no].value == name


def test_english_headers_for_an_english_reader(app, api_as):
    book = workbook(api_as("hr").get(f"/api/v1/cycle/{cycle_id(app)}/export.xlsx?_l_=en"))
    assert book.sheetnames == ["Results", "Payroll", "Distribution"]
    header = [c.value for c in book["Results"][1]]
    assert header[:4] == ["Station", "Employee number", "Employee name", "Position"]
    assert header[-6:] == ["Total", "Grade", "Outcomes", "Incentive amount (yuan)", "State", "Signed at"]
    assert "Customer satisfaction score" in header
    states = {row["State"] for row in table(book["Results"])}
    assert "Approved" in states and not any("已" in s for s in states)
    assert [c.value for c in book["Payroll"][1]] == ["Employee number", "Employee name", "Station",
                                                      "Amount (yuan)"]


def test_hr_exports_every_station_a_station_manager_theirs_others_are_refused(app, api_as, client):
    cid = cycle_id(app)
    url = f"/api/v1/cycle/{cid}/export.xlsx"
    hr_rows = table(workbook(api_as("hr").get(url))["考核结果"])
    assert {r["服务站"] for r in hr_rows} == {"S01", "S02"}
    assert {r["服务站"] for r in table(workbook(api_as("admin").get(url))["考核结果"])} == {"S01", "S02"}
    manager = api_as("manager1")
    mine = table(workbook(manager.get(url))["考核结果"])
    assert mine and {r["服务站"] for r in mine} == {"S01"}
    seen = {no for no, item in api_appraisals(manager, cid).items() if item["station"] == "S01"}
    assert {r["工号"] for r in mine} == seen
    for username in ("sup1", "emp1"):
        refused = api_as(username).get(url)
        assert refused.status_code == 403 and refused.json["message"]
    assert api_as("emp1").get("/api/v1/cycle/99999/export.xlsx").status_code == 404
    assert client.get(url).status_code == 401


def test_the_distribution_sheet_counts_each_stations_grades_against_the_policy(app, api_as):
    cid = cycle_id(app)
    api = api_as("hr")
    url = f"/api/v1/cycle/{cid}/export.xlsx"
    rows = table(workbook(api.get(url))["等级分布"])
    listed = api_appraisals(api, cid).values()
    assert [r["服务站"] for r in rows] == ["S01", "S02", None]
    for row in rows[:-1]:
        station = [a for a in listed if a["station"] == row["服务站"]]
        assert row["人数"] == len([a for a in station if a["grade"]])
        assert row["无等级"] == len([a for a in station if not a["grade"]])
        for grade in ("A", "B", "C", "D"):
            count = len([a for a in station if a["grade"] == grade])
            assert row[f"{grade} 人数"] == count
            assert row[f"{grade} 占比"] == (round(count / row["人数"], 4) if row["人数"] else None)
        assert row["强制分布限制"] is None  # fewer than the policy's 10 people: no station limit
    network = rows[-1]
    assert network["站点名称"] == "全网"
    assert network["人数"] == sum(r["人数"] for r in rows[:-1]) == len([a for a in listed if a["grade"]])
    assert (network["强制分布限制"], network["对照强制分布"]) == ("A ≤ 20%", "符合强制分布")

    with app.app_context():  # four A grades of thirteen: over the 20 % the policy allows
        appraisals = db.session.scalars(select(Appraisal).where(
            Appraisal.cycle_id == cid, Appraisal.is_current.is_(True)).order_by(Appraisal.id)).all()
        already = sum(a.grade == "A" for a in appraisals)
        for appraisal in [a for a in appraisals if a.grade != "A"][:4 - already]:
            appraisal.grade = "A"
        db.session.commit()
        db.session.remove()
    network = table(workbook(api.get(url))["等级分布"])[-1]
    assert network["A 人数"] == 4
    assert network["对照强制分布"].startswith("全网：A 级 4/") and "上限 20%" in network["对照强制分布"]
    english = table(workbook(api.get(url + "?_l_=en"))["Distribution"])[-1]
    assert english["Against the policy"].startswith("Network: grade A 4/")
    manager = table(workbook(api_as("manager1").get(url))["等级分布"])
    assert [r["服务站"] for r in manager] == ["S01", None] and manager[-1]["站点名称"] == "所辖站点合计"
    assert not manager[-1]["对照强制分布"]  # a network-wide breach is not about their station


def test_signed_at_is_the_wall_time_of_the_configured_zone(app, api_as):
    with app.app_context():
        appraisal = db.session.scalar(
            select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
            .where(Employee.employee_no == "EMP1", Appraisal.is_current.is_(True)))
        db.session.add(SignedPdf(appraisal_id=appraisal.id, pdf=b"%PDF", size=4, sha256="0" * 64,
                                 signed_at=dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC), locale="zh_CN"))
        db.session.commit()
        db.session.remove()
    book = workbook(api_as("hr").get(f"/api/v1/cycle/{cycle_id(app)}/export.xlsx"))
    rows = table(book["考核结果"])
    signed = {r["工号"]: r["签字时间"] for r in rows}
    assert signed["EMP1"] == dt.datetime(2027, 1, 1, 0, 30)  # Asia/Shanghai
    assert signed["EMP2"] is None


def test_the_cli_writes_the_apis_workbook(app, api_as, tmp_path):
    rename(app, HOSTILE)
    set_amounts(app, {"EMP1": "1500"})
    path = tmp_path / "cycle.xlsx"
    with app.app_context():
        name = demo_cycle().name
    done = app.test_cli_runner().invoke(args=["cycle", "export", name, str(path)])
    assert done.exit_code == 0, done.output
    assert "appraisals" in done.output
    from_cli = load_workbook(path)
    from_api = workbook(api_as("hr").get(f"/api/v1/cycle/{cycle_id(app)}/export.xlsx"))
    assert from_cli.sheetnames == from_api.sheetnames
    for title in from_api.sheetnames:
        assert list(from_cli[title].iter_rows(values_only=True)) == list(
            from_api[title].iter_rows(values_only=True)), title
    missing = app.test_cli_runner().invoke(args=["cycle", "export", "no such cycle", str(path)])
    assert missing.exit_code != 0 and "No cycle named" in missing.output
