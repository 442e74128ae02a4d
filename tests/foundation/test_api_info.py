"""What ``GET /api/v1/<resource>/_info`` reveals: add and edit fields only to who may write them,
related choices within the caller's scope, and no catalog header for a description."""

import pytest
from flask_login import login_user
from sqlalchemy import select

from app.api.appraisal import AppraisalApi
from app.api.base import JixiaoModelRestApi
from app.extensions import db
from app.models import Employee

EVERY_STATION = ["S01 ", "S02 ", "S03 "]


@pytest.mark.parametrize("username", ["emp1", "emp6"])
def test_a_reader_gets_no_add_or_edit_choices(api_as, username):
    api = api_as(username)
    for resource in ["appraisal", "cycle", "station", "employee", "workorder", "survey"]:
        r = api.get(f"/api/v1/{resource}/_info")
        assert r.status_code == 200, resource
        assert r.json["add_columns"] == [] and r.json["edit_columns"] == [], resource
    text = api.get("/api/v1/appraisal/_info").get_data(as_text=True)
    other = "EMP6 吴强" if username == "emp1" else "EMP1 "
    assert other not in text and "compute" not in text
    cycle = api.get("/api/v1/cycle/_info").get_data(as_text=True)
    assert not any(code in cycle for code in EVERY_STATION) and "published" not in cycle


def test_a_writer_gets_the_fields_of_fabs_own_post_and_put(api_as):
    api = api_as("hr")
    station = api.get("/api/v1/station/_info").json
    assert [f["name"] for f in station["add_columns"]] == ["code", "name", "segment", "manager_id"]
    assert [f["name"] for f in station["edit_columns"]] == ["code", "name", "segment", "manager_id"]
    # appraisals change only through the workflow, cycles are created by their own handler
    appraisal, cycle = api.get("/api/v1/appraisal/_info").json, api.get("/api/v1/cycle/_info").json
    assert appraisal["add_columns"] == appraisal["edit_columns"] == cycle["add_columns"] == []


def test_field_descriptions_are_never_the_catalog_header(app, api_as):
    api = api_as("admin")
    apis = [v for v in app.appbuilder.baseviews if isinstance(v, JixiaoModelRestApi)]
    resources = sorted({v.resource_name for v in apis})
    assert len(resources) >= 10
    for resource in resources:
        info = api.get(f"/api/v1/{resource}/_info").json
        for field in info["add_columns"] + info["edit_columns"]:
            assert "Project-Id-Version" not in field["description"] + field["label"], (resource, field)
            assert field["label"], (resource, field)


def test_related_choices_are_scoped_like_the_related_list(appctx):
    from app.models.security import User

    api = next(v for v in appctx.appbuilder.baseviews if isinstance(v, AppraisalApi))
    with appctx.test_request_context("/api/v1/appraisal/_info"):
        login_user(db.session.scalar(select(User).where(User.username == "sup1")))
        field = api.edit_model_schema.fields["employee"]
        count, values = api._get_list_related_field(field, [])
    sup1 = db.session.scalar(select(Employee).where(Employee.employee_no == "SUP1"))
    team = set(db.session.scalars(select(Employee.id).where(Employee.supervisor_id == sup1.id))) | {sup1.id}
    assert count == len(values) and {v["id"] for v in values} == team
