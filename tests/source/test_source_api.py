"""The import API, the work-order list and the metrics API per role; the upload and drill-down
screens; the CLI import. Scoping is checked against the demo data (three generated months)."""

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Employee, Station, WorkOrder
from tests.conftest import csrf_token
from tests.source.factories import ORDER_HEADER, counts, csv_bytes, order

ORDERS_CSV = ("order_no,station_code,technician_no,customer_type,reported_at,completed_at\n"
              "API1,S01,EMP1,consumer,2024-05-01 10:00,2024-05-01 12:00\n")
BAD_CSV = ORDERS_CSV + "API2,S09,EMP1,consumer,2024-05-01 10:00,2024-05-01 12:00\n"


def upload(api, kind, text, query=""):
    data = {"file": (io.BytesIO(text.encode("utf-8")), "orders.csv")}
    return api.post(f"/api/v1/import/{kind}{query}", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("username,status", [
    ("hr", 200), ("admin", 200), ("manager1", 403), ("sup1", 403), ("emp1", 403),
])
def test_only_hr_and_admin_import(app, api_as, username, status):
    r = upload(api_as(username), "work-orders", ORDERS_CSV)
    assert r.status_code == status, r.get_data(as_text=True)
    if status == 200:
        assert r.json == {"inserted": 1, "updated": 0}


def test_anonymous_import_is_refused(client):
    r = client.post("/api/v1/import/work-orders", data={"file": (io.BytesIO(b"x"), "a.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 401


def test_refused_file_answers_422_with_every_problem_and_changes_nothing(app, api_as):
    api = api_as("hr")
    with app.app_context():
        before = counts()
    r = upload(api, "work-orders", BAD_CSV, "?_l_=en")
    assert r.status_code == 422
    assert r.json["errors"] == [{"row": 3, "column": "station_code", "message": "Unknown station “S09”."}]
    with app.app_context():
        assert counts() == before


def test_update_over_the_api(app, api_as):
    api = api_as("hr")
    assert upload(api, "work-orders", ORDERS_CSV).status_code == 200
    assert upload(api, "work-orders", ORDERS_CSV).status_code == 422
    r = upload(api, "work-orders", ORDERS_CSV, "?update=1")
    assert r.json == {"inserted": 0, "updated": 1}


def test_unknown_kind_and_missing_file(api_as):
    api = api_as("hr")
    assert upload(api, "bananas", ORDERS_CSV).status_code == 404
    assert api.post("/api/v1/import/surveys", data={}, content_type="multipart/form-data").status_code == 400


def _visible_orders(app, username) -> set[int]:
    """Work orders this user should see, by the scoping rule (HR all, a manager their station, a supervisor
    their reports, an employee themself), worked out without app.scoping."""
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        roles = {r.name for r in user.roles}
        rows = db.session.execute(select(WorkOrder.id, WorkOrder.technician_id, WorkOrder.station_id)).all()
        if roles & {"Admin", "HR"}:
            return {r.id for r in rows}
        me = db.session.scalar(select(Employee).where(Employee.user_id == user.id))
        team = {e.id for e in db.session.scalars(select(Employee).where(Employee.supervisor_id == me.id))}
        managed = set(db.session.scalars(select(Station.id).where(Station.manager_id == me.id)))
        return {r.id for r in rows if r.technician_id == me.id
                or ("Supervisor" in roles and r.technician_id in team)
                or ("StationManager" in roles and r.station_id in managed)}


@pytest.mark.parametrize("username", ["emp1", "sup1", "manager1", "sup2", "hr"])
def test_workorder_list_is_scoped(app, api_as, username):
    api = api_as(username)
    expected = _visible_orders(app, username)
    r = api.get("/api/v1/workorder/?q=(page_size:1)")
    assert r.status_code == 200 and r.json["count"] == len(expected) > 0
    with app.app_context():
        everything = set(db.session.scalars(select(WorkOrder.id)))
        outside = sorted(everything - expected)[:3]
    for pk in outside:
        assert api.get(f"/api/v1/workorder/{pk}").status_code == 404
    if username == "emp1":
        with app.app_context():
            emp1 = db.session.scalar(select(Employee.id).where(Employee.employee_no == "EMP1"))
        rows = api.get("/api/v1/workorder/?q=(page_size:100)").json["result"]
        assert {row["technician_id"] for row in rows} == {emp1}


def test_workorder_list_filters(app, api_as):
    api = api_as("hr")
    q = "(filters:!((col:technician_no,opr:eq,value:EMP2),(col:customer_type,opr:eq,value:enterprise)))"
    r = api.get(f"/api/v1/workorder/?q={q}")
    with app.app_context():
        expected = db.session.scalar(select(func.count()).select_from(WorkOrder).where(
            WorkOrder.technician_no == "EMP2", WorkOrder.customer_type == "enterprise"))
    assert r.status_code == 200 and r.json["count"] == expected > 0


def test_workorders_cannot_be_written_through_the_api(app, api_as):
    with app.app_context():
        pk = db.session.scalar(select(WorkOrder.id).limit(1))
    admin = api_as("admin")
    assert admin.put(f"/api/v1/workorder/{pk}", json={"order_no": "X"}).status_code == 403
    assert admin.delete(f"/api/v1/workorder/{pk}").status_code == 403
    assert admin.post("/api/v1/workorder/", json={"order_no": "X"}).status_code == 403


def _period():
    today = dt.date.today()
    return (today.replace(day=1) - dt.timedelta(days=62)).replace(day=1), today


@pytest.mark.parametrize("username,employee_no,status", [
    ("emp1", "EMP1", 200), ("emp1", "EMP2", 404),
    ("sup1", "EMP3", 200), ("sup1", "SUP1", 200), ("sup1", "EMP6", 404),
    ("manager1", "EMP4", 200), ("manager1", "EMP7", 404),
    ("hr", "EMP7", 200), ("admin", "SUP2", 200), ("hr", "NOBODY", 404),
])
def test_metrics_api_is_scoped(api_as, username, employee_no, status):
    start, end = _period()
    r = api_as(username).get(f"/api/v1/metrics/{employee_no}?start={start}&end={end}")
    assert r.status_code == status, r.get_data(as_text=True)
    if status == 200:
        metrics = r.json["metrics"]
        assert metrics["period_days"] == (end - start).days + 1
        assert len(metrics) == 16


def test_metrics_api_values_and_tags(app, api_as):
    start, end = _period()
    r = api_as("hr").get(f"/api/v1/metrics/EMP1?start={start}&end={end}&tags=新技术")
    assert r.status_code == 200
    with app.app_context():
        emp1 = db.session.scalar(select(Employee.id).where(Employee.employee_no == "EMP1"))
        completed = db.session.scalar(select(func.count()).select_from(WorkOrder).where(
            WorkOrder.technician_id == emp1, WorkOrder.completed_at >= dt.datetime.combine(start, dt.time()),
            WorkOrder.completed_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time())))
    assert r.json["metrics"]["orders"] == completed > 0
    assert 0 <= r.json["tags"]["新技术"] <= completed
    assert r.json["station_metrics"]["orders"] >= completed


@pytest.mark.parametrize("query", ["start=2024-05-01", "start=2024-13-01&end=2024-05-31",
                                   "start=2024-05-31&end=2024-05-01", "start=yesterday&end=today"])
def test_metrics_api_bad_dates(api_as, query):
    api = api_as("emp1")
    r = api.get(f"/api/v1/metrics/EMP1?{query}&_l_=en")
    assert r.status_code == 400 and r.json["message"]
    zh = api.get(f"/api/v1/metrics/EMP1?{query}")
    assert zh.status_code == 400 and zh.json["message"]


def test_metrics_of_an_employee_without_data_are_na(api_as):
    r = api_as("hr").get("/api/v1/metrics/EMP1?start=2001-01-01&end=2001-01-31")
    assert r.status_code == 200
    assert {k for k, v in r.json["metrics"].items() if v is not None} == {"period_days"}


def test_upload_screen_shows_problems_as_a_table(app, login_as):
    browser = login_as("hr")
    assert browser.get("/import/").status_code == 200
    token = csrf_token(browser, "/import/")
    bad = browser.post("/import/", data={"csrf_token": token, "kind": "work-orders",
                                         "file": (io.BytesIO(BAD_CSV.encode()), "bad.csv")},
                       content_type="multipart/form-data")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "jx-import-errors" in page and "S09" in page
    # the problem's column by its meaning as well as its header; every column of each kind listed
    assert "站点编码 <code>station_code</code>" in page
    assert "<code>sla_response_hours</code></td><td>承诺响应时限（小时，企业客户）" in page
    good = browser.post("/import/", data={"csrf_token": token, "kind": "work-orders",
                                          "file": (io.BytesIO(ORDERS_CSV.encode()), "good.csv")},
                        content_type="multipart/form-data")
    assert good.status_code == 200 and "jx-import-result" in good.get_data(as_text=True)


def test_upload_screen_is_hr_only(login_as):
    for username in ("emp1", "manager1"):
        assert login_as(username).get("/import/").status_code in (302, 403)


def test_upload_screen_escapes_file_content(app, login_as):
    browser = login_as("hr")
    token = csrf_token(browser, "/import/")
    evil = "order_no,<script>alert(1)</script>\n"
    page = browser.post("/import/", data={"csrf_token": token, "kind": "work-orders",
                                          "file": (io.BytesIO(evil.encode()), "<b>x</b>.csv")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_drilldown_screen_is_scoped(app, login_as):
    with app.app_context():
        ids = dict(db.session.execute(select(Employee.employee_no, Employee.id)).all())
    start, end = _period()
    emp1 = login_as("emp1")
    own = emp1.get(f"/metrics/{ids['EMP1']}/first_fix_rate/?start={start}&end={end}")
    assert own.status_code == 200 and "jx-drilldown" in own.get_data(as_text=True)
    assert emp1.get(f"/metrics/{ids['EMP2']}/first_fix_rate/?start={start}&end={end}").status_code == 404
    assert emp1.get(f"/metrics/{ids['EMP1']}/no_such_metric/").status_code == 404
    overview = emp1.get(f"/metrics/?start={start}&end={end}").get_data(as_text=True)
    assert "jx-metrics" in overview and "EMP2" not in overview
    sup1 = login_as("sup1")
    assert sup1.get(f"/metrics/{ids['EMP3']}/orders/?start={start}&end={end}").status_code == 200
    assert sup1.get(f"/metrics/?employee={ids['EMP6']}").status_code == 404


def test_source_lists_render(login_as):
    browser = login_as("manager1")
    for path in ("/workorderview/list/", "/surveyview/list/", "/laborcostview/list/"):
        assert browser.get(path).status_code == 200, path


def test_cli_import(app, tmp_path):
    good = tmp_path / "orders.csv"
    good.write_bytes(csv_bytes(ORDER_HEADER, [order("CLI1", station_code="S01", technician_no="EMP1",
                                                    completed_at="2024-05-10 12:00")]).getvalue())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "work-orders", str(good)])
    assert result.exit_code == 0 and "1 inserted" in result.output
    again = runner.invoke(args=["import", "work-orders", str(good)])
    assert again.exit_code != 0 and "order_no" in again.output
    updated = runner.invoke(args=["import", "work-orders", str(good), "--update"])
    assert updated.exit_code == 0 and "1 updated" in updated.output
