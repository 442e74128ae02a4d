"""HR's calibration of an approved appraisal: a new version in the same state (the old one kept, not current),
rescored from its own inputs so that the grade, the outcomes and the incentive follow, one ``calibrate``
audit event saying what changed and why, all in one transaction; and every refusal (422 bad input, 403 not
HR or not approved, 404 outside the scope, 409 changed meanwhile) changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, AuditEvent
from app.services.calibration import CalibrationInvalid, calibrate
from app.services.document import document_snapshot
from app.services.errors import Conflict, NotFound
from app.services.publication import publish
from app.services.snapshot import snapshot_hash
from app.services.transitions import transition
from app.workflow import CommentRequired, TransitionRefused
from tests.factories import caller, current, events

REASON = "跨站校准：该站工单难度明显更高"


def _approved(app, moves, no="EMP1") -> Appraisal:
    moves.to_approved(no)
    appraisal = current(moves.cycle_id, no)
    assert appraisal.state.value == "approved" and appraisal.grade == "B"
    return appraisal


def _written() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Appraisal)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_a_new_grade_is_a_new_version_with_one_audit_event(appctx, moves):
    old = _approved(appctx, moves)
    old_id, old_hash, old_total, old_snapshot = old.id, old.snapshot_hash, old.total, dict(old.snapshot)
    new = calibrate(db.session, old_id, caller(appctx, "hr"), grade="A", reason=REASON)

    assert new.id != old_id and new.version == 2 and new.is_current and new.state.value == "approved"
    assert (new.grade, new.total) == ("A", old_total)
    assert new.snapshot["grade"] == "A" and new.snapshot["grade_label"] == "优秀"
    assert new.snapshot["calibration"] == {"from_total": old_total, "from_grade": "B", "total": None,
                                           "grade": "A"}
    assert snapshot_hash(new.snapshot) == new.snapshot_hash != old_hash
    db.session.expire_all()
    kept = db.session.get(Appraisal, old_id)
    assert not kept.is_current and kept.grade == "B" and kept.snapshot_hash == old_hash
    assert kept.snapshot == old_snapshot
    (event,) = events(new.id)
    assert (event.action, event.from_state, event.to_state, event.visibility) == (
        "calibrate", "approved", "approved", "internal")
    assert event.comment == f"等级 B → A：{REASON}"
    assert event.snapshot_hash == new.snapshot_hash
    assert events(old_id, "calibrate") == []


def test_a_new_total_moves_the_grade_outcomes_and_incentive(appctx, moves):
    old = _approved(appctx, moves)
    old_total = old.total
    new = calibrate(db.session, old.id, caller(appctx, "hr"), total=91, reason=REASON, visibility="shared")
    assert (new.total, new.grade) == (91.0, "A")
    assert new.snapshot["calibration"] == {"from_total": old_total, "from_grade": "B", "total": 91.0,
                                           "grade": None}
    bonus = [d for d in new.snapshot["outcome_details"] if d["action"] == "bonus"]
    assert bonus[0]["coefficient"] == 1.2  # the grade's coefficient (A 1.2) after the calibrated total
    assert "绩效奖金系数 ×1.20" in new.snapshot["outcomes"]
    incentive = new.snapshot["incentive"]
    base = new.snapshot["employee"].get("bonus_base")
    if base is None:
        assert incentive["amount"] is None
    else:
        assert incentive["amount"] == str(round(float(base) * 1.2))
    (event,) = events(new.id)
    assert event.comment == f"等级 B → A；总分 {old_total:g} → 91：{REASON}" and event.visibility == "shared"


def test_a_calibrated_grade_moves_the_bonus_coefficient_with_it(appctx, moves):
    old = _approved(appctx, moves)
    before = [d["coefficient"] for d in old.snapshot["outcome_details"] if d["action"] == "bonus"]
    new = calibrate(db.session, old.id, caller(appctx, "hr"), grade="A", reason=REASON)
    after = [d["coefficient"] for d in new.snapshot["outcome_details"] if d["action"] == "bonus"]
    assert (before, after, new.total) == ([1.0], [1.2], old.total)  # the default rule set pays by grade


def test_a_later_calibration_builds_on_the_earlier_one(appctx, moves):
    first = calibrate(db.session, _approved(appctx, moves).id, caller(appctx, "hr"), grade="A", reason="一")
    # A new total overrides, and the grade follows it again.
    second = calibrate(db.session, first.id, caller(appctx, "hr"), total=70, reason="二")
    assert (second.version, second.total, second.grade) == (3, 70.0, "C")
    assert second.snapshot["calibration"]["total"] == 70.0 and second.snapshot["calibration"]["grade"] is None
    # A new grade alone keeps the calibrated total.
    third = calibrate(db.session, second.id, caller(appctx, "hr"), grade="B", reason="三")
    assert (third.version, third.total, third.grade) == (4, 70.0, "B")
    assert third.snapshot["calibration"]["from_grade"] == "B"  # what the scoring gave, every time
    assert events(third.id)[0].comment == "等级 C → B：三"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"grade": "Z"}, "grade"),
    ({"grade": "a"}, "grade"),
    ({"total": 100.5}, "total"),
    ({"total": -1}, "total"),
    ({"total": "abc"}, "total"),
    ({"total": float("nan")}, "total"),
    ({"total": True}, "total"),
    ({}, "total"),
    ({"total": "", "grade": ""}, "total"),
    ({"grade": "B"}, "total"),  # the grade it has: nothing would change
    ({"grade": "A", "visibility": "public"}, "visibility"),
])
def test_input_that_cannot_be_used_is_refused_and_nothing_is_written(appctx, moves, kwargs, field):
    old = _approved(appctx, moves)
    before = _written()
    with pytest.raises(CalibrationInvalid) as caught:
        calibrate(db.session, old.id, caller(appctx, "hr"), reason=REASON, **kwargs)
    assert field in caught.value.errors and caught.value.kind == "invalid"
    assert _written() == before and current(moves.cycle_id, "EMP1").id == old.id


def test_a_reason_is_required(appctx, moves):
    old = _approved(appctx, moves)
    for reason in (None, "", "   "):
        with pytest.raises(CommentRequired) as caught:
            calibrate(db.session, old.id, caller(appctx, "hr"), grade="A", reason=reason)
        assert caught.value.kind == "invalid" and "校准" in caught.value.reason("zh_CN")


@pytest.mark.parametrize("who", ["manager1", "sup1"])
def test_only_hr_calibrates(appctx, moves, who):
    old = _approved(appctx, moves)
    before = _written()
    with pytest.raises(TransitionRefused) as caught:
        calibrate(db.session, old.id, caller(appctx, who), grade="A", reason=REASON)
    assert caught.value.code == "NOT_PERMITTED" and caught.value.kind == "refused"
    assert "人力资源" in caught.value.reason("zh_CN") and "HR" in caught.value.reason("en")
    assert _written() == before


def test_only_an_approved_appraisal_is_calibrated(appctx, moves):
    moves.to_pending_review("EMP5")
    with pytest.raises(TransitionRefused) as caught:
        calibrate(db.session, moves.id("EMP5"), caller(appctx, "hr"), grade="A", reason=REASON)
    assert caught.value.code == "NOT_IN_STATE"


@pytest.mark.parametrize("who", ["emp3", "sup2"])
def test_outside_the_scope_it_does_not_exist(appctx, moves, who):
    old = _approved(appctx, moves)
    with pytest.raises(NotFound):
        calibrate(db.session, old.id, caller(appctx, who), grade="A", reason=REASON)
    with pytest.raises(NotFound):
        calibrate(db.session, 10**9, caller(appctx, "hr"), grade="A", reason=REASON)


def test_a_changed_or_superseded_version_is_a_conflict(appctx, moves):
    old = _approved(appctx, moves)
    with pytest.raises(Conflict):
        calibrate(db.session, old.id, caller(appctx, "hr"), grade="A", reason=REASON, expected_hash="0" * 64)
    new = calibrate(db.session, old.id, caller(appctx, "hr"), grade="A", reason=REASON,
                    expected_hash=old.snapshot_hash)
    before = _written()
    with pytest.raises(Conflict):
        calibrate(db.session, old.id, caller(appctx, "hr"), grade="C", reason=REASON)
    assert _written() == before and current(moves.cycle_id, "EMP1").id == new.id


def test_the_calibrated_version_goes_on_like_any_approved_one(appctx, moves):
    new = calibrate(db.session, _approved(appctx, moves).id, caller(appctx, "hr"), total=91, reason=REASON)
    publish(db.session, moves.cycle_id, caller(appctx, "hr"))  # the employee sees it from publication on
    assert transition(db.session, new.id, caller(appctx, "emp1"), "sign", "") == "signed"
    db.session.expire_all()
    assert db.session.get(Appraisal, new.id).grade == "A"


def test_the_calibrated_version_keeps_the_approvals_in_its_trail(appctx, moves):
    old = _approved(appctx, moves)
    new = calibrate(db.session, old.id, caller(appctx, "hr"), grade="A", reason=REASON)

    shared = document_snapshot(db.session, new)
    actions = [row["action"] for row in shared["trail"]]
    assert actions.index("批准") < actions.index("校准")  # the approval of v1 leads to v2's calibration
    assert REASON not in {row["comment"] for row in shared["trail"]}  # internal: not for the employee
    internal = document_snapshot(db.session, new, internal=True)
    assert REASON in internal["trail"][-1]["comment"]
