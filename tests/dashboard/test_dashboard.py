"""Dashboards: server-side SVG only, and each role sees exactly its scope."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import Cycle, Employee, Station, Substitute


def facts(app) -> dict:
    with app.app_context():
        cycle = db.session.scalar(select(Cycle).order_by(Cycle.id))
        stations = {s.code: (s.id, s.name) for s in db.session.scalars(select(Station))}
        people = {e.employee_no: (e.id, e.name) for e in db.session.scalars(select(Employee))}
        return {"cycle": cycle.id, "cycle_name": cycle.name, "start": cycle.start.isoformat(),
                "end": cycle.end.isoformat(), "stations": stations, "people": people}


def page(browser, url: str) -> str:
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def assert_self_contained(html: str) -> None:
    """Charts are inline SVG; nothing is loaded from elsewhere."""
    assert "<svg" in html
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not src.startswith(("http:", "https:", "//")), src
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert svgs and not any("<script" in svg or "href=" in svg for svg in svgs)


def test_hr_sees_every_station(app, login_as):
    f = facts(app)
    html = page(login_as("hr"), "/dashboard/")
    assert_self_contained(html)
    for code in ("S01", "S02"):
        assert f["stations"][code][1] in html
    for no in ("EMP1", "EMP6"):  # the ranking spans the network
        assert f"{no} {f['people'][no][1]}" in html


def test_station_manager_sees_only_their_station(app, login_as):
    f = facts(app)
    html = page(login_as("manager1"), "/dashboard/")
    assert_self_contained(html)
    assert f["stations"]["S01"][1] in html and f["stations"]["S02"][1] not in html
    assert f"EMP1 {f['people']['EMP1'][1]}" in html
    assert f"EMP6 {f['people']['EMP6'][1]}" not in html


def test_supervisor_sees_their_reports(app, login_as):
    f = facts(app)
    with app.app_context():  # the demo's sup2 stands in for sup1: here sup2 is on their own
        db.session.execute(delete(Substitute))
        db.session.commit()
    html = page(login_as("sup2"), "/dashboard/")
    assert f"EMP6 {f['people']['EMP6'][1]}" in html
    assert f"EMP1 {f['people']['EMP1'][1]}" not in html and f["stations"]["S01"][1] not in html


def test_employee_sees_their_own_history_only(app, login_as):
    f = facts(app)
    html = page(login_as("emp1"), "/dashboard/")
    assert_self_contained(html)
    assert f["cycle_name"] in html
    others = [name for no, (_, name) in f["people"].items() if no not in ("EMP1",)]
    assert not [name for name in others if name in html]
    assert f["stations"]["S02"][1] not in html


def test_station_outside_scope_is_404(app, login_as):
    f = facts(app)
    s02 = f["stations"]["S02"][0]
    assert login_as("manager1").get(f"/dashboard/?station={s02}").status_code == 404
    assert login_as("hr").get(f"/dashboard/?station={s02}").status_code == 200
    assert login_as("hr").get("/dashboard/?cycle=999999").status_code == 404


def test_grade_distribution_counts_the_cycle(app, login_as):
    html = page(login_as("hr"), "/dashboard/")
    grades = re.search(r"<figure class=\"jx-chart\"><figcaption>[^<]*</figcaption>(<svg.*?</svg>)", html,
                       re.S)
    titles = re.findall(r"<title>([A-D]|N/A): (\d+)</title>", html)
    assert grades and titles
    assert sum(int(n) for _, n in titles) == 13  # every current appraisal of the demo cycle


def test_indicator_drills_down_to_the_orders(app, login_as):
    f = facts(app)
    browser = login_as("hr")
    html = page(browser, f"/dashboard/indicator/{f['cycle']}/kpi_first_fix")
    emp1 = f["people"]["EMP1"][0]
    link = f"/metrics/{emp1}/first_fix_rate/?start={f['start']}&amp;end={f['end']}"
    assert link in html
    # a rate reads as a percentage (stored as a fraction), never "0.88 %"
    values = re.findall(r'<td class="text-right jx-nowrap">([^<]*)</td>', html)
    assert values and all(v == "N/A" or re.fullmatch(r"\d+(\.\d+)?%", v) for v in values), values
    orders = browser.get(link.replace("&amp;", "&"))
    assert orders.status_code == 200 and "EMP1" in orders.get_data(as_text=True)
    # the dashboard lists the indicator with a link to this page
    assert f"/dashboard/indicator/{f['cycle']}/kpi_first_fix" in page(browser, "/dashboard/")


def test_indicator_page_is_scoped(app, login_as):
    f = facts(app)
    url = f"/dashboard/indicator/{f['cycle']}/kpi_first_fix"
    html = page(login_as("manager1"), url)
    assert f"EMP1 {f['people']['EMP1'][1]}" in html and f"EMP6 {f['people']['EMP6'][1]}" not in html
    assert login_as("emp1").get(url).status_code == 404
    assert login_as("hr").get(f"/dashboard/indicator/{f['cycle']}/no_such_indicator").status_code == 404


@pytest.mark.parametrize("username", ["hr", "manager1", "sup1", "emp1"])
def test_english_dashboards(login_as, username):
    html = page(login_as(username), "/dashboard/?_l_=en")
    assert "Dashboards" in html or "My history" in html


def test_anonymous_is_sent_to_login(app):
    response = app.test_client().get("/dashboard/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
