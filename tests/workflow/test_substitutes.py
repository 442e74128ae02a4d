"""Substitutes (代理): somebody standing in for a principal takes the principal's steps in their own name,
and the rules hold as for anybody: never on their own appraisal, never two approval steps of one appraisal
(counting whom they acted for), never for the principal on the principal's own appraisal."""

from __future__ import annotations

import pytest

from app.workflow import (
    Actor,
    Facts,
    Party,
    Principal,
    Step,
    TransitionRefused,
    allowed_actions,
    decide,
    decide_as,
    round_approvals,
    waiting_for,
)
from tests.workflow.test_workflow import TABLE

SUBJECT, SUP1, SUP2, MANAGER = 10, 20, 21, 30
# needs a second review
HIGH = {"total": 96.0, "subtotal": 90.0, "adjustment": 6.0, "grade": "A", "version": 1}
LOW = {"total": 80.0, "subtotal": 80.0, "adjustment": 0.0, "grade": "B", "version": 1}

SUP1_PRINCIPAL = Principal(2, SUP1, frozenset({"Supervisor"}), "主管一")
MANAGER_PRINCIPAL = Principal(3, MANAGER, frozenset({"StationManager", "Supervisor"}), "站长")
HR_PRINCIPAL = Principal(4, None, frozenset({"HR"}), "人力")
SUP1_ACTOR = SUP1_PRINCIPAL.as_actor()
MANAGER_ACTOR = MANAGER_PRINCIPAL.as_actor()
# sup2 supervises nobody of these; today they stand in for sup1
SUP2_FOR_SUP1 = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(SUP1_PRINCIPAL,))
SUP2_ALONE = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二")


def facts(state: str, values=LOW, history=(), employee=SUBJECT, supervisor=SUP1, manager=MANAGER) -> Facts:
    return Facts(state, employee, supervisor, manager, values, approvals=round_approvals(history))


def test_a_substitute_takes_the_principals_step_for_them():
    row, principal = decide_as(TABLE, facts("pending_review"), SUP2_FOR_SUP1, "approve")
    assert (row.target, principal) == ("approved", SUP1_PRINCIPAL)
    assert [t.action for t in allowed_actions(TABLE, facts("pending_review"), SUP2_FOR_SUP1)] == [
        "approve", "return"]
    # the principal themself acts in their own right, for nobody
    assert decide_as(TABLE, facts("pending_review"), SUP1_ACTOR, "approve")[1] is None


def test_without_a_substitution_today_nothing_is_allowed():
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, facts("pending_review"), SUP2_ALONE, "approve")
    assert refused.value.code == "NOT_PERMITTED"
    assert allowed_actions(TABLE, facts("pending_review"), SUP2_ALONE) == []


def test_in_their_own_right_first():
    # sup2 supervises this employee and also stands in for the station manager: their own right wins
    own = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(MANAGER_PRINCIPAL,))
    row, principal = decide_as(TABLE, facts("pending_review", supervisor=SUP2), own, "approve")
    assert (row.target, principal) == ("approved", None)


def test_a_substitute_never_approves_their_own_appraisal():
    # sup2's own appraisal, supervised by sup1 for whom sup2 stands in
    own = facts("pending_review", employee=SUP2, supervisor=SUP1)
    for action in ("approve", "return"):
        with pytest.raises(TransitionRefused) as refused:
            decide(TABLE, own, SUP2_FOR_SUP1, action, "同意")
        assert refused.value.code == "SELF_APPROVAL"
    assert allowed_actions(TABLE, own, SUP2_FOR_SUP1) == []
    # nor through HR, whom they might stand in for
    for_hr = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(HR_PRINCIPAL,))
    for state, action in (("draft", "submit"), ("pending_second_review", "approve")):
        with pytest.raises(TransitionRefused) as refused:
            decide(TABLE, facts(state, HIGH, employee=SUP2), for_hr, action)
        assert refused.value.code == "SELF_APPROVAL"


def test_the_principals_own_appraisal_is_excluded():
    # sup1's own appraisal, supervised by the manager; sup2 stands in for both sup1 and the manager
    both = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(SUP1_PRINCIPAL, MANAGER_PRINCIPAL))
    sup1_own = facts("pending_review", employee=SUP1, supervisor=MANAGER)
    row, principal = decide_as(TABLE, sup1_own, both, "approve")
    assert principal == MANAGER_PRINCIPAL  # for the manager, never for sup1 on sup1's own
    # standing in for sup1 alone gives nothing on sup1's own appraisal, even as HR
    sup1_hr = Principal(2, SUP1, frozenset({"Supervisor", "HR"}), "主管一")
    only = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(sup1_hr,))
    assert allowed_actions(TABLE, facts("draft", employee=SUP1), only) == []
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, facts("draft", employee=SUP1), only, "submit")
    assert refused.value.code == "NOT_PERMITTED"


def step(source, target, actor: Actor, principal: Principal | None = None) -> Step:
    return Step(source, target, actor.user_id, actor.employee_id,
                principal.user_id if principal else None, principal.employee_id if principal else None)


SUBMITTED = Step("draft", "pending_review", 4, None)


def test_a_substitute_never_takes_two_steps_first_for_the_principal():
    # sup2 took L1 for sup1; standing in for the manager too, sup2 may not take L2
    both = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(SUP1_PRINCIPAL, MANAGER_PRINCIPAL))
    history = (SUBMITTED, step("pending_review", "pending_second_review", both, SUP1_PRINCIPAL))
    second = facts("pending_second_review", HIGH, history)
    for action in ("approve", "return"):
        with pytest.raises(TransitionRefused) as refused:
            decide(TABLE, second, both, action, "好")
        assert refused.value.code == "SEPARATION_OF_DUTIES"
    # sup1, for whom the first step was taken, may not take the second in their own right either
    sup1_hr = Actor(2, frozenset({"Supervisor", "HR"}), SUP1, "主管一")
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, second, sup1_hr, "approve")
    assert refused.value.code == "SEPARATION_OF_DUTIES"
    # the manager, who took nothing, may
    assert decide(TABLE, second, MANAGER_ACTOR, "approve") == "approved"
    assert waiting_for(TABLE, second) == (Party("station_manager", MANAGER), Party("hr"))


def test_a_substitute_never_takes_two_steps_first_in_their_own_right():
    # sup2 supervises the employee and took L1 themself; standing in for the manager they may not take L2
    for_manager = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(MANAGER_PRINCIPAL,))
    history = (SUBMITTED, step("pending_review", "pending_second_review", for_manager))
    second = facts("pending_second_review", HIGH, history, supervisor=SUP2)
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, second, for_manager, "approve")
    assert refused.value.code == "SEPARATION_OF_DUTIES"
    assert allowed_actions(TABLE, second, for_manager) == []


def test_nobody_steps_twice_through_a_substitute():
    # the manager took L1 (as the employee's supervisor); sup2 standing in for the manager may not take L2
    history = (SUBMITTED, step("pending_review", "pending_second_review", MANAGER_ACTOR))
    second = facts("pending_second_review", HIGH, history, supervisor=MANAGER)
    for_manager = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二", acting_for=(MANAGER_PRINCIPAL,))
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, second, for_manager, "approve")
    assert refused.value.code == "SEPARATION_OF_DUTIES"
    # standing in for HR as well, sup2 takes it for HR: neither sup2 nor HR stepped before
    for_both = Actor(9, frozenset({"Supervisor"}), SUP2, "主管二",
                     acting_for=(MANAGER_PRINCIPAL, HR_PRINCIPAL))
    assert decide_as(TABLE, second, for_both, "approve")[1] == HR_PRINCIPAL


def test_a_new_round_forgets_whom_they_acted_for():
    history = (SUBMITTED, step("pending_review", "pending_second_review", SUP2_FOR_SUP1, SUP1_PRINCIPAL),
               Step("pending_second_review", "pending_review", 4, None))
    assert decide_as(TABLE, facts("pending_review", HIGH, history), SUP2_FOR_SUP1, "approve")[1] == (
        SUP1_PRINCIPAL)


def test_roles_are_the_principals():
    # somebody with no role of their own acts only through the principal's
    clerk = Actor(11, frozenset({"Employee"}), 50, "文员", acting_for=(SUP1_PRINCIPAL,))
    assert decide(TABLE, facts("pending_review"), clerk, "approve") == "approved"
    # and only where the principal stands: not for another supervisor's report
    with pytest.raises(TransitionRefused):
        decide(TABLE, facts("pending_review", supervisor=SUP2), clerk, "approve")

