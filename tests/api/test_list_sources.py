"""The source data's list APIs (work orders, surveys, labour costs) write their rows from the page's
columns: the same answer as FAB's own list (a request naming its columns), in either language, as many
statements for ten rows as for two, and a count that follows the data."""

from __future__ import annotations

import pytest

from app.api.source import LaborCostApi, SurveyApi, WorkOrderApi
from app.extensions import db
from app.models import WorkOrder
from tests.factories import counted

APIS = {"workorder": WorkOrderApi, "survey": SurveyApi, "laborcost": LaborCostApi}
QUERIES = ("page_size:20", "order_column:id,order_direction:desc,page_size:7,page:1",
           "filters:!((col:technician_no,opr:eq,value:EMP2)),order_column:reported_at,order_direction:asc")


@pytest.mark.parametrize("resource", APIS)
def test_a_list_answers_as_fabs_own_list(api_as, resource):
    api = api_as("hr")
    columns = "!(" + ",".join(APIS[resource].list_columns) + ")"
    for q in QUERIES if resource == "workorder" else QUERIES[:2]:
        for language in ("zh", "en"):
            path = f"/api/v1/{resource}/?_l_={language}&q=("
            fast, own = api.get(f"{path}{q})"), api.get(f"{path}columns:{columns},{q})")
            assert fast.status_code == own.status_code == 200, fast.get_data(as_text=True)
            assert fast.json["result"], q
            for key in ("count", "ids", "result", "label_columns", "list_title", "order_columns"):
                assert fast.json[key] == own.json[key], (key, q, language)
            assert fast.json["list_columns"] == APIS[resource].list_columns


def test_the_labels_follow_the_readers_language(api_as):
    api = api_as("hr")
    chinese = api.get("/api/v1/workorder/?_l_=zh&q=(page_size:1)").json["label_columns"]
    english = api.get("/api/v1/workorder/?_l_=en&q=(page_size:1)").json["label_columns"]
    assert chinese == api.get("/api/v1/workorder/?_l_=zh&q=(page_size:1)").json["label_columns"]
    assert chinese != english and set(chinese) == set(english)


@pytest.mark.parametrize("q", ["", "filters:!((col:technician_no,opr:eq,value:EMP2)),",
                               "order_column:completed_at,order_direction:desc,"])
def test_a_work_order_page_runs_as_many_statements_for_ten_rows_as_for_two(app, api_as, q):
    api = api_as("hr")
    sizes = []
    for size in (2, 10):
        path = f"/api/v1/workorder/?q=({q}page_size:{size})"
        api.get(path)
        with counted(app) as statements:
            r = api.get(path)
        assert r.status_code == 200 and len(r.json["result"]) == size
        sizes.append(len(statements))
    assert sizes[0] == sizes[1]


def test_the_count_follows_new_work_orders(app, api_as):
    api = api_as("hr")
    first = api.get("/api/v1/workorder/?q=(page_size:5)").json
    with app.app_context():
        order = db.session.get(WorkOrder, first["ids"][0])
        db.session.add(WorkOrder(order_no=order.order_no + "-new", station_code=order.station_code,
                                 station_id=order.station_id, technician_no=order.technician_no,
                                 technician_id=order.technician_id, customer_type=order.customer_type,
                                 reported_at=order.reported_at))
        db.session.commit()
    again = api.get("/api/v1/workorder/?q=(page_size:5)").json
    assert again["count"] == first["count"] + 1
    last = api.get(f"/api/v1/workorder/?q=(page:{first['count'] // 5},page_size:5)").json
    assert last["ids"][-1] == max(again["ids"] + last["ids"]) and last["count"] == first["count"] + 1
