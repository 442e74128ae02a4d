"""The demo organisation: every demo user signs in through the form and the API."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Employee, Station
from tests.factories import DEMO_USERS, jwt_token


@pytest.mark.parametrize("username", DEMO_USERS)
def test_demo_user_logs_in_through_form_and_api(app, login_as, username):
    c = login_as(username)
    assert c.get("/").status_code == 200
    assert jwt_token(app.test_client(), username)


def test_demo_organisation_matches_spec(appctx):
    stations = {s.code: s.segment.value for s in db.session.scalars(select(Station))}
    assert stations == {"S01": "consumer", "S02": "enterprise", "S03": "mixed"}
    people = {e.employee_no: e for e in db.session.scalars(select(Employee))}
    for i in range(1, 6):
        assert people[f"EMP{i}"].supervisor.employee_no == "SUP1"
        assert people[f"EMP{i}"].user.username == f"emp{i}"
    for i in range(6, 11):
        assert people[f"EMP{i}"].supervisor.employee_no == "SUP2"
    s01 = db.session.scalar(select(Station).where(Station.code == "S01"))
    assert s01.manager.employee_no == "MANAGER1"
    assert people["SUP1"].station.code == "S01" and people["SUP2"].station.code == "S02"
