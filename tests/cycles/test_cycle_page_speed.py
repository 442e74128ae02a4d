"""The cycle page at network size: the same statements whatever the number of stations and appraisals, the
appraisals read once (one GROUP BY), and the figures it shows (the cards per state, the rule-set versions,
the publication's preview and the policy's breaches) the same as the appraisals counted one by one."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import Appraisal, Cycle, Employee, RuleSetVersion, Station
from app.models.appraisal import VISIBLE_TO_SUBJECT
from app.rules.policy import breaches
from app.services import publication
from app.services.cycles import cycle_counts, state_counts, version_counts
from app.services.distribution import breaches_for_cycle, grade_counts_by_station
from app.services.rules import ruleset_for_version
from app.workflow import State
from tests.factories import statements_for

STATIONS, PEOPLE = 12, 15  # added to the demo's stations: 180 more appraisals
STATES = ("draft", "pending_review", "approved", "approved", "signed")
GRADES = ("A", "B", "B", "C", "C", "C", "D", None)
SEGMENTS = ("consumer", "enterprise", "mixed")


def add_network(app, cycle_id: int) -> None:
    """STATIONS more stations of PEOPLE employees each, with current appraisals in the cycle in several
    states and grades (every fourth station with more A than the demo policy allows), every seventh on
    another rule-set version (a draft added here)."""
    with app.app_context():
        model = db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle_id)).first()
        number = db.session.scalar(select(func.max(RuleSetVersion.number))) + 1
        other = db.session.scalar(insert(RuleSetVersion).values(
            number=number, status="draft", created_at=dt.datetime(2026, 1, 1)).returning(RuleSetVersion.id))
        db.session.execute(insert(Station), [
            {"code": f"P{s:03d}", "name": f"网点{s:03d}", "segment": SEGMENTS[s % 3]}
            for s in range(STATIONS)])
        ids = dict(db.session.execute(select(Station.code, Station.id).where(Station.code.like("P%"))).all())
        db.session.execute(insert(Employee), [
            {"employee_no": f"P{s:03d}-{p:02d}", "name": f"技师{s:03d}{p:02d}",
             "station_id": ids[f"P{s:03d}"]} for s in range(STATIONS) for p in range(PEOPLE)])
        employees = db.session.execute(select(Employee.id, Employee.station_id)
                                       .where(Employee.employee_no.like("P%")).order_by(Employee.id)).all()
        db.session.execute(insert(Appraisal), [
            {"cycle_id": cycle_id, "employee_id": employee_id, "station_id": station_id, "version": 1,
             "rule_set_version_id": other if i % 7 == 0 else model.rule_set_version_id,
             "is_current": True, "state": STATES[i % len(STATES)], "subtotal": 60 + i % 40,
             "total": 60 + i % 40, "grade": "A" if i % (4 * PEOPLE) < 6 else GRADES[i % len(GRADES)],
             "adjustment": 0.0, "manual": {},
             "snapshot": model.snapshot, "snapshot_hash": f"p{i:063d}"}
            for i, (employee_id, station_id) in enumerate(employees)])
        db.session.commit()
        db.session.remove()


@pytest.fixture
def network(app, fresh):
    add_network(app, fresh)
    return fresh


def test_the_page_costs_the_same_statements_whatever_the_size(app, login_as, fresh):
    hr = login_as("hr")
    small = statements_for(app, hr, f"/cycles/{fresh}")
    add_network(app, fresh)
    big = statements_for(app, hr, f"/cycles/{fresh}")
    assert len(big) == len(small), (len(small), len(big))
    # the appraisals are read once, grouped: not once per state, version, station or card (besides the
    # cycle's latest write, one descent of an index, which tells whether kept counts still stand)
    reads = [s for s in big if re.search(r"\bFROM appraisal\b", s) and "max(appraisal.updated_at)" not in s]
    assert len(reads) == 1 and "GROUP BY" in reads[0], reads


def _by_hand(cycle_id: int) -> list[tuple]:
    """(station code, grade or None, state, rule-set version number) of every current appraisal."""
    return db.session.execute(
        select(Station.code, Appraisal.grade, Appraisal.state, RuleSetVersion.number)
        .join(Station, Station.id == Appraisal.station_id)
        .join(RuleSetVersion, RuleSetVersion.id == Appraisal.rule_set_version_id)
        .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))).all()


def test_the_counts_are_the_appraisals_counted_one_by_one(appctx, network):
    cycle = db.session.get(Cycle, network)
    rows = _by_hand(network)
    counted = cycle_counts(db.session, cycle)
    assert counted.states == dict(Counter(state.value for _, _, state, _ in rows))
    assert counted.states == state_counts(db.session, network)
    by_version = Counter(f"v{number}" for *_, number in rows)
    assert len(by_version) == 2  # some are on the older version
    assert {v.label: v.count for v in counted.versions} == dict(by_version)
    assert [(v.label, v.count, v.states, v.is_cycles) for v in counted.versions] == [
        (v.label, v.count, v.states, v.is_cycles) for v in version_counts(db.session, cycle)]
    assert counted.versions[0].is_cycles
    codes = dict(db.session.execute(select(Station.id, Station.code)).all())
    found = {(codes[sid], grade): n
             for sid, by_grade in counted.grades.items() for grade, n in by_grade.items()}
    assert found == dict(Counter((code, grade or None) for code, grade, _, _ in rows))
    assert counted.grades == grade_counts_by_station(db.session, cycle)


def test_the_preview_and_the_breaches_are_those_of_the_grades(appctx, network):
    cycle = db.session.get(Cycle, network)
    rows = _by_hand(network)
    counted = cycle_counts(db.session, cycle)
    shown = publication.preview(db.session, cycle, counted)
    assert shown == publication.preview(db.session, cycle)  # read again, without the counts
    assert shown.people == len(rows)
    assert shown.visible_now == sum(State(state) in VISIBLE_TO_SUBJECT for _, _, state, _ in rows)
    grades_by_station: dict[str, list] = {}
    for code, grade, _, _ in rows:
        grades_by_station.setdefault(code, []).append(grade)
    policy = ruleset_for_version(db.session, cycle.rule_set_version_id).policy
    expected = breaches(policy, grades_by_station)
    assert expected, "the demo policy is broken by these grades"
    assert shown.breaches == expected == breaches_for_cycle(db.session, cycle)


def test_the_page_shows_the_counts(app, login_as, network):
    html = login_as("hr").get(f"/cycles/{network}").get_data(as_text=True)
    with app.app_context():
        counted = cycle_counts(db.session, db.session.get(Cycle, network))
    cards = re.findall(r'_flt_0_state=(\w+)">\s*<div>.*?</div>\s*<div class="jx-big">(\d+)</div>', html, re.S)
    assert cards and {state: int(n) for state, n in cards} == {
        state.value: counted.states.get(state.value, 0) for state in State}
    for version in counted.versions:
        assert f'data-version="{version.label}" data-count="{version.count}"' in html
