"""What a process keeps of HR's dashboard: the stored figures it has read (under their cycle, fingerprint and
moment summed) and the charts it has drawn (under the values they draw). A change to an appraisal shows on
the next view, a renamed station at once, a narrower scope never reads what HR's views kept, and a warm view
runs as many statements whatever the number of cycles."""

from __future__ import annotations

import re

import pytest
from flask import url_for
from markupsafe import Markup
from sqlalchemy import select

from app.charts import svg
from app.extensions import db
from app.models import Appraisal, Cycle, Employee, Station
from app.scoping import scope_for
from app.services import dashboard as dash
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from app.views.dashboard import id_urls, station_options
from tests.cycles.conftest import fresh, moves  # noqa: F401 - fixtures
from tests.factories import counted, demo_period

SUMS = re.compile(r"dashboard_figures\.(?:categories|indicators|top|total_sum)")  # reading stored sums


def graded(html: str) -> dict[str, int]:
    """The grade chart's counts."""
    return {grade: int(n) for grade, n in re.findall(r"<title>([A-D]|N/A): (\d+)</title>", html)}


def ranked_total(html: str, employee_no: str, name: str) -> float | None:
    row = re.search(rf">{employee_no} {re.escape(name)}</a></td>\s*<td[^>]*>([\d.]+)<", html)
    return float(row.group(1)) if row else None


def warm(app, browser, path: str = "/dashboard/") -> tuple[str, list[str]]:
    """The page and statements of a view after two others have stored and read the figures."""
    browser.get(path)
    browser.get(path)
    with counted(app) as statements:
        response = browser.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True), statements


def test_a_review_shows_on_the_views_after_it_and_kept_figures_are_not_read_again(
        app, moves, fresh, login_as):  # noqa: F811
    hr = login_as("hr")
    path = f"/dashboard/?cycle={fresh}"
    html, statements = warm(app, hr, path)
    assert not [s for s in statements if SUMS.search(s)]  # read once, then kept
    with app.app_context():
        emp1 = db.session.get(Employee, db.session.get(Appraisal, moves.id("EMP1")).employee_id)
        no, name = emp1.employee_no, emp1.name
        moves.to_pending_review("EMP1")
        moves.review("sup1", "EMP1", adjustment=-7, reason="现场抽查")
        after = db.session.scalar(select(Appraisal.total).where(Appraisal.id == moves.id("EMP1")))
        db.session.remove()
    assert ranked_total(html, no, name) != pytest.approx(after)
    summed = hr.get(path).get_data(as_text=True)  # the review moved the fingerprint: summed again
    read_back = hr.get(path).get_data(as_text=True)  # and read back under the new one
    kept = hr.get(path).get_data(as_text=True)  # then kept
    for page in (summed, read_back, kept):
        assert ranked_total(page, no, name) == pytest.approx(after)
    assert graded(summed) == graded(read_back) == graded(kept)
    with app.app_context():
        assert graded(kept) == {grade or "N/A": n for grade, n in dash.grade_counts(
            db.session, dash.Scope(everything=True), fresh).items()}


def test_a_renamed_station_shows_at_once(app, login_as):
    hr = login_as("hr")
    warm(app, hr)
    with app.app_context():
        station = db.session.scalar(select(Station).where(Station.code == "S01"))
        station.name = "改名<站>"
        db.session.commit()
    html = hr.get("/dashboard/").get_data(as_text=True)
    assert "S01 改名&lt;站&gt;</option>" in html and "<站>" not in html
    assert re.search(r'station=\d+">S01 改名&lt;站&gt;</a>', html)  # the ranking names it as it is now


def test_a_supervisor_never_reads_what_hrs_views_kept(app, login_as):
    hr = login_as("hr")
    html_hr, _ = warm(app, hr)
    sup = login_as("sup1")
    html_sup, statements = warm(app, sup)
    with app.app_context():
        scope = scope_for(app.appbuilder.sm.find_user(username="sup1"))
        cycle_id = dash.cycles(db.session, scope)[-1].id  # the one the page shows
        live = dash.grade_counts(db.session, scope, cycle_id)
        theirs = {s.code for s in dash.stations(db.session, scope)}
        others = [s for s in db.session.scalars(select(Station)) if s.code not in theirs]
    assert graded(html_sup) == {grade or "N/A": n for grade, n in live.items()}
    assert sum(graded(html_sup).values()) < sum(graded(html_hr).values())
    assert others and not any(f">{s.code} {s.name}<" in html_sup for s in others)
    assert not [s for s in statements if "dashboard_figures" in s]  # summed live, never from HR's store
    assert hr.get("/dashboard/").get_data(as_text=True).count("<svg") == html_hr.count("<svg")
    assert graded(hr.get("/dashboard/").get_data(as_text=True)) == graded(html_hr)


def test_a_warm_view_runs_as_many_statements_with_one_cycle_more(app, login_as):
    hr = login_as("hr")
    _, before = warm(app, hr)
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, "再一期", start, end)
        compute_cycle(db.session, cycle)
        db.session.remove()
    html, after = warm(app, hr)
    assert "再一期" in html
    assert len(after) == len(before)
    assert not [s for s in after if SUMS.search(s)]
    with app.app_context():
        assert db.session.scalar(select(Cycle).where(Cycle.name == "再一期")) is not None


def test_a_chart_is_drawn_once_per_values_and_anew_for_others():
    rows = [("S01 一站", 81.5), ("S02 <二站>", None)]
    first = svg.ranking_bars(rows)
    assert isinstance(first, Markup) and svg.ranking_bars(list(rows)) is first
    assert svg.ranking_bars(iter(rows)) is first  # an iterator is read once and keyed the same
    assert svg.ranking_bars([("S01 一站", 81.6), rows[1]]) != first
    assert "&lt;二站&gt;" in first and "<二站>" not in first
    # a value drawn differently is keyed differently: True is N/A, 1 is a bar
    assert svg.ranking_bars([("a", True)]) != svg.ranking_bars([("a", 1)])
    assert svg.ranking_bars([("a", 1)]) == svg.ranking_bars([("a", 1.0)])
    # a mapping's order is the chart's order
    assert svg.category_bars({"甲": 50, "乙": 60}) != svg.category_bars({"乙": 60, "甲": 50})
    assert svg.ranking_bars(rows, title="x") != first
    for i in range(svg.KEPT + 1):  # no more than KEPT charts are kept
        svg.grade_distribution({"A": i})
    assert len(svg._kept) == svg.KEPT


def test_links_built_once_equal_url_for(app):
    with app.test_request_context("/dashboard/"):
        station_url = id_urls("DashboardView.index", "station", cycle=12)
        appraisal_url = id_urls("AppraisalView.show", "pk")
        for ident in (1, 7, 123456):
            assert station_url(ident) == url_for("DashboardView.index", cycle=12, station=ident)
            assert appraisal_url(ident) == url_for("AppraisalView.show", pk=ident)
        rows = [Station(id=1, code="S1", name="一<站>"), Station(id=2, code="S&2", name="二")]
        assert station_options(rows, rows[1]) == (
            '<option value="1">S1 一&lt;站&gt;</option><option value="2" selected>S&amp;2 二</option>')
