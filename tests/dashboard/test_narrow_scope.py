"""A narrower scope's dashboard (a supervisor's) reads the ids of its appraisals once, from the index of the
scope's columns, and names them in every later query: the scope is tested once, the page runs as many
statements for a larger team, and its figures are those of the scope tested in every query."""

from __future__ import annotations

import re

from sqlalchemy import insert, select

from app.clock import now
from app.extensions import db
from app.models import Appraisal, Cycle, Employee
from app.scoping import scope_for
from app.services import dashboard as dash
from app.services.dashboard_store import Board
from tests.factories import counted

REPORTS = re.compile(r"FROM employee\s+WHERE employee\.supervisor_id")  # the scope's subquery of reports


def add_reports(app, supervisor_no: str, first: int, count: int) -> None:
    """``count`` more reports of the supervisor, in their station, each with a copy of the supervisor's
    first report's appraisal in the first cycle (its snapshot, grade and state)."""
    with app.app_context():
        supervisor = db.session.scalar(select(Employee).where(Employee.employee_no == supervisor_no))
        cycle_id = db.session.scalar(select(Cycle.id).order_by(Cycle.id))
        model = db.session.scalar(
            select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
            .where(Employee.supervisor_id == supervisor.id, Appraisal.cycle_id == cycle_id,
                   Appraisal.is_current.is_(True)).order_by(Appraisal.id))
        rows, at = [], now()
        for i in range(first, first + count):
            employee = Employee(employee_no=f"R{i:03}", name=f"组员{i:03}", station_id=supervisor.station_id,
                                supervisor_id=supervisor.id)
            db.session.add(employee)
            db.session.flush()
            rows.append({
                "cycle_id": cycle_id, "employee_id": employee.id, "station_id": supervisor.station_id,
                "version": 1, "rule_set_version_id": model.rule_set_version_id, "is_current": True,
                "state": model.state, "subtotal": model.subtotal, "total": (model.total or 0) - i % 7,
                "grade": model.grade, "adjustment": 0.0, "manual": {}, "snapshot": model.snapshot,
                "snapshot_hash": model.snapshot_hash, "computed_at": at, "updated_at": at})
        db.session.execute(insert(Appraisal), rows)
        db.session.commit()


def graded(html: str) -> int:
    """The appraisals the page's grade distribution counts."""
    return sum(int(n) for n in re.findall(r"<title>(?:[A-D]|N/A): (\d+)</title>", html))


def statements_of(app, browser, path: str) -> tuple[str, list[str]]:
    browser.get(path)
    with counted(app) as statements:
        response = browser.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True), statements


def test_a_supervisors_dashboard_tests_its_scope_once_whatever_the_team(app, login_as):
    sup = login_as("sup1")
    add_reports(app, "SUP1", 0, 2)
    with app.app_context():
        path = f"/dashboard/?cycle={db.session.scalar(select(Cycle.id).order_by(Cycle.id))}"
    html_small, small = statements_of(app, sup, path)
    add_reports(app, "SUP1", 2, 30)
    html_large, large = statements_of(app, sup, path)
    assert len(large) == len(small)
    # the reports' subquery of the scope, once: not in each of the page's queries over the appraisals
    assert sum(bool(REPORTS.search(statement)) for statement in large) == 1
    assert graded(html_large) == graded(html_small) + 30  # the grade chart counts the larger team


def test_the_ids_read_once_give_the_figures_of_the_scope_tested_in_each_query(app, login_as, monkeypatch):
    add_reports(app, "SUP1", 0, 5)
    with app.app_context():
        session = db.session
        scope = scope_for(app.appbuilder.sm.find_user(username="sup1"))
        held = dash.Held.read(session, scope)
        assert held is not None and dash.Held.read(session, scope_for(app.appbuilder.sm.find_user(
            username="hr"))) is None
        cycles = dash.cycles(session, scope)
        assert cycles and dash.cycles(session, scope, held) == cycles
        assert dash.stations(session, scope, held) == dash.stations(session, scope)

        def figures(board: Board) -> list:
            out = [board.history(None)]
            for station_id in [None, *(s.id for s in dash.stations(session, scope))]:
                out.append(board.history(station_id))
                for cycle in cycles:
                    out.append(board.figures(cycle.id, station_id).to_row())
            for cycle in cycles:
                out.append([(r.id, r.label, r.total, r.count) for r in board.station_ranking(cycle.id)])
            return out

        tested = figures(Board(session, scope, cycles))
        assert figures(Board(session, scope, cycles, held)) == tested
        monkeypatch.setattr(dash, "MAX_NAMED", 3)  # a larger scope than this is tested in each query
        assert figures(Board(session, scope, cycles, held)) == tested
        assert tested[1]  # there are figures to compare
