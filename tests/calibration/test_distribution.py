"""A cycle's grade distribution against a hand count: per station, the network and each customer segment
(counts, shares, headcount without the ungraded, the spread of the totals), the people within 2 points of a
grade's minimum, and the default policy's breaches (A ≤ 20 % network-wide, and per station from 10 people)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Cycle, Station
from app.services.cycles import create_cycle
from app.services.distribution import breaches_for_cycle, cycle_distribution
from tests.calibration.conftest import move_all_to, set_results
from tests.factories import demo_period


def _distribution(cycle_id, **kwargs):
    return cycle_distribution(db.session, db.session.get(Cycle, cycle_id), locale="zh_CN", **kwargs)


def test_counts_and_shares_per_station_network_and_segment(appctx, hand):
    dist = _distribution(hand)
    assert dist.grades == ["A", "B", "C", "D"]
    assert dist.grade_labels == {"A": "优秀", "B": "良好", "C": "合格", "D": "待改进"}
    s01, s02 = dist.stations
    assert (s01.key, s01.segment, s01.counts, s01.headcount, s01.ungraded) == (
        "S01", "consumer", {"A": 2, "B": 3, "C": 1, "D": 1}, 7, 0)
    assert (s02.key, s02.segment, s02.counts, s02.headcount, s02.ungraded) == (
        "S02", "enterprise", {"A": 1, "B": 1, "C": 2, "D": 1}, 5, 1)
    assert s01.share("A") == round(2 / 7, 4) and s02.share("C") == 0.4
    assert dist.network.counts == {"A": 3, "B": 4, "C": 3, "D": 2}
    assert (dist.network.headcount, dist.network.ungraded, dist.network.appraisals) == (12, 1, 13)
    assert dist.network.share("A") == 0.25
    segments = {s.key: s for s in dist.segments}
    assert list(segments) == ["enterprise", "consumer", "mixed"]
    assert segments["consumer"].counts == s01.counts and segments["enterprise"].counts == s02.counts
    assert segments["mixed"].appraisals == 0 and segments["mixed"].share("A") is None


def test_spread_of_the_totals(appctx, hand):
    dist = _distribution(hand)
    s01, s02 = dist.stations
    # S01 sorted: 52, 60.5, 76, 80, 88.5, 91, 95 (quartiles interpolated between neighbours)
    assert s01.spread.to_dict() == {"count": 7, "min": 52.0, "q1": 68.25, "median": 80.0, "q3": 89.75,
                                    "max": 95.0, "mean": 77.57}
    # S02: EMP9 has no total; 59, 70, 74, 75, 92
    assert (s02.spread.count, s02.spread.median, s02.spread.q1, s02.spread.q3) == (5, 74.0, 70.0, 75.0)
    assert dist.network.spread.count == 12 and dist.network.spread.max == 95.0


def test_people_at_the_boundaries(appctx, hand):
    dist = _distribution(hand)
    found = [(p.employee_no, p.station_code, p.total, p.grade, p.band, p.distance) for p in dist.boundary]
    assert found == [
        ("EMP2", "S01", 91.0, "A", "A", 1.0), ("EMP3", "S01", 88.5, "B", "A", -1.5),
        ("MANAGER1", "S01", 76.0, "B", "B", 1.0), ("SUP1", "S01", 60.5, "C", "C", 0.5),
        ("EMP6", "S02", 92.0, "A", "A", 2.0), ("SUP2", "S02", 75.0, "B", "B", 0.0),
        ("EMP8", "S02", 74.0, "C", "B", -1.0), ("EMP10", "S02", 59.0, "D", "C", -1.0),
    ]
    assert dist.boundary_total == 8
    assert {p.state for p in dist.boundary} == {"draft"}
    first = _distribution(hand, boundary_limit=3)
    assert [p.employee_no for p in first.boundary] == ["EMP2", "EMP3", "MANAGER1"]
    assert first.boundary_total == 8
    s02 = db.session.query(Station.id).filter(Station.code == "S02").scalar()
    assert [p.employee_no for p in _distribution(hand, boundary_station_ids=[s02]).boundary] == [
        "EMP6", "SUP2", "EMP8", "EMP10"]


def test_network_breach_of_the_default_policy(appctx, hand):
    # A ≤ 20 %: 3 of 12 graded is 25 %, 2 allowed. Neither station has the 10 people its own limit needs.
    (breach,) = breaches_for_cycle(db.session, db.session.get(Cycle, hand))
    assert (breach.scope, breach.grade, breach.kind, breach.count, breach.headcount, breach.allowed) == (
        "network", "A", "max", 3, 12, 2)
    assert "全网" in breach.message("zh_CN") and "Network" in breach.message("en")
    dist = _distribution(hand)
    assert [(b.scope, b.grade) for b in dist.breaches] == [("network", "A")]
    assert [lim.grade for lim in dist.limits_for(dist.network)["A"]] == ["A"]
    assert dist.limits_for(dist.stations[0]) == {}  # 7 people: below the policy's minimum headcount


def test_station_breach_from_the_minimum_headcount(appctx, hand):
    move_all_to(hand, "S01")
    found = [(b.scope, b.count, b.headcount, b.allowed) for b in breaches_for_cycle(
        db.session, db.session.get(Cycle, hand))]
    assert found == [("network", 3, 12, 2), ("S01", 3, 12, 2)]
    dist = _distribution(hand)
    assert list(dist.limits_for(dist.stations[0])) == ["A"]


def test_within_the_policy_no_breach(appctx, hand):
    set_results(hand, {"EMP1": (89.0, "B")})
    assert breaches_for_cycle(db.session, db.session.get(Cycle, hand)) == []
    assert _distribution(hand).breaches == []


def test_a_station_manager_sees_their_station_and_no_network_breach(appctx, hand):
    s01 = db.session.query(Station.id).filter(Station.code == "S01").scalar()
    set_results(hand, {"EMP1": (95.0, "A"), "EMP2": (91.0, "A"), "EMP3": (90.0, "A")})
    dist = _distribution(hand, station_ids=[s01])
    assert [s.key for s in dist.stations] == ["S01"]
    assert not dist.whole_network and dist.network.counts == {"A": 3, "B": 2, "C": 1, "D": 1}
    assert dist.breaches == []  # the network's A share is the network's business, not the station's
    assert {p.station_code for p in dist.boundary} == {"S01"}
    assert dist.limits_for(dist.network) == {}
    body = dist.to_dict("en")
    assert body["whole_network"] is False and [s["key"] for s in body["stations"]] == ["S01"]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_answer_as_json(appctx, hand, locale):
    body = _distribution(hand).to_dict(locale)
    assert [g["grade"] for g in body["grades"]] == ["A", "B", "C", "D"]
    assert body["grades"][0]["min"] == 90
    assert body["policy"] == {"min_headcount": 10, "limits": [
        {"grade": "A", "min": None, "max": 0.2, "scope": "both"}]}
    assert body["network"]["shares"]["A"] == 0.25 and body["network"]["headcount"] == 12
    assert body["stations"][1]["ungraded"] == 1
    assert body["breaches"][0]["message"] == _distribution(hand).breaches[0].message(locale)
    assert body["boundary"][0] == {
        "appraisal_id": body["boundary"][0]["appraisal_id"], "employee_no": "EMP2", "name": "刘洋",
        "station": "S01", "station_name": "北京朝阳服务站", "total": 91.0, "grade": "A", "state": "draft",
        "band": "A", "band_min": 90.0, "distance": 1.0, "hash": body["boundary"][0]["hash"]}


def test_an_uncomputed_cycle_is_empty(appctx):
    start, end = demo_period()
    cycle = create_cycle(db.session, "空周期", start, end)
    dist = cycle_distribution(db.session, cycle)
    assert dist.stations == [] and dist.network.headcount == 0 and dist.network.spread.count == 0
    assert dist.boundary == [] and dist.breaches == [] and dist.grades == []
    assert breaches_for_cycle(db.session, cycle) == []
