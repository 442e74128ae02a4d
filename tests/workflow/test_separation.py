"""Rules no workflow table changes: nobody takes two approval steps of one appraisal, an employee without a
supervisor is never stuck, comments and review edits are bounded."""

from __future__ import annotations

import copy

import pytest

from app.workflow import (
    MAX_COMMENT,
    Actor,
    CommentRequired,
    CommentTooLong,
    EditLimitReached,
    Facts,
    Party,
    Step,
    TransitionRefused,
    acting_states,
    allowed_actions,
    check_amend,
    check_review,
    decide,
    load_table,
    round_approvals,
    waiting_for,
)
from tests.workflow.test_workflow import DATA, ROLES, TABLE

SUBJECT, BOSS, OTHER_MANAGER = 10, 30, 40
# The demo's manager1: supervises the appraised employee and manages their station.
BOSS_ACTOR = Actor(3, frozenset({"StationManager", "Supervisor"}), BOSS, "站长兼主管")
HR_ACTOR = Actor(4, frozenset({"HR"}), None, "人力")
SECOND_HR = Actor(5, frozenset({"HR"}), None, "另一位人力")
SUBJECT_ACTOR = Actor(1, frozenset({"Supervisor"}), SUBJECT, "被考核的主管")
MANAGER = Actor(7, frozenset({"StationManager"}), OTHER_MANAGER, "站长")
SUPERVISOR_ONLY = Actor(8, frozenset({"Supervisor"}), 99, "主管")
# needs a second review
HIGH = {"total": 96.0, "subtotal": 90.0, "adjustment": 6.0, "grade": "A", "version": 1}


def steps(*moves: tuple[str | None, str, Actor | None]) -> tuple[Step, ...]:
    return tuple(Step(source, target, a.user_id if a else None, a.employee_id if a else None)
                 for source, target, a in moves)


def boss_facts(state: str, history=()) -> Facts:
    return Facts(state, SUBJECT, BOSS, BOSS, HIGH, approvals=round_approvals(history))


FIRST = steps((None, "draft", None), ("draft", "pending_review", HR_ACTOR),
              ("pending_review", "pending_second_review", BOSS_ACTOR))


def test_the_first_approver_never_takes_the_second_step():
    assert decide(TABLE, boss_facts("pending_review"), BOSS_ACTOR, "approve") == "pending_second_review"
    facts = boss_facts("pending_second_review", FIRST)
    for action in ("approve", "return"):
        with pytest.raises(TransitionRefused) as refused:
            decide(TABLE, facts, BOSS_ACTOR, action, "同意")
        assert refused.value.code == "SEPARATION_OF_DUTIES"
        assert "两级" in refused.value.reason("zh_CN") and "two approval steps" in refused.value.reason("en")
    assert allowed_actions(TABLE, facts, BOSS_ACTOR) == []
    assert decide(TABLE, facts, HR_ACTOR, "approve") == "approved"
    assert waiting_for(TABLE, facts) == (Party("hr"),)


def test_the_rule_holds_whatever_the_table_says():
    data = copy.deepcopy(DATA)
    for row in data["transitions"]:
        if row["from"] == "pending_second_review":
            row["who"] = [{"role": "Supervisor", "relation": "supervisor"}, *row["who"]]
    data["review"]["states"] = ["pending_review", "pending_second_review"]
    data["review"]["who"].append({"role": "StationManager", "relation": "station_manager"})
    table = load_table(data, roles=ROLES)
    facts = boss_facts("pending_second_review", FIRST)
    with pytest.raises(TransitionRefused) as refused:
        decide(table, facts, BOSS_ACTOR, "approve")
    assert refused.value.code == "SEPARATION_OF_DUTIES"
    with pytest.raises(TransitionRefused) as refused:
        check_review(table, facts, BOSS_ACTOR)
    assert refused.value.code == "SEPARATION_OF_DUTIES"
    # The same user with another employee record (or none) is still the same person.
    with pytest.raises(TransitionRefused):
        decide(table, facts, Actor(3, BOSS_ACTOR.roles, None, "站长兼主管"), "approve")


@pytest.mark.parametrize(("history", "approvers"), [
    (FIRST, {3}),
    # returned from the second review: a new round
    (FIRST + steps(("pending_second_review", "pending_review", HR_ACTOR)), set()),
    (FIRST + steps(("pending_second_review", "pending_review", HR_ACTOR),
                   ("pending_review", "pending_second_review", SUPERVISOR_ONLY)), {8}),
    # review edits do not start a round; approved, disputed and resolved does
    (steps(("draft", "pending_review", HR_ACTOR), ("pending_review", "pending_review", BOSS_ACTOR),
           ("pending_review", "pending_second_review", BOSS_ACTOR)), {3}),
    (FIRST + steps(("pending_second_review", "approved", HR_ACTOR), ("approved", "disputed", SUBJECT_ACTOR),
                   ("disputed", "pending_review", HR_ACTOR)), set()),
    # returned to draft and submitted again
    (steps(("draft", "pending_review", HR_ACTOR), ("pending_review", "draft", BOSS_ACTOR),
           ("draft", "pending_review", HR_ACTOR)), set()),
])
def test_rounds_start_each_time_the_appraisal_enters_review(history, approvers):
    assert {s.user_id for s in round_approvals(history)} == approvers


def test_after_a_return_the_first_approver_approves_the_first_level_again():
    history = FIRST + steps(("pending_second_review", "pending_review", HR_ACTOR))
    target = decide(TABLE, boss_facts("pending_review", history), BOSS_ACTOR, "approve")
    assert target == "pending_second_review"


def test_an_employee_without_a_supervisor_goes_to_the_station_manager():
    facts = Facts("pending_review", SUBJECT, None, OTHER_MANAGER, HIGH)
    assert decide(TABLE, facts, MANAGER, "approve") == "pending_second_review"
    check_review(TABLE, facts, MANAGER)
    for nobody in (HR_ACTOR, SUPERVISOR_ONLY):
        with pytest.raises(TransitionRefused) as refused:
            decide(TABLE, facts, nobody, "approve")
        assert refused.value.code == "NOT_PERMITTED" and "站长" in refused.value.reason("zh_CN")
    assert waiting_for(TABLE, facts) == (Party("station_manager", OTHER_MANAGER, stands_in=True),)
    # ... and the second level is then somebody else's: HR.
    after = Facts("pending_second_review", SUBJECT, None, OTHER_MANAGER, HIGH, approvals=steps(
        ("pending_review", "pending_second_review", MANAGER)))
    assert allowed_actions(TABLE, after, MANAGER) == []
    assert waiting_for(TABLE, after) == (Party("hr"),)


@pytest.mark.parametrize("manager", [None, SUBJECT])
def test_without_a_supervisor_or_another_station_manager_it_goes_to_hr(manager):
    facts = Facts("pending_review", SUBJECT, None, manager, HIGH)
    assert [t.action for t in allowed_actions(TABLE, facts, HR_ACTOR)] == ["approve", "return"]
    check_review(TABLE, facts, HR_ACTOR)
    if manager is not None:  # the station manager appraised: never their own
        with pytest.raises(TransitionRefused) as refused:
            decide(TABLE, facts, Actor(1, frozenset(ROLES), SUBJECT, "站长本人"), "approve")
        assert refused.value.code == "SELF_APPROVAL"
    assert waiting_for(TABLE, facts) == (Party("hr", None, stands_in=True),)
    second = Facts("pending_second_review", SUBJECT, None, manager, HIGH,
                   approvals=steps(("pending_review", "pending_second_review", HR_ACTOR)))
    with pytest.raises(TransitionRefused):
        decide(TABLE, second, HR_ACTOR, "approve")
    assert decide(TABLE, second, SECOND_HR, "approve") == "approved"
    # A dispute is resolved by HR standing in too.
    disputed = Facts("disputed", SUBJECT, None, manager, HIGH)
    assert decide(TABLE, disputed, HR_ACTOR, "resolve", "重新审核") == "pending_review"


def test_the_inbox_prefilter_counts_the_stand_ins():
    assert "pending_review" in acting_states(TABLE, {"HR"})
    assert "pending_review" in acting_states(TABLE, {"StationManager"})
    assert "pending_review" not in acting_states(TABLE, {"Employee"})


@pytest.mark.parametrize(("state", "expected"), [
    ("draft", (Party("hr"),)),
    ("pending_review", (Party("supervisor", BOSS),)),
    ("pending_second_review", (Party("station_manager", BOSS), Party("hr"))),
    ("approved", (Party("self", SUBJECT),)),
    ("signed", ()),
])
def test_waiting_for_follows_the_table(state, expected):
    assert waiting_for(TABLE, Facts(state, SUBJECT, BOSS, BOSS, HIGH)) == expected


def test_over_long_comments_and_reasons_are_refused():
    facts = Facts("pending_review", SUBJECT, BOSS, BOSS, HIGH)
    assert decide(TABLE, facts, BOSS_ACTOR, "return", "x" * MAX_COMMENT) == "draft"
    with pytest.raises(CommentTooLong) as refused:
        decide(TABLE, facts, BOSS_ACTOR, "return", "长" * (MAX_COMMENT + 1))
    assert isinstance(refused.value, CommentRequired)  # answered like a missing comment: 422
    assert "1000" in refused.value.reason("zh_CN") and "1,000" in refused.value.reason("en")
    with pytest.raises(CommentTooLong):
        decide(TABLE, facts, BOSS_ACTOR, "approve", "x" * (MAX_COMMENT + 1))
    with pytest.raises(CommentTooLong):
        check_amend(TABLE, Facts("approved", SUBJECT), HR_ACTOR, "x" * (MAX_COMMENT + 1))


def test_review_edits_per_step_are_bounded():
    limit = TABLE.max_edits
    assert 1 <= limit <= 100
    check_review(TABLE, Facts("pending_review", SUBJECT, BOSS, BOSS, HIGH, edits=limit - 1), BOSS_ACTOR)
    with pytest.raises(EditLimitReached) as refused:
        check_review(TABLE, Facts("pending_review", SUBJECT, BOSS, BOSS, HIGH, edits=limit), BOSS_ACTOR)
    assert str(limit) in refused.value.reason("zh_CN") and "approve or return" in refused.value.reason("en")
