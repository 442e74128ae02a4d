"""The list APIs at any size (app.web.datamodel): a page's statements are as many for two rows as for ten
on every kind of page; paging walks a list exactly once in its order, from either end, also when a count
was kept while another process added rows; a supervisor's pages hold their scope only; bad arguments
still answer 400; and SQLite reads the indexes the lists were given."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from app.extensions import db
from app.models import Appraisal, WorkOrder
from app.scoping import scope_clause, scope_for
from app.services.appraisals import _history_query
from app.web import datamodel
from tests.conftest import BACKEND
from tests.factories import counted

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's query plans")

# Each list and order: the path's query, and the same order in SQL.
ORDERS = {
    "appraisal by id": ("/api/v1/appraisal/", "", (Appraisal.id,)),
    "appraisal by total": ("/api/v1/appraisal/", "order_column:total,order_direction:desc,",
                           (Appraisal.total.desc(), Appraisal.id.desc())),
    "work orders": ("/api/v1/workorder/", "", (WorkOrder.id,)),
    "work orders of EMP2 by report": ("/api/v1/workorder/",
                                      "filters:!((col:technician_no,opr:eq,value:EMP2)),"
                                      "order_column:reported_at,order_direction:asc,",
                                      (WorkOrder.reported_at, WorkOrder.id)),
}


def expected_ids(app, username: str, model, order, where=()) -> list[int]:
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        query = select(model.id).where(scope_clause(model, scope_for(user)), *where).order_by(*order)
        return list(db.session.scalars(query))


def walk(api, path: str, q: str, size: int) -> tuple[int, list[int]]:
    """The list's count, and its rows' ids page by page (one page past the end, which is empty)."""
    first = api.get(f"{path}?q=({q}page:0,page_size:{size})")
    assert first.status_code == 200, first.get_data(as_text=True)
    count, ids = first.json["count"], [row["id"] for row in first.json["result"]]
    for page in range(1, count // size + 2):
        r = api.get(f"{path}?q=({q}page:{page},page_size:{size})")
        assert r.status_code == 200 and r.json["count"] == count
        ids += [row["id"] for row in r.json["result"]]
    return count, ids


@pytest.mark.parametrize("name", ORDERS)
def test_paging_walks_each_row_once_in_order_from_either_end(app, api_as, name):
    path, q, order = ORDERS[name]
    model = Appraisal if "appraisal" in path else WorkOrder
    where = (WorkOrder.technician_no == "EMP2",) if "EMP2" in name else ()
    expected = expected_ids(app, "hr", model, order, where)
    size = max(2, len(expected) // 9)  # about ten pages: the later ones are read from the end
    assert walk(api_as("hr"), path, q, size) == (len(expected), expected)


def test_a_kept_count_never_places_a_page_read_from_the_end(app, api_as, monkeypatch):
    # The count is kept; then another process (a raw connection, unseen by this one) adds orders.
    monkeypatch.setattr(datamodel, "_kept", {})
    api = api_as("hr")
    before = api.get("/api/v1/workorder/?q=(page_size:5)").json["count"]
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            connection.cursor().execute(
                "INSERT INTO work_order (order_no, station_code, station_id, technician_no, technician_id,"
                " customer_type, reported_at) SELECT order_no || '-again', station_code, station_id,"
                " technician_no, technician_id, customer_type, reported_at FROM work_order"
                " WHERE id IN (SELECT id FROM work_order ORDER BY id LIMIT 3)")
            connection.commit()
        finally:
            connection.close()
    expected = expected_ids(app, "hr", WorkOrder, (WorkOrder.id,))
    assert len(expected) == before + 3
    # the kept count is checked against the table's change count, which the insert moved
    assert api.get("/api/v1/workorder/?q=(page_size:5)").json["count"] == before + 3
    last = api.get(f"/api/v1/workorder/?q=(page:{(before + 2) // 5},page_size:5)").json
    assert [row["id"] for row in last["result"]] == expected[(before + 2) // 5 * 5:]
    assert last["count"] == before + 3


@pytest.mark.parametrize("name", ["appraisal by id", "work orders"])
def test_a_supervisors_pages_hold_their_scope(app, api_as, name):
    path, q, order = ORDERS[name]
    model = Appraisal if "appraisal" in path else WorkOrder
    expected = expected_ids(app, "sup1", model, order)
    everything = expected_ids(app, "hr", model, order)
    assert 0 < len(expected) < len(everything)
    assert walk(api_as("sup1"), path, q, max(2, len(expected) // 5)) == (len(expected), expected)
    with app.app_context():
        people = set(db.session.scalars(text(
            "SELECT employee_no FROM employee WHERE supervisor_id = (SELECT id FROM employee"
            " WHERE employee_no = 'SUP1') OR employee_no = 'SUP1'")))
    rows = api_as("sup1").get(f"{path}?q=(page_size:100)").json["result"]
    assert {row.get("employee_no") or row.get("technician_no") for row in rows} <= people


def page_queries(size: int, count: int) -> list[str]:
    deep = count // size - 1  # the last full page: past the middle
    return [f"(page_size:{size})", f"(page:{deep},page_size:{size})",
            f"(order_column:total,order_direction:desc,page_size:{size})",
            f"(filters:!((col:station,opr:rel_o_m,value:1)),page_size:{size})"]


@pytest.mark.parametrize("path", ["/api/v1/appraisal/", "/api/v1/workorder/"])
def test_every_kind_of_page_runs_as_many_statements_for_two_rows_as_for_ten(app, api_as, path):
    api = api_as("hr")
    count = api.get(path).json["count"]
    assert count > 20
    for few, many in zip(page_queries(2, count), page_queries(10, count), strict=True):
        if "total" in few and "workorder" in path:
            few, many = (q.replace("total", "reported_at") for q in (few, many))
        if "station" in few and "workorder" in path:
            few, many = (q.replace("col:station,opr:rel_o_m,value:1", "col:technician_no,opr:eq,value:EMP2")
                         for q in (few, many))
        sizes = []
        for q in (few, many):
            api.get(f"{path}?q={q}")  # a first request fills the caches a worker keeps
            with counted(app) as statements:
                r = api.get(f"{path}?q={q}")
            assert r.status_code == 200 and r.json["result"], q
            sizes.append(len(statements))
        assert sizes[0] == sizes[1], (few, sizes)


BAD = ["(page:abc)", "(page_size:(a:1))", "(order_column:snapshot)", "(order_column:id,order_direction:up)",
       "(filters:!((col:nope,opr:eq,value:1)))", "("]


@pytest.mark.parametrize(("path", "q"), [
    *(("/api/v1/appraisal/", q) for q in BAD), *(("/api/v1/workorder/", q) for q in BAD),
    ("/api/v1/appraisal/", "(filters:!((col:total,opr:eq,value:abc)))"),
    ("/api/v1/appraisal/", "(filters:!((col:cycle,opr:rel_o_m,value:'x')))"),
    ("/api/v1/workorder/", "(filters:!((col:reported_at,opr:gt,value:abc)))"),
    ("/api/v1/workorder/", "(filters:!((col:station_id,opr:eq,value:(a:1))))"),
])
def test_bad_list_arguments_answer_400(api_as, path, q):
    r = api_as("hr").get(f"{path}?q={q}")
    assert r.status_code == 400, (q, r.get_data(as_text=True))
    assert r.json["message"]


def plans(app, api, path: str) -> dict[str, str]:
    """Each counting or paging statement of the request → SQLite's query plan for it."""
    seen = []

    def keep(_conn, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert api.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    with app.app_context():
        connection = db.session.connection()
        return {statement: " | ".join(str(row[-1]) for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, tuple(parameters)))
                for statement, parameters in seen
                if "count(*)" in statement or " LIMIT " in statement}


@sqlite_only
def test_sqlite_reads_the_lists_indexes(app, api_as):
    api = api_as("hr")
    by_technician = plans(app, api, "/api/v1/workorder/?q=(filters:!((col:technician_no,opr:eq,value:EMP2)))")
    assert by_technician and all("ix_work_order_technician_no" in plan for plan in by_technician.values())
    by_total = plans(app, api, "/api/v1/appraisal/?q=(order_column:total,order_direction:desc)")
    keys = [plan for statement, plan in by_total.items() if "ORDER BY appraisal.total" in statement]
    assert keys and "ix_appraisal_total" in keys[0] and "TEMP B-TREE" not in keys[0]
    # HR's whole list is counted without a WHERE, which SQLite counts from the b-tree's pages.
    whole = plans(app, api, "/api/v1/workorder/?q=(page:3,page_size:2)")
    counts = [statement for statement in whole if "count(*)" in statement]
    assert counts and all("FROM work_order WHERE" not in statement for statement in counts)


@sqlite_only
def test_sqlite_reads_each_appraisals_workflow_events_from_their_index(app):
    # The events of a page of appraisals (the inbox's approval rounds): with the table's statistics, an
    # order by event alone made SQLite walk the whole audit table in that order.
    with app.app_context():
        db.session.execute(text("ANALYZE"))
        ids = list(db.session.scalars(select(Appraisal.id).order_by(Appraisal.id).limit(500)))
        statement = _history_query(ids).compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = [str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {statement}"))]
        db.session.rollback()
    assert len(ids) > 10 and plan
    assert not [step for step in plan if step.startswith("SCAN audit_event")], plan
