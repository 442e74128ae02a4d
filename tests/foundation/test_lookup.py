"""The appraisal list's employee filter: no list of every employee in the page, but choices looked up as
the person types, within what they may see."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Employee


def employee_id(app, no: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Employee.id).where(Employee.employee_no == no))


def employee_field(page: str) -> str:
    """The employee filter's field in the list's filter script."""
    fields = [json.loads(m.group(1)) for m in re.finditer(r'"employee": ("(?:[^"\\]|\\.)*")', page)]
    fields = [f for f in fields if f.startswith("<")]  # not the column's label
    assert len(fields) == 1, "no employee filter on the page"
    return fields[0]


def test_the_list_names_no_employee_until_one_is_filtered(app, login_as):
    hr = login_as("hr")
    field = employee_field(hr.get("/appraisal/list/").get_data(as_text=True))
    assert 'data-ajax--url="/lookup/employee"' in field and "<option" not in field
    filtered = hr.get(f"/appraisal/list/?_flt_0_employee={employee_id(app, 'EMP1')}").get_data(as_text=True)
    field = employee_field(filtered)
    assert field.count("<option") == 1 and ">EMP1 张伟</option>" in field


def test_the_lookup_answers_matches_within_the_callers_scope(app, login_as):
    hr = login_as("hr")
    found = hr.get("/lookup/employee?q=EMP1").get_json()["results"]
    assert {r["text"] for r in found} == {"EMP1 张伟", "EMP10 高燕"}
    assert hr.get("/lookup/employee?q=张").get_json()["results"][0]["text"] == "EMP1 张伟"
    assert hr.get("/lookup/employee?q=").get_json() == {"results": []}
    assert hr.get("/lookup/employee?q=%25").get_json() == {"results": []}  # a wildcard is a character
    sup1 = login_as("sup1")
    assert {r["text"] for r in sup1.get("/lookup/employee?q=EMP1").get_json()["results"]} == {"EMP1 张伟"}


def test_the_lookup_needs_a_sign_in(client):
    assert client.get("/lookup/employee?q=EMP").status_code in (302, 401, 403)
