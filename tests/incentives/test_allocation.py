"""Incentive amounts through compute, publication and later rescoring: the snapshot carries the bonus base
and the amounts as Decimal strings; publication shares a station's pool out exactly (whole yuan, caps,
remainders) and rewrites those snapshots and hashes; afterwards a review edit or an amendment keeps to
the frozen factor and never takes the station past its pool; a review edit keeps the bonus base and
HR's calibration."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal, Cycle
from app.rules.pools import allocate, money_text
from app.services.compute import compute_cycle
from app.services.incentives import allocate_cycle, settle
from app.services.review import review
from app.services.rules import ruleset_for_version
from app.services.scoring import Appraisee, Scorer
from app.services.snapshot import snapshot_hash
from app.services.transitions import amend_appraisal, transition
from tests.factories import caller
from tests.incentives.conftest import (
    POOL,
    amount,
    pooled_cycle,
    publish,
    set_bonus_base,
    station_appraisals,
)

BONUS = {"EMP1": "2500.00", "EMP2": "2200.00", "EMP3": "1800.00", "EMP4": "2000.00", "EMP5": "1500.00"}


def _coefficient(snapshot) -> Decimal:
    for detail in snapshot["outcome_details"]:
        if detail["action"] == "bonus" and detail["coefficient"] is not None:
            return Decimal(repr(detail["coefficient"]))
    return Decimal(0)


def test_compute_writes_the_bonus_base_and_the_amounts_as_decimal_strings(app, pooled):
    with app.app_context():
        seen = 0
        for a in station_appraisals(pooled):
            s = a.snapshot
            no = s["employee"]["no"]
            if no not in BONUS:
                continue
            seen += 1
            assert s["employee"]["bonus_base"] == BONUS[no]
            incentive = s["incentive"]
            assert incentive["formula"] == "bonus_base * coefficient"
            raw = Decimal(BONUS[no]) * _coefficient(s)
            assert incentive["raw"] == str(raw.quantize(Decimal("0.01")))
            assert isinstance(incentive["amount"], str)
            assert Decimal(incentive["amount"]) == min(raw.quantize(Decimal(1), ROUND_HALF_UP),
                                                       Decimal(10000))
            assert incentive["pool"] == {"station": "S01", "size": "10000", "allocated": False,
                                         "factor": None}
            assert s["calibration"] is None
            assert a.snapshot_hash == snapshot_hash(s)
        assert seen == len(BONUS)


def test_without_a_bonus_base_there_is_no_amount_and_a_note_says_why(app, tmp_path):
    with app.app_context():
        set_bonus_base("EMP4", None)
        db.session.remove()
    cycle_id = pooled_cycle(app, tmp_path)
    with app.app_context():
        (emp4,) = [a for a in station_appraisals(cycle_id) if a.snapshot["employee"]["no"] == "EMP4"]
        s = emp4.snapshot
        assert s["employee"]["bonus_base"] is None
        assert (s["incentive"]["raw"], s["incentive"]["amount"]) == (None, None)
        assert s["incentive"]["note"]
        # publication shares the pool over the others; EMP4 stays without an amount
        publish(cycle_id)
        rows = station_appraisals(cycle_id)
        assert amount(next(a for a in rows if a.snapshot["employee"]["no"] == "EMP4")) is None
        assert sum(amount(a) or 0 for a in rows) == POOL


def test_publication_shares_the_pool_out_exactly_and_rewrites_the_snapshots(app, pooled):
    with app.app_context():
        before = {a.id: Decimal(a.snapshot["incentive"]["raw"] or 0) for a in station_appraisals(pooled)}
        others = {a.id: a.snapshot_hash for a in db.session.scalars(
            select(Appraisal).where(Appraisal.cycle_id == pooled)) if a.id not in before}
        result = publish(pooled)
        rows = station_appraisals(pooled)
        amounts = {a.id: amount(a) for a in rows}
        assert sum(amounts.values()) == POOL
        raw_sum = sum(before.values())
        for a in rows:
            exact = before[a.id] * POOL / raw_sum
            assert abs(amounts[a.id] - exact) < 1  # whole yuan, off by less than one from the exact share
            assert amounts[a.id] == amounts[a.id].to_integral_value()
            pool = a.snapshot["incentive"]["pool"]
            assert pool["allocated"] is True and pool["size"] == "10000"
            assert Decimal(pool["factor"]) == (POOL / raw_sum).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            assert a.snapshot_hash == snapshot_hash(a.snapshot) == result["changed"][a.id]
        assert set(result["changed"]) == set(before)
        assert result["pools"] == {"S01": {"size": "10000", "raw_sum": money_text(raw_sum),
                                           "allocated": "10000", "factor": pool["factor"]}}
        # appraisals of stations without a pool keep their snapshots
        assert {a.id: a.snapshot_hash for a in db.session.scalars(
            select(Appraisal).where(Appraisal.cycle_id == pooled)) if a.id in others} == others


def test_the_pool_matches_the_pure_arithmetic_with_remainders(app, tmp_path):
    cycle_id = pooled_cycle(app, tmp_path, pool=Decimal("9999"))
    with app.app_context():
        claims = [(a.id, Decimal(a.snapshot["incentive"]["raw"]), None) for a in station_appraisals(cycle_id)]
        publish(cycle_id)
        rows = station_appraisals(cycle_id)
        assert {a.id: amount(a) for a in rows} == allocate(claims, Decimal("9999"), Decimal("10000"))
        assert sum(amount(a) for a in rows) == Decimal("9999")


def test_caps_spread_the_excess_and_the_pool_is_never_exceeded(app, tmp_path):
    cycle_id = pooled_cycle(app, tmp_path, pool=Decimal("20000"), cap="2600")
    with app.app_context():
        takers = [a for a in station_appraisals(cycle_id) if Decimal(a.snapshot["incentive"]["raw"] or 0) > 0]
        publish(cycle_id)
        rows = station_appraisals(cycle_id)
        assert all(amount(a) <= Decimal("2600") for a in rows)
        total = sum(amount(a) for a in rows)
        assert total == min(Decimal("20000"), Decimal("2600") * len(takers))
        capped = [a for a in rows if a.snapshot["incentive"]["capped"]]
        assert capped and all(amount(a) == Decimal("2600") for a in capped)


def test_publication_without_pools_changes_nothing(app):
    with app.app_context():
        cycle = db.session.scalar(select(Cycle).order_by(Cycle.id))
        hashes = dict(db.session.execute(select(Appraisal.id, Appraisal.snapshot_hash)
                                         .where(Appraisal.cycle_id == cycle.id)).all())
        assert allocate_cycle(db.session, cycle) == {"changed": {}, "pools": {}}
        db.session.commit()
        assert dict(db.session.execute(select(Appraisal.id, Appraisal.snapshot_hash)
                                       .where(Appraisal.cycle_id == cycle.id)).all()) == hashes


def _emp(cycle_id, no):
    return next(a for a in station_appraisals(cycle_id) if a.snapshot["employee"]["no"] == no)


def test_settle_is_a_no_op_before_publication(app, pooled):
    with app.app_context():
        a = _emp(pooled, "EMP1")
        snapshot = json.loads(json.dumps(a.snapshot))
        assert settle(db.session, a.cycle, a.id, snapshot) is snapshot


def test_a_review_edit_after_publication_keeps_to_the_frozen_factor_within_the_pool(app, pooled):
    with app.app_context():
        hr, sup1 = caller(app, "hr"), caller(app, "sup1")
        emp1 = _emp(pooled, "EMP1")
        transition(db.session, emp1.id, hr, "submit", "")
        publish(pooled)
        emp1 = _emp(pooled, "EMP1")
        factor = Decimal(emp1.snapshot["incentive"]["pool"]["factor"])
        review(db.session, emp1.id, sup1, adjustment=10, reason="技能比武第一名")
        rows = station_appraisals(pooled)
        emp1 = next(a for a in rows if a.id == emp1.id)
        incentive = emp1.snapshot["incentive"]
        raw = Decimal(incentive["raw"])
        others = sum(amount(a) for a in rows if a.id != emp1.id)
        expected = min((raw * factor).quantize(Decimal(1), ROUND_HALF_UP), POOL - others)
        assert amount(emp1) == expected
        assert incentive["pool"]["allocated"] is True and incentive["pool"]["factor"] == format(factor, "f")
        assert sum(amount(a) for a in rows) <= POOL
        assert emp1.snapshot_hash == snapshot_hash(emp1.snapshot)


def test_a_rescored_amount_never_takes_the_station_past_its_pool(app, pooled):
    with app.app_context():
        hr, sup1 = caller(app, "hr"), caller(app, "sup1")
        emp1 = _emp(pooled, "EMP1")
        transition(db.session, emp1.id, hr, "submit", "")
        publish(pooled)
        # the snapshot's bonus base is what counts: a huge one, as if it had been there
        emp1 = _emp(pooled, "EMP1")
        snapshot = json.loads(json.dumps(emp1.snapshot))
        snapshot["employee"]["bonus_base"] = "90000.00"
        db.session.execute(Appraisal.__table__.update().where(Appraisal.id == emp1.id)
                           .values(snapshot=snapshot, snapshot_hash=snapshot_hash(snapshot)))
        db.session.commit()
        review(db.session, emp1.id, sup1, adjustment=1, reason="复核")
        rows = station_appraisals(pooled)
        assert sum(amount(a) for a in rows) == POOL
        emp1 = next(a for a in rows if a.id == emp1.id)
        assert Decimal(emp1.snapshot["incentive"]["raw"]) > POOL
        assert amount(emp1) == POOL - sum(amount(a) for a in rows if a.id != emp1.id)


def test_an_amendment_after_publication_is_settled_too(app, pooled):
    with app.app_context():
        hr, sup1 = caller(app, "hr"), caller(app, "sup1")
        emp1 = _emp(pooled, "EMP1")
        transition(db.session, emp1.id, hr, "submit", "")
        assert transition(db.session, emp1.id, sup1, "approve", "好") == "approved"
        publish(pooled)
        set_bonus_base("EMP1", "60000")  # today's bonus base: the amendment rescores from today's data
        new = amend_appraisal(db.session, emp1.id, hr, "奖金基数调整")
        rows = station_appraisals(pooled)
        assert new.id in {a.id for a in rows}
        fresh = next(a for a in rows if a.id == new.id)
        assert fresh.snapshot["employee"]["bonus_base"] == "60000.00"
        assert fresh.snapshot["incentive"]["pool"]["allocated"] is True
        assert sum(amount(a) for a in rows) <= POOL
        assert amount(fresh) == POOL - sum(amount(a) for a in rows if a.id != fresh.id)
        assert fresh.snapshot_hash == snapshot_hash(fresh.snapshot)


def test_a_review_edit_keeps_the_bonus_base_and_the_calibration(app, pooled):
    with app.app_context():
        hr, sup1 = caller(app, "hr"), caller(app, "sup1")
        emp3 = _emp(pooled, "EMP3")
        transition(db.session, emp3.id, hr, "submit", "")
        emp3 = db.session.get(Appraisal, emp3.id)
        # HR's calibration, as the calibration service stores it: rescored with an override
        old = emp3.snapshot
        ruleset_scorer = Scorer.for_snapshot(old, ruleset_for_version(db.session, emp3.rule_set_version_id))
        appraisee = Appraisee.from_snapshot(old)
        result = ruleset_scorer.appraise(appraisee, old["inputs"]["variables"], old["inputs"]["tags"],
                                         emp3.manual or {}, emp3.adjustment, {"total": 95.0, "grade": None})
        calibrated = ruleset_scorer.snapshot(appraisee, result, old["inputs"]["variables"],
                                             old["inputs"]["tags"], None)
        assert calibrated["calibration"]["total"] == 95.0 and calibrated["grade"] == "A"
        db.session.execute(Appraisal.__table__.update().where(Appraisal.id == emp3.id).values(
            snapshot=calibrated, snapshot_hash=snapshot_hash(calibrated), total=calibrated["total"],
            grade=calibrated["grade"]))
        db.session.commit()
        # the employee's bonus base changes meanwhile: the appraisal keeps the one it was scored with
        set_bonus_base("EMP3", "9999")
        review(db.session, emp3.id, sup1, adjustment=-3, reason="迟到")
        emp3 = db.session.get(Appraisal, emp3.id)
        s = emp3.snapshot
        assert s["adjustment"] == -3.0
        assert s["employee"]["bonus_base"] == BONUS["EMP3"]
        assert s["calibration"]["total"] == 95.0 and (s["total"], s["grade"]) == (95.0, "A")
        assert Decimal(s["incentive"]["raw"]) == Decimal(BONUS["EMP3"]) * _coefficient(s)
        assert _coefficient(s) == Decimal("1.2")  # the calibrated grade's coefficient


def test_a_recompute_after_publication_keeps_the_shared_out_amounts(app, pooled):
    with app.app_context():
        publish(pooled)
        before = {a.id: (a.snapshot_hash, amount(a)) for a in station_appraisals(pooled)}
        again = compute_cycle(db.session, db.session.get(Cycle, pooled))
        assert again.changed == [] and again.created == 0
        assert {a.id: (a.snapshot_hash, amount(a)) for a in station_appraisals(pooled)} == before
        emp1_id = next(a.id for a in station_appraisals(pooled) if a.snapshot["employee"]["no"] == "EMP1")
        # a smaller bonus base: that one amount shrinks at the frozen factor, the others stay
        set_bonus_base("EMP1", "100")
        again = compute_cycle(db.session, db.session.get(Cycle, pooled))
        assert [c.employee_no for c in again.changed] == ["EMP1"]
        rows = {a.id: a for a in station_appraisals(pooled)}
        factor = Decimal(rows[emp1_id].snapshot["incentive"]["pool"]["factor"])
        assert amount(rows[emp1_id]) == (Decimal(100) * factor).quantize(Decimal(1), ROUND_HALF_UP)
        assert all(amount(a) == before[i][1] for i, a in rows.items() if i != emp1_id)
        # a bigger one: it grows only into what the others leave of the pool
        set_bonus_base("EMP1", "8000")
        compute_cycle(db.session, db.session.get(Cycle, pooled))
        rows = {a.id: a for a in station_appraisals(pooled)}
        assert amount(rows[emp1_id]) == before[emp1_id][1]
        assert sum(amount(a) for a in rows.values()) == POOL
        assert rows[emp1_id].snapshot["incentive"]["pool"]["allocated"] is True
        assert rows[emp1_id].snapshot_hash == snapshot_hash(rows[emp1_id].snapshot)


def test_the_publish_api_shares_the_pool_out_and_keeps_its_terms(app, pooled, api_as):
    answer = api_as("hr").post(f"/api/v1/cycle/{pooled}/publish", json={"override_reason": "试点：奖金池"})
    assert answer.status_code == 200, answer.json
    with app.app_context():
        cycle = db.session.get(Cycle, pooled)
        rows = station_appraisals(pooled)
        assert sum(amount(a) for a in rows) == POOL
        assert cycle.publication["pools"]["S01"]["allocated"] == "10000"
        factor = cycle.publication["pools"]["S01"]["factor"]
        assert all(a.snapshot["incentive"]["pool"] == {"station": "S01", "size": "10000", "allocated": True,
                                                       "factor": factor} for a in rows)
        assert all(a.snapshot_hash == snapshot_hash(a.snapshot) for a in rows)
