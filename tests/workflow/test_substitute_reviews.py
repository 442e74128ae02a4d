"""A substitute (代理) edits the reviews of the person they stand in for, as that person could, in their
own name and recorded for them; never their own appraisal, never after the substitution has ended. The
screens offer what the services allow, and the REST paths refuse the same, changing nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from app import clock as app_clock
from app.extensions import db
from app.models import Appraisal, AuditEvent, Employee, Substitute
from app.services import substitutes
from app.services.audit import REVIEW
from app.services.errors import NotFound
from app.services.review import review
from app.services.transitions import transition
from app.workflow import Actor, Facts, TransitionRefused, check_review
from tests.factories import appraisal_ids, caller, demo_cycle
from tests.workflow.test_substitutes import (
    HR_PRINCIPAL,
    MANAGER,
    MANAGER_PRINCIPAL,
    SUBJECT,
    SUP1,
    SUP1_ACTOR,
    SUP1_PRINCIPAL,
    SUP2,
    SUP2_ALONE,
    SUP2_FOR_SUP1,
)
from tests.workflow.test_workflow import TABLE


def facts(employee=SUBJECT, supervisor=SUP1, state="pending_review") -> Facts:
    return Facts(state, employee, supervisor, MANAGER, {"total": 80.0})


# -- the rule ------------------------------------------------------------------------------------------------

def test_a_substitute_edits_the_review_for_the_principal():
    assert check_review(TABLE, facts(), SUP2_FOR_SUP1) == SUP1_PRINCIPAL
    assert check_review(TABLE, facts(), SUP1_ACTOR) is None  # the principal in their own right


def test_without_a_substitution_today_the_review_is_not_theirs():
    with pytest.raises(TransitionRefused) as refused:
        check_review(TABLE, facts(), SUP2_ALONE)
    assert refused.value.code == "NOT_PERMITTED"
    assert refused.value.reason("zh_CN").startswith("只有") and refused.value.reason("en").startswith("Only")


def test_a_substitute_never_edits_their_own_review():
    # sup2's own appraisal, supervised by sup1 for whom sup2 stands in; nor through HR
    for_hr = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(HR_PRINCIPAL,))
    for actor in (SUP2_FOR_SUP1, for_hr):
        with pytest.raises(TransitionRefused) as refused:
            check_review(TABLE, facts(employee=SUP2), actor)
        assert refused.value.code == "SELF_APPROVAL"


def test_nor_the_principals_own():
    # sup1's own appraisal, supervised by the manager: standing in for sup1 gives nothing there
    with pytest.raises(TransitionRefused):
        check_review(TABLE, facts(employee=SUP1, supervisor=MANAGER), SUP2_FOR_SUP1)
    both = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(SUP1_PRINCIPAL, MANAGER_PRINCIPAL))
    assert check_review(TABLE, facts(employee=SUP1, supervisor=MANAGER), both) == MANAGER_PRINCIPAL


def test_only_where_the_review_is_open():
    with pytest.raises(TransitionRefused) as refused:
        check_review(TABLE, facts(state="approved"), SUP2_FOR_SUP1)
    assert refused.value.code == "NOT_IN_STATE"


# -- through the services, the screens and the REST paths ----------------------------------------------------
# The demo cycle: EMP4 awaits sup1's review (sup1 supervises EMP1–EMP5); SUP1 awaits manager1's.

@pytest.fixture
def standing_in(app, clock):
    """sup2 stands in for sup1 today and tomorrow only (the demo's own substitution replaced)."""
    with app.app_context():
        db.session.execute(delete(Substitute))
        today = app_clock.local_today()
        sm = app.appbuilder.sm
        db.session.add(Substitute(principal_id=sm.find_user(username="sup1").id,
                                  substitute_id=sm.find_user(username="sup2").id, starts_on=today,
                                  ends_on=today + dt.timedelta(days=1), reason="休假", created_by="hr",
                                  created_at=app_clock.now()))
        db.session.commit()
        ids = appraisal_ids(demo_cycle().id)
        db.session.remove()
    return ids


def _stored(appraisal_id: int) -> tuple:
    db.session.expire_all()
    row = db.session.get(Appraisal, appraisal_id)
    reviews = db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.appraisal_id == appraisal_id, AuditEvent.action == REVIEW))
    return row.adjustment, row.total, row.snapshot_hash, row.state, reviews


def _name(employee_no: str) -> str:
    return db.session.scalar(select(Employee.name).where(Employee.employee_no == employee_no))


def test_a_substitute_edits_a_review_and_the_trail_names_both(app, standing_in, login_as):
    emp4 = standing_in["EMP4"]
    with app.app_context():
        before = _stored(emp4)
        edited = review(db.session, emp4, caller(app, "sup2"), adjustment=2, reason="代为审核：加班多")
        assert edited.adjustment == 2 and edited.snapshot_hash != before[2]
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.appraisal_id == emp4,
                                                               AuditEvent.action == REVIEW)).all()
        sm = app.appbuilder.sm
        sup1, sup2 = sm.find_user(username="sup1"), sm.find_user(username="sup2")
        assert (event.user_id, event.on_behalf_of_user_id) == (sup2.id, sup1.id)
        assert (event.who, event.on_behalf_of) == (_name("SUP2"), _name("SUP1"))
        sup1_name, sup2_name = _name("SUP1"), _name("SUP2")
    # the appraisal page offers the substitute the review form, and its trail shows "X（代 Y）"
    page = login_as("sup2").get(f"/appraisal/show/{emp4}").get_data(as_text=True)
    assert f"/appraisal/review/{emp4}" in page
    assert f"{sup2_name}（代 {sup1_name}）" in page
    assert f'jx-acting-for">代 {sup1_name}</span>' in page  # the form says whom the edit is for
    own = login_as("sup1").get(f"/appraisal/show/{emp4}").get_data(as_text=True)
    assert f"/appraisal/review/{emp4}" in own and "jx-acting-for" not in own  # in their own right


def test_the_rest_path_lets_the_substitute_edit(app, standing_in, api_as):
    emp4 = standing_in["EMP4"]
    r = api_as("sup2").post(f"/api/v1/appraisal/{emp4}/review", json={"adjustment": -1, "reason": "代审"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json["adjustment"] == -1


def test_a_substitute_cannot_act_on_their_own_appraisal(app, clock):
    # sup1 stands in for manager1, who reviews SUP1's appraisal: still not sup1's to review or approve
    with app.app_context():
        db.session.execute(delete(Substitute))
        today = app_clock.local_today()
        sm = app.appbuilder.sm
        db.session.add(Substitute(principal_id=sm.find_user(username="manager1").id,
                                  substitute_id=sm.find_user(username="sup1").id, starts_on=today,
                                  ends_on=today, created_by="hr", created_at=app_clock.now()))
        db.session.commit()
        own = appraisal_ids(demo_cycle().id)["SUP1"]
        before = _stored(own)
        sup1 = caller(app, "sup1")
        assert [p.name for p in sup1.actor.acting_for] == [_name("MANAGER1")]
        # their own unpublished appraisal stays out of their sight, standing in or not (the rule itself:
        # SELF_APPROVAL, tested above, for wherever they might see it)
        with pytest.raises(NotFound):
            review(db.session, own, sup1, adjustment=5, reason="自评")
        with pytest.raises(NotFound):
            transition(db.session, own, sup1, "approve", "同意")
        assert _stored(own) == before


def test_a_rest_review_by_somebody_else_is_refused_and_changes_nothing(app, standing_in, api_as, clock):
    emp4 = standing_in["EMP4"]
    with app.app_context():
        before = _stored(emp4)
    # manager1 sees EMP4 (their station) but does not review it, and stands in for nobody: 403, with why
    r = api_as("manager1").post(f"/api/v1/appraisal/{emp4}/review", json={"adjustment": 3, "reason": "越权"})
    assert r.status_code == 403 and r.json["message"]
    # after the substitution's last day sup2 no longer sees it: 404
    clock.move(days=2)
    r = api_as("sup2").post(f"/api/v1/appraisal/{emp4}/review", json={"adjustment": 3, "reason": "过期"})
    assert r.status_code == 404
    r = api_as("sup2").post(f"/api/v1/appraisal/{emp4}/transition",
                            json={"action": "approve", "comment": "好"})
    assert r.status_code == 404
    with app.app_context():
        assert _stored(emp4) == before


def test_a_revoked_substitution_ends_the_rights_at_once(app, standing_in, api_as):
    emp4 = standing_in["EMP4"]
    with app.app_context():
        (item,) = substitutes.list_for(db.session, caller(app, "hr"))
        substitutes.revoke(db.session, caller(app, "hr"), item.id)
        before = _stored(emp4)
        assert caller(app, "sup2").actor.acting_for == ()
    r = api_as("sup2").post(f"/api/v1/appraisal/{emp4}/review", json={"adjustment": 1, "reason": "已撤销"})
    assert r.status_code == 404
    with app.app_context():
        assert _stored(emp4) == before
