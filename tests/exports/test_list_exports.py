"""The other Excel downloads: the appraisal list as filtered on screen, the dashboard's ranking, the what-if
table; the buttons that lead to them; and what the exports room may import."""

from __future__ import annotations

import html
import io
import re
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from tests.cycles.conftest import whatif_page
from tests.exports.test_cycle_export import HOSTILE, api_appraisals, cycle_id, rename, table, workbook
from tests.factories import demo_cycle

APP = Path(__file__).resolve().parents[2] / "app"


def export_link(page: str, css: str) -> str:
    match = re.search(rf'<a class="[^"]*{css}[^"]*" href="([^"]+)"', page)
    assert match, f"no {css} link on the page"
    return html.unescape(match.group(1))


def test_the_list_screens_excel_link_exports_the_rows_on_screen(app, login_as, api_as):
    cid = cycle_id(app)
    hr = login_as("hr")
    screen = f"/appraisal/list/?_flt_0_cycle={cid}&_flt_0_state=pending_review"
    page = hr.get(screen).get_data(as_text=True)
    link = export_link(page, "jx-export-xlsx")
    assert link.startswith("/api/v1/appraisal/export.xlsx?") and "_flt_0_state=pending_review" in link
    rows = table(workbook(hr.get(link)).worksheets[0])
    pending = {no for no, a in api_appraisals(api_as("hr"), cid).items() if a["state"] == "pending_review"}
    assert pending and {r["工号"] for r in rows} == pending
    assert {r["状态"] for r in rows} == {"待审核"}
    assert page.count("<tr") - 1 >= len(rows)  # the screen shows the same rows (one page of 25 at most)


def test_the_results_export_keeps_the_screens_order_and_the_callers_scope(app, login_as):
    cid = cycle_id(app)
    hr = login_as("hr")
    ordered = table(workbook(hr.get(
        f"/api/v1/appraisal/export.xlsx?_flt_0_cycle={cid}&_oc_AppraisalView=total&_od_AppraisalView=desc"
    )).worksheets[0])
    totals = [r["总分"] for r in ordered if r["总分"] is not None]
    assert len(totals) > 10 and totals == sorted(totals, reverse=True)
    manager = table(workbook(login_as("manager1").get(f"/api/v1/appraisal/export.xlsx?_flt_0_cycle={cid}"))
                    .worksheets[0])
    assert manager and {r["服务站"] for r in manager} == {"S01"}
    assert hr.get("/api/v1/appraisal/export.xlsx?_flt_0_cycle=abc").status_code == 400


def test_odd_list_arguments_never_answer_a_server_error(app, login_as):
    hr = login_as("hr")
    for query in ("_flt_0_total=abc", "_flt_1_total=1e400", "_flt_2_total=" + "9" * 400,
                  "_flt_0_state=nothing", "_flt_0_is_current=maybe", "_flt_0_grade=" + "x" * 5000,
                  "_flt_0_employee=99999999999", "_flt_0_cycle=-1", "_flt_9_nothing=1",
                  "_oc_AppraisalView=snapshot&_od_AppraisalView=desc",
                  "_oc_AppraisalView=total&_od_AppraisalView=up"):
        response = hr.get(f"/api/v1/appraisal/export.xlsx?{query}")
        assert response.status_code in (200, 400), (query, response.status_code)


def test_formula_looking_names_stay_text_in_the_results_list(app, login_as):
    rename(app, HOSTILE)
    book = workbook(login_as("hr").get(f"/api/v1/appraisal/export.xlsx?_flt_0_cycle={cycle_id(app)}"))
    ws = book.worksheets[0]
    cells = {ws.cell(r, 3).value: ws.cell(r, 4) for r in range(2, ws.max_row + 1)}
    for no, name in HOSTILE.items():
        assert (cells[no].data_type, cells[no].value) == ("s", name)


def test_the_ranking_export_lists_everyone_by_total(app, login_as, api_as):
    cid = cycle_id(app)
    hr = login_as("hr")
    page = hr.get(f"/dashboard/?cycle={cid}").get_data(as_text=True)
    book = workbook(hr.get(export_link(page, "jx-export-xlsx")))
    assert book.sheetnames == ["各服务站平均总分", "排名"]
    people = table(book["排名"])
    listed = {no: a for no, a in api_appraisals(api_as("hr"), cid).items() if a["total"] is not None}
    assert len(people) == len(listed) > 10  # the screen shows the first 20, the file everyone
    assert [r["名次"] for r in people] == list(range(1, len(people) + 1))
    assert [r["总分"] for r in people] == sorted((a["total"] for a in listed.values()), reverse=True)
    assert {r["员工"].split(" ")[0] for r in people} == set(listed)
    stations = table(book["各服务站平均总分"])
    assert [r["服务站"][:3] for r in stations] and sum(r["人数"] for r in stations) == len(people)
    assert api_as("emp1").get(f"/api/v1/dashboard/ranking.xlsx?cycle={cid}").status_code == 403
    assert hr.get("/api/v1/dashboard/ranking.xlsx?cycle=99999").status_code == 404


def test_the_whatif_export_is_the_whatif_table(app, login_as, api_as):
    with app.app_context():
        name = demo_cycle().name
        version = demo_cycle().rule_set_version_id
    hr = login_as("hr")
    page = whatif_page(hr, version, name)
    book = workbook(hr.get(export_link(page, "jx-export-xlsx")))
    assert book.sheetnames == ["假设分析", "等级分布", "绩效奖金金额"]
    rows = table(book["假设分析"])
    listed = api_appraisals(api_as("hr"), cycle_id(app))
    assert sorted(r["工号"] for r in rows) == sorted(listed)
    assert all(r["之前总分"] == r["之后总分"] and r["变化"] == 0 for r in rows)  # the same rule set
    amounts = {no: item.get("incentive") for no, item in listed.items()}
    assert any(amounts.values())
    assert {r["工号"]: r["之前金额"] for r in rows} == {
        no: (int(Decimal(a)) if a is not None else None) for no, a in amounts.items()}
    grades = table(book["等级分布"])
    network = grades[-1]
    assert network["服务站"] == "全网" and [g["服务站"] for g in grades[:-1]] == ["S01", "S02"]
    assert sum(v for k, v in network.items() if k.endswith(" 之前")) == len(rows)
    assert sum(v for k, v in network.items() if k.endswith(" 之后")) == len(rows)
    pay = table(book["绩效奖金金额"])
    assert pay[-1]["服务站"] == "全部服务站" and pay[-1]["人数"] == len(rows)
    assert pay[-1]["之前"] == sum(r["之前金额"] or 0 for r in rows)
    assert pay[-1]["之后"] == sum(r["之后金额"] or 0 for r in rows)
    assert login_as("sup1").get(f"/api/v1/ruleset/{version}/whatif.xlsx?cycle={name}").status_code == 403
    assert hr.get(f"/api/v1/ruleset/{version}/whatif.xlsx?cycle=nothing").status_code == 422
    # Another HR account has run no what-if: the workbook is not scored in the request.
    refused = api_as("admin").get(f"/api/v1/ruleset/{version}/whatif.xlsx?cycle={name}")
    assert refused.status_code == 409 and refused.get_json()["code"] == "WHATIF_NOT_RUN"


def test_the_cycle_page_offers_the_workbook_to_hr_and_station_managers_only(app, login_as):
    cid = cycle_id(app)
    for username in ("hr", "manager1"):
        page = login_as(username).get(f"/cycles/{cid}").get_data(as_text=True)
        assert export_link(page, "jx-export-xlsx") == f"/api/v1/cycle/{cid}/export.xlsx"
        assert "导出考核结果（Excel）" in page
    assert "jx-export-xlsx" not in login_as("emp1").get(f"/cycles/{cid}").get_data(as_text=True)


def test_a_browser_session_downloads_with_a_chinese_file_name(app, login_as):
    response = login_as("hr").get(f"/api/v1/cycle/{cycle_id(app)}/export.xlsx")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="cycle-{cycle_id(app)}.xlsx"; filename*=UTF-8\'\'')
    assert "%E6%BC%94%E7%A4%BA" in disposition  # 演示…
    assert load_workbook(io.BytesIO(response.data)).sheetnames[0] == "考核结果"


def test_the_exports_room_imports_no_screen_api_or_web_module():
    from tests.foundation.test_architecture import imported_modules

    for path in sorted((APP / "exports").rglob("*.py")):
        for module in imported_modules(path):
            assert not module.startswith(("app.views", "app.api", "app.web")), f"{path} imports {module}"
