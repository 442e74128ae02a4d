"""The scope of an API request that builds no caller: the person's employee record and whether they stand
in for anybody in one statement, the principals read only when they do (and then seen in the list)."""

from __future__ import annotations

import datetime as dt

from flask import g

from app import clock
from app.extensions import db
from app.models import Substitute
from app.scoping import current_scope, scope_for
from app.web.context import current_caller
from tests.factories import statements_for

LIST = "/api/v1/appraisal/?q=(page_size:50)"


def _principal_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "substitute.principal_id = ab_user.id" in s.replace('"', "")]


def _employee_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM ab_user LEFT OUTER JOIN employee" in s.replace('"', "")]


def test_a_supervisor_standing_in_for_nobody_costs_one_statement_of_scope(app, login_as):
    statements = statements_for(app, login_as("sup1"), LIST)
    assert len(_employee_reads(statements)) == 1
    assert _principal_reads(statements) == []
    assert not [s for s in statements if "FROM employee" in s.replace('"', "") and "user_id = " in s
                and "ab_user" not in s]


def test_a_supervisor_standing_in_reads_the_principals_and_sees_their_reports(app, login_as):
    client = login_as("sup1")
    alone = client.get(LIST).json
    with app.app_context():
        sm = app.appbuilder.sm
        today = clock.local_today()
        db.session.add(Substitute(principal_id=sm.find_user(username="sup2").id,
                                  substitute_id=sm.find_user(username="sup1").id, starts_on=today,
                                  ends_on=today + dt.timedelta(days=3), created_by="hr"))
        db.session.commit()
    statements = statements_for(app, client, LIST)
    assert len(_principal_reads(statements)) == 1
    standing_in = client.get(LIST).json
    assert standing_in["count"] > alone["count"]


def test_the_scope_is_the_callers_when_the_request_built_one(app):
    with app.test_request_context():
        user = app.appbuilder.sm.find_user(username="sup1")
        g._login_user = user
        caller = current_caller()
        assert current_scope() is caller.scope
        assert caller.scope == scope_for(user)
