"""HR's dashboard reads figures stored per cycle and station: they equal the live ones, follow every change
of an appraisal, never widen a narrower scope, and the page keeps its size and its queries whatever the
number of stations."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, insert, select

from app.clock import now
from app.extensions import db
from app.models import Appraisal, Cycle, DashboardFigures, Employee, Station
from app.scoping import Scope, scope_for
from app.services import dashboard as dash
from app.services.dashboard_store import Board
from tests.cycles.conftest import fresh, moves  # noqa: F401 - fixtures
from tests.factories import counted

EVERYTHING = Scope(everything=True)


def assert_stored_equal_live(session, cycle_id: int) -> None:
    """Every figure the stored rows give equals the one computed live over the appraisals."""
    cycles = dash.cycles(session, EVERYTHING)
    board = Board(session, EVERYTHING, cycles)
    assert board.stored
    for station_id in [None, *(s.id for s in dash.stations(session, EVERYTHING))]:
        figures = board.figures(cycle_id, station_id)
        assert figures.grade_counts() == dash.grade_counts(session, EVERYTHING, cycle_id, station_id)
        summary = dash.indicator_summary(session, EVERYTHING, cycle_id, station_id)
        assert figures.indicator_summary() == summary
        assert figures.rule_versions() == dash.rule_versions(session, EVERYTHING, cycle_id, station_id)
        live = dash.employee_ranking(session, EVERYTHING, cycle_id, station_id)
        assert [(r.id, r.label, r.total, r.grade, r.appraisal_id) for r in board.people(figures)] == [
            (r.id, r.label, r.total, r.grade, r.appraisal_id) for r in live]
        if station_id is not None:
            history = dash.category_history(session, EVERYTHING, cycles, [station_id]).get(station_id, {})
            assert board.history(station_id) == history
    stored = [(r.id, r.label, r.count) for r in board.station_ranking(cycle_id)]
    live = dash.station_ranking(session, EVERYTHING, cycle_id)
    assert stored == [(r.id, r.label, r.count) for r in live]
    assert [r.total for r in board.station_ranking(cycle_id)] == pytest.approx([r.total for r in live])


def stored_rows(cycle_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(DashboardFigures)
                             .where(DashboardFigures.cycle_id == cycle_id))


def test_stored_figures_equal_the_live_ones_and_follow_a_review(app, moves, fresh, login_as):  # noqa: F811
    hr = login_as("hr")
    assert hr.get(f"/dashboard/?cycle={fresh}").status_code == 200
    with app.app_context():
        assert stored_rows(fresh) == 1 + len(dash.stations(db.session, EVERYTHING))  # the network + each
        assert_stored_equal_live(db.session, fresh)
        before = db.session.scalar(select(Appraisal.total).where(
            Appraisal.id == moves.id("EMP1"), Appraisal.is_current.is_(True)))
        moves.to_pending_review("EMP1")
        moves.review("sup1", "EMP1", adjustment=-7, reason="现场抽查")
        after = db.session.scalar(select(Appraisal.total).where(Appraisal.id == moves.id("EMP1")))
        assert after != before
        db.session.remove()
    html = hr.get(f"/dashboard/?cycle={fresh}").get_data(as_text=True)
    with app.app_context():
        assert_stored_equal_live(db.session, fresh)  # summed again: the review moved the fingerprint
        emp1 = db.session.get(Employee, db.session.get(Appraisal, moves.id("EMP1")).employee_id)
    row = re.search(rf">{emp1.employee_no} {re.escape(emp1.name)}</a></td>\s*<td[^>]*>([\d.]+)<", html)
    assert row and float(row.group(1)) == pytest.approx(after)


def test_figures_of_an_older_fingerprint_are_never_read(app, login_as):
    hr = login_as("hr")
    hr.get("/dashboard/")
    with app.app_context():
        cycle_id = db.session.scalar(select(Cycle.id).order_by(Cycle.id))
        # figures stored by hand under another fingerprint: a write the fingerprint saw
        db.session.execute(DashboardFigures.__table__.update().where(DashboardFigures.cycle_id == cycle_id)
                           .values(fingerprint="2000-01-01T00:00:00+00:00", grades={"Z": 99}))
        db.session.commit()
    html = hr.get("/dashboard/").get_data(as_text=True)
    assert "Z: 99" not in html and re.search(r"<title>[A-D]: \d+</title>", html)
    with app.app_context():
        stored = set(db.session.scalars(select(DashboardFigures.fingerprint)))
    assert "2000-01-01T00:00:00+00:00" not in stored


def test_a_station_manager_reads_live_figures_of_their_scope_only(app, login_as):
    login_as("hr").get("/dashboard/")  # HR's stored figures span the network
    html = login_as("manager1").get("/dashboard/").get_data(as_text=True)
    with app.app_context():
        s01 = db.session.scalar(select(Station).where(Station.code == "S01"))
        s02 = db.session.scalar(select(Station).where(Station.code == "S02"))
        scope = scope_for(app.appbuilder.sm.find_user(username="manager1"))
        assert s01.id in scope.station_ids and not scope.everything
        cycle_id = db.session.scalar(select(Cycle.id).order_by(Cycle.id))
        board = Board(db.session, scope, dash.cycles(db.session, scope))
        assert not board.stored
        counts = board.figures(cycle_id).grade_counts()
        assert counts == dash.grade_counts(db.session, scope, cycle_id)
        shown = sum(int(n) for n in re.findall(r"<title>(?:[A-D]|N/A): (\d+)</title>", html))
        everyone = db.session.scalar(select(func.count()).select_from(Appraisal).where(
            Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True)))
    assert shown == sum(counts.values()) < everyone
    assert s02.name not in html


def add_stations(app, first: int, count: int, people: int = 3) -> None:
    """``count`` more stations of ``people`` employees each, their appraisals copies of one in the first
    cycle (its snapshot and grade, the total one less for each next employee)."""
    with app.app_context():
        cycle_id = db.session.scalar(select(Cycle.id).order_by(Cycle.id))
        model = db.session.scalar(select(Appraisal).where(Appraisal.cycle_id == cycle_id,
                                                          Appraisal.is_current.is_(True)).order_by(Appraisal.id))
        rows, at = [], now()  # stamped as every write to an appraisal is
        for i in range(first, first + count):
            station = Station(code=f"T{i:03}", name=f"测试站{i:03}")
            db.session.add(station)
            db.session.flush()
            for k in range(people):
                employee = Employee(employee_no=f"T{i:03}-{k}", name=f"员工{i:03}{k}", station_id=station.id)
                db.session.add(employee)
                db.session.flush()
                rows.append({
                    "cycle_id": cycle_id, "employee_id": employee.id, "station_id": station.id, "version": 1,
                    "rule_set_version_id": model.rule_set_version_id, "is_current": True,
                    "state": model.state, "subtotal": model.subtotal, "total": (model.total or 0) - k,
                    "grade": model.grade, "adjustment": 0.0, "manual": {}, "snapshot": model.snapshot,
                    "snapshot_hash": model.snapshot_hash, "computed_at": at, "updated_at": at})
        db.session.execute(insert(Appraisal), rows)
        db.session.commit()


def warm_view(app, browser) -> tuple[int, int]:
    """(bytes, statements) of HR's dashboard read from stored figures."""
    assert browser.get("/dashboard/").status_code == 200  # sums and stores the new figures
    with counted(app) as statements:
        response = browser.get("/dashboard/")
    assert response.status_code == 200
    return len(response.get_data()), len(statements)


def test_many_stations_keep_the_page_small_and_its_queries_constant(app, login_as):
    hr = login_as("hr")
    add_stations(app, 0, 40)
    size_40, queries_40 = warm_view(app, hr)
    add_stations(app, 40, 40)
    size_80, queries_80 = warm_view(app, hr)
    print("dashboard bytes/queries at 40 and 80 stations:", size_40, queries_40, size_80, queries_80)
    assert queries_80 == queries_40
    assert size_40 < 80_000
    # 40 more stations add their choice to the picker and nothing else
    picker = len(re.findall(r'<option value="\d+"', hr.get("/dashboard/").get_data(as_text=True)))
    assert picker >= 82 and size_80 - size_40 < 40 * 120
    html = hr.get("/dashboard/?page=5").get_data(as_text=True)
    table = html[html.index("jx-station-ranking"):]
    table = table[:table.index("</table>")]
    ranks = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", table)]
    assert ranks == list(range(81, 83))  # page 5 of 20: the last two of 82 stations


def test_an_indicator_of_many_employees_is_paged(app, login_as):
    hr = login_as("hr")
    add_stations(app, 0, 40)  # 120 more appraisals, each with the indicators of the one copied
    with app.app_context():
        cycle_id = db.session.scalar(select(Cycle.id).order_by(Cycle.id))
        having = sum(1 for lines in db.session.scalars(select(Appraisal.snapshot["lines"]).where(
            Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True)))
            if any(line.get("code") == "kpi_first_fix" for line in lines or []))
    url = f"/dashboard/indicator/{cycle_id}/kpi_first_fix"
    first, second = (hr.get(f"{url}?page={n}").get_data(as_text=True) for n in (1, 2))
    rows = [len(re.findall(r'<td class="text-right jx-nowrap">', html)) for html in (first, second)]
    assert having > 100 and rows == [100, having - 100]
    assert 'class="pagination pagination-sm jx-indicator-pages"' in first
    past_the_end = hr.get(f"{url}?page=99").get_data(as_text=True)  # the last page
    assert past_the_end.count('<td class="text-right jx-nowrap">') == rows[1]
