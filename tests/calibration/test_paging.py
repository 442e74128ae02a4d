"""The calibration screen and API at network size: the people a page at a time, filtered by station, grade
and name or number within the caller's scope; the stations a page at a time; the same number of queries
and a bounded page whatever the number of appraisals; the distribution the same as a count by hand."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import insert, or_, select

from app.extensions import db
from app.models import Appraisal, Cycle, Employee, Station
from app.services.distribution import NO_GRADE, PeopleFilter, cycle_distribution, people
from app.views.calibration import PEOPLE_PAGE, STATION_PAGE
from tests.factories import counted

STATIONS, PEOPLE = 30, 20  # added to the demo's two stations: 600 more appraisals
SEGMENTS = ("consumer", "enterprise", "mixed")


def _grade(total: float) -> str:
    return "A" if total >= 90 else "B" if total >= 75 else "C" if total >= 60 else "D"


def _total(i: int) -> float:
    return round(50 + (i * 37) % 50 + (i % 4) * 0.25, 2)


@pytest.fixture
def network(app, hand):
    """The hand-made cycle with :func:`add_network`'s 600 more appraisals; its id."""
    add_network(app, hand)
    return hand


def add_network(app, hand: int) -> None:
    """Add STATIONS stations of PEOPLE employees each to the cycle, their appraisals copied from one of
    the cycle's with totals spread over 50–99.75 (the grade following the total; every 50th without a
    grade; every other one approved, so that the screen offers its form)."""
    with app.app_context():
        model = db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == hand)).first()
        db.session.execute(insert(Station), [
            {"code": f"N{s:03d}", "name": f"网点{s:03d}", "segment": SEGMENTS[s % 3]}
            for s in range(STATIONS)])
        ids = dict(db.session.execute(select(Station.code, Station.id).where(Station.code.like("N%"))).all())
        db.session.execute(insert(Employee), [
            {"employee_no": f"N{s:03d}-{p:02d}", "name": f"技师{s:03d}{p:02d}",
             "station_id": ids[f"N{s:03d}"]} for s in range(STATIONS) for p in range(PEOPLE)])
        employees = db.session.execute(select(Employee.employee_no, Employee.id, Employee.station_id)
                                       .where(Employee.employee_no.like("N%"))).all()
        rows = []
        for i, (_no, employee_id, station_id) in enumerate(sorted(employees)):
            total = _total(i)
            rows.append({"cycle_id": hand, "employee_id": employee_id, "station_id": station_id, "version": 1,
                         "rule_set_version_id": model.rule_set_version_id, "is_current": True,
                         "state": "approved" if i % 2 else model.state, "subtotal": total, "total": total,
                         "grade": None if i % 50 == 0 else _grade(total), "adjustment": 0.0, "manual": {},
                         "snapshot": model.snapshot, "snapshot_hash": f"{i:064d}"})
        db.session.execute(insert(Appraisal), rows)
        db.session.commit()
        db.session.remove()


def _all_people(cycle, bands, **kwargs) -> list:
    out, page = [], 1
    while True:
        found = people(db.session, cycle, bands, page=page, size=7, **kwargs)
        out += found.rows
        if page >= found.pages:
            return out
        page += 1


def test_the_pages_hold_everyone_once_in_order(appctx, network):
    cycle = db.session.get(Cycle, network)
    dist = cycle_distribution(db.session, cycle)
    everyone = _all_people(cycle, dist.bands, where=PeopleFilter(boundary=False))
    current = db.session.scalars(select(Appraisal.id).where(Appraisal.cycle_id == network,
                                                            Appraisal.is_current.is_(True))).all()
    assert len(everyone) == len(current) == 13 + STATIONS * PEOPLE
    assert sorted(p.appraisal_id for p in everyone) == sorted(current)
    station_ids = dict(db.session.execute(select(Station.code, Station.id)).all())
    keys = [(station_ids[p.station_code], -(p.total if p.total is not None else -1)) for p in everyone]
    assert keys == sorted(keys)  # station by station, highest total first, none last
    last = people(db.session, cycle, dist.bands, where=PeopleFilter(boundary=False), page=999, size=50)
    assert last.page == last.pages == 13 and len(last.rows) == (13 + STATIONS * PEOPLE) % 50
    assert last.first == 601


def test_the_boundary_filter_and_its_count(appctx, network):
    cycle = db.session.get(Cycle, network)
    dist = cycle_distribution(db.session, cycle)
    near = _all_people(cycle, dist.bands)
    expected = db.session.scalars(select(Appraisal.id).where(
        Appraisal.cycle_id == network, Appraisal.is_current.is_(True), Appraisal.total.is_not(None))
        .where(or_(*[Appraisal.total.between(m - 2, m + 2) for m in (90, 75, 60)]))).all()
    assert sorted(p.appraisal_id for p in near) == sorted(expected)
    assert all(p.band is not None and abs(p.distance) <= 2 for p in near)
    assert people(db.session, cycle, dist.bands, size=50).total == len(expected)


def test_filters_by_station_grade_and_text_within_the_scope(appctx, network):
    cycle = db.session.get(Cycle, network)
    bands = cycle_distribution(db.session, cycle).bands
    n005 = db.session.scalar(select(Station.id).where(Station.code == "N005"))
    n006 = db.session.scalar(select(Station.id).where(Station.code == "N006"))
    one = people(db.session, cycle, bands, where=PeopleFilter(station_id=n005, boundary=False), size=50)
    assert one.total == PEOPLE and {p.station_code for p in one.rows} == {"N005"}
    b = _all_people(cycle, bands, where=PeopleFilter(grade="B", boundary=False))
    assert b and {p.grade for p in b} == {"B"} and all(75 <= p.total < 90 for p in b)
    none = _all_people(cycle, bands, where=PeopleFilter(grade=NO_GRADE, boundary=False))
    assert len(none) == 1 + (STATIONS * PEOPLE) // 50 and {p.grade for p in none} == {None}  # EMP9 too
    by_no = people(db.session, cycle, bands, where=PeopleFilter(text="N005-1", boundary=False), size=50)
    assert sorted(p.employee_no for p in by_no.rows) == [f"N005-{i}" for i in range(10, 20)]
    by_name = people(db.session, cycle, bands, where=PeopleFilter(text="技师00607", boundary=False))
    assert [p.employee_no for p in by_name.rows] == ["N006-07"]
    wild = people(db.session, cycle, bands, where=PeopleFilter(text="%", boundary=False))
    assert wild.total == 0  # the typed text is matched as itself
    scoped = people(db.session, cycle, bands, station_ids=[n006],
                    where=PeopleFilter(station_id=n005, boundary=False))
    assert scoped.total == 0 and scoped.rows == []  # a station outside the scope shows nobody
    own = people(db.session, cycle, bands, station_ids=[n006], where=PeopleFilter(boundary=False))
    assert own.total == PEOPLE


def test_the_distribution_is_the_count_by_hand(appctx, network):
    dist = cycle_distribution(db.session, db.session.get(Cycle, network))
    totals = [_total(i) for i in range(STATIONS * PEOPLE)]
    graded = Counter(_grade(t) for i, t in enumerate(totals) if i % 50)
    hand = Counter({"A": 3, "B": 4, "C": 3, "D": 2})  # the demo stations (conftest.RESULTS)
    assert dist.network.counts == dict(graded + hand)
    assert dist.network.ungraded == 1 + STATIONS * PEOPLE // 50
    assert len(dist.stations) == STATIONS + 2
    n000 = next(s for s in dist.stations if s.key == "N000")
    assert n000.headcount + n000.ungraded == PEOPLE and n000.spread.count == PEOPLE
    assert sorted(n000.totals) == sorted(totals[:PEOPLE])  # the totals read back exactly
    assert dist.network.spread.count == 12 + STATIONS * PEOPLE


def test_the_screen_costs_the_same_queries_and_stays_small_whatever_the_size(app, login_as, hand):
    c = login_as("hr")
    c.get(f"/calibration/{hand}")
    with counted(app) as seen:
        small = c.get(f"/calibration/{hand}?show=all")
        small_count = len(seen)
    add_network(app, hand)
    with counted(app) as seen:
        counts = []
        for url in (f"/calibration/{hand}?show=all", f"/calibration/{hand}?show=all&page=7&spage=2"):
            seen.clear()
            big = c.get(url)
            assert big.status_code == 200
            counts.append(len(seen))
    assert counts == [small_count, small_count], (small_count, counts)
    html = big.get_data(as_text=True)
    people_rows = html[html.index('class="table table-condensed jx-boundary"'):]
    assert people_rows.count("<tr>") == PEOPLE_PAGE + 1  # the head and one page
    stations = html[html.index("jx-distribution"):html.index("</table>", html.index("jx-distribution"))]
    assert stations.count('class="jx-limits"') <= STATION_PAGE + 1
    assert len(re.findall(r"<td>(?:N\d{3}|S\d\d) ", stations)) == STATIONS + 2 - STATION_PAGE  # the last page
    assert 'class="active"><a href="/calibration/' in html and "page=8" in html
    assert len(small.data) < 80_000 and len(big.data) < 120_000, (len(small.data), len(big.data))


def test_the_screen_filters(app, login_as, network):
    c = login_as("hr")
    with app.app_context():
        n005 = db.session.scalar(select(Station.id).where(Station.code == "N005"))
    html = c.get(f"/calibration/{network}?show=all&station={n005}&grade=B").get_data(as_text=True)
    listed = re.findall(r">(N\d{3}-\d\d) 技师", html)
    assert listed and {no[:4] for no in listed} == {"N005"}
    assert re.search(r'<option value="B"\s+selected>', html)
    html = c.get(f"/calibration/{network}?show=all&q=技师00607").get_data(as_text=True)
    assert re.findall(r">(N\d{3}-\d\d) 技师", html) == ["N006-07"]
    html = c.get(f"/calibration/{network}?q=nobody-at-all").get_data(as_text=True)
    assert 'class="text-muted jx-no-boundary"' in html and 'value="nobody-at-all"' in html
    assert c.get(f"/calibration/{network}?grade=Z").status_code == 400
    assert c.get(f"/calibration/{network}?page=x").status_code == 400
    assert c.get(f"/calibration/{network}?page=0").status_code == 400


def test_the_stations_that_break_the_policy(app, login_as, network):
    c = login_as("hr")
    html = c.get(f"/calibration/{network}?breach=1").get_data(as_text=True)
    with app.app_context():
        dist = cycle_distribution(db.session, db.session.get(Cycle, network))
        breaking = sorted({b.scope for b in dist.breaches} - {"network"})
    table = html[html.index("jx-distribution"):html.index("</table>", html.index("jx-distribution"))]
    shown = re.findall(r"<td>(N\d{3}|S\d\d) ", table)
    assert breaking and shown == breaking[:STATION_PAGE]


def test_the_api_pages_and_filters(app, api_as, network):
    api = api_as("hr")
    first = api.get(f"/api/v1/calibration/{network}?page_size=10")
    assert first.status_code == 200
    body = first.json
    assert len(body["boundary"]) == 10 and body["page"] == 1 and body["page_size"] == 10
    assert body["pages"] == -(-body["boundary_total"] // 10) and len(body["stations"]) == STATIONS + 2
    second = api.get(f"/api/v1/calibration/{network}?page_size=10&page=2").json
    assert not {p["appraisal_id"] for p in second["boundary"]} & {p["appraisal_id"] for p in body["boundary"]}
    whole = api.get(f"/api/v1/calibration/{network}?page_size=1000").json
    assert len(whole["boundary"]) == whole["boundary_total"] == body["boundary_total"]
    b = api.get(f"/api/v1/calibration/{network}?grade=B&q=N00").json
    assert b["boundary"] and {(p["grade"], p["employee_no"][:3]) for p in b["boundary"]} == {("B", "N00")}
    for query in ("page=0", "page_size=1001", "page=x", "grade=Z", "station=x"):
        assert api.get(f"/api/v1/calibration/{network}?{query}").status_code == 400, query
    with app.app_context():
        n005 = db.session.scalar(select(Station.id).where(Station.code == "N005"))
    assert api_as("manager1").get(f"/api/v1/calibration/{network}?station={n005}").status_code == 404
