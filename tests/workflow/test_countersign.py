"""Countersign (会签): a row that needs every seat, each by a different person, before it moves on."""

from __future__ import annotations

import copy

import pytest

from app.workflow import (
    Actor,
    Countersign,
    Facts,
    Party,
    Principal,
    TransitionRefused,
    WorkflowTableError,
    allowed_actions,
    decide,
    decide_as,
    load_table,
    progress,
    seat_for,
    waiting_for,
)
from tests.workflow.test_workflow import DATA, ROLES

SUBJECT, SUP, MANAGER = 10, 20, 30
HIGH = {"total": 96.0, "subtotal": 90.0, "adjustment": 6.0, "grade": "A", "version": 1}
MANAGER_ACTOR = Actor(3, frozenset({"StationManager"}), MANAGER, "站长")
HR_ACTOR = Actor(4, frozenset({"HR"}), None, "人力")
HR2 = Actor(5, frozenset({"HR"}), None, "人力二")
# the station manager who also holds HR
BOTH = Actor(6, frozenset({"StationManager", "HR"}), MANAGER, "站长兼人力")


def with_countersign(value, *, state="pending_second_review", action="approve") -> dict:
    data = copy.deepcopy(DATA)
    for row in data["transitions"]:
        if row["from"] == state and row["action"] == action:
            row["countersign"] = value
            break
    return data


TABLE = load_table(with_countersign(["StationManager", "HR"]), roles=ROLES)
(ROW,) = [t for t in TABLE.transitions if t.countersign]


def facts(*seats: Countersign, state="pending_second_review") -> Facts:
    return Facts(state, SUBJECT, SUP, MANAGER, HIGH, countersigns=seats)


def filled(seat: str, actor: Actor, principal: Principal | None = None) -> Countersign:
    return Countersign(seat, actor.user_id, actor.employee_id, principal and principal.employee_id,
                       principal and principal.user_id)


def test_the_table_reads_countersign():
    assert (ROW.source, ROW.action, ROW.target, ROW.countersign) == (
        "pending_second_review", "approve", "approved", ("StationManager", "HR"))
    assert all(t.countersign == () for t in TABLE.transitions if t is not ROW)


@pytest.mark.parametrize(("value", "state", "action", "words"), [
    (["StationManager"], "pending_second_review", "approve", "at least two different roles"),
    (["HR", "HR"], "pending_second_review", "approve", "at least two different roles"),
    (["StationManager", "Supervisor"], "pending_second_review", "approve", "“Supervisor” is not the role"),
    (["StationManager", "HR"], "pending_second_review", "return", "only a row leaving an approval state"),
    (["Supervisor", "HR"], "disputed", "resolve", "only a row leaving an approval state"),
    ("StationManager", "pending_second_review", "approve", "a list of role names"),
    ([1, 2], "pending_second_review", "approve", "a list of role names"),
])
def test_table_validation(value, state, action, words):
    with pytest.raises(WorkflowTableError) as bad:
        load_table(with_countersign(value, state=state, action=action), roles=ROLES)
    (message,) = bad.value.messages("en")
    assert ".countersign" in message and words in message
    assert "会签" in bad.value.messages("zh_CN")[0]


def test_a_loop_row_may_not_need_a_countersign():
    data = with_countersign(["HR", "StationManager"], state="approved", action="calibrate")
    (row,) = [r for r in data["transitions"] if "countersign" in r]
    row["who"] = [{"role": "StationManager", "relation": "station_manager"}, {"role": "HR", "relation": "hr"}]
    with pytest.raises(WorkflowTableError, match="only a row leaving an approval state"):
        load_table(data, roles=ROLES)


def test_seats_and_progress():
    assert progress(ROW, facts()) == (0, 2)
    assert seat_for(ROW, facts(), MANAGER_ACTOR) == "StationManager"
    assert seat_for(ROW, facts(), HR_ACTOR) == "HR"
    assert seat_for(ROW, facts(), BOTH) == "StationManager"  # the first unfilled one they fit
    one = facts(filled("StationManager", MANAGER_ACTOR))
    assert progress(ROW, one) == (1, 2)
    assert seat_for(ROW, one, HR_ACTOR) == "HR"
    # a seat filled by somebody else is taken; a person who filled one takes no other
    with pytest.raises(TransitionRefused) as refused:
        seat_for(ROW, facts(filled("HR", HR_ACTOR)), HR2)
    assert refused.value.code == "SEAT_TAKEN"
    with pytest.raises(TransitionRefused) as refused:
        seat_for(ROW, facts(filled("StationManager", BOTH)), BOTH)
    assert refused.value.code == "ALREADY_COUNTERSIGNED"
    assert "each seat" in refused.value.reason("en") and "不同的人" in refused.value.reason("zh_CN")
    assert progress(ROW, facts(filled("StationManager", MANAGER_ACTOR), filled("HR", HR_ACTOR))) == (2, 2)
    # a row without countersign
    (plain,) = [t for t in TABLE.transitions_from("pending_review") if t.action == "return"]
    assert progress(plain, facts()) == (0, 0)


def test_a_substitute_fills_the_principals_seat_once():
    manager = Principal(3, MANAGER, frozenset({"StationManager"}), "站长")
    sub = Actor(9, frozenset({"Supervisor"}), 21, "主管二", acting_for=(manager,))
    row, principal = decide_as(TABLE, facts(), sub, "approve")
    assert (row, principal) == (ROW, manager)
    assert seat_for(ROW, facts(), sub, manager) == "StationManager"
    # the manager's seat filled by the substitute: the manager himself has no other seat, nor the substitute
    done = facts(filled("StationManager", sub, manager))
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, done, BOTH, "approve")
    assert refused.value.code == "ALREADY_COUNTERSIGNED"
    sub_hr = Actor(9, frozenset({"HR"}), 21, "主管二", acting_for=(manager,))
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, done, sub_hr, "approve")
    assert refused.value.code == "ALREADY_COUNTERSIGNED"


def test_allowed_actions_and_who_is_waiting():
    one = facts(filled("StationManager", MANAGER_ACTOR))
    # the manager who signed may still return it; the approval is no longer theirs
    assert [t.action for t in allowed_actions(TABLE, one, MANAGER_ACTOR)] == ["return"]
    assert [t.action for t in allowed_actions(TABLE, one, HR_ACTOR)] == ["approve", "return"]
    assert waiting_for(TABLE, facts()) == (Party("station_manager", MANAGER), Party("hr"))
    assert waiting_for(TABLE, one) == (Party("hr"),)
    assert waiting_for(TABLE, facts(filled("HR", HR_ACTOR))) == (Party("station_manager", MANAGER),)
    # both seats filled would move it on: nobody is waited for by a countersign row any more
    both = facts(filled("StationManager", MANAGER_ACTOR), filled("HR", HR_ACTOR))
    assert waiting_for(TABLE, both) == ()
    # the seats of another state's visit do not count
    assert decide(TABLE, facts(filled("HR", HR_ACTOR), state="pending_review"), Actor(
        2, frozenset({"Supervisor"}), SUP, "主管"), "approve") == "pending_second_review"
