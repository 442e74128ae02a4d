"""The approval workflow's table, checked cell by cell: every (state, action, actor) answers right.

The expected answers are written out here from the approval rules, independently of rules/workflow.toml.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from app.workflow import (
    Actor,
    CommentRequired,
    Facts,
    State,
    TransitionRefused,
    WorkflowTableError,
    allowed_actions,
    check_amend,
    check_review,
    decide,
    load_table,
    parse_table,
)

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("Admin", "HR", "StationManager", "Supervisor", "Employee")
DATA = tomllib.loads((ROOT / "rules" / "workflow.toml").read_text(encoding="utf-8"))
TABLE = load_table(DATA, roles=ROLES)

SUBJECT, SUPERVISOR, MANAGER, OTHER = 10, 20, 30, 40

# Actors by their relation to the appraised employee (10, supervised by 20, station managed by 30).
ACTORS = {
    "self": Actor(1, frozenset({"Employee"}), SUBJECT, "员工"),
    "supervisor": Actor(2, frozenset({"Supervisor"}), SUPERVISOR, "主管"),
    "station_manager": Actor(3, frozenset({"StationManager", "Supervisor"}), MANAGER, "站长"),
    "hr": Actor(4, frozenset({"HR"}), None, "人力"),
    "other_employee": Actor(5, frozenset({"Employee"}), OTHER, "同事"),
    "other_supervisor": Actor(6, frozenset({"Supervisor"}), OTHER, "别的主管"),
    "other_manager": Actor(7, frozenset({"StationManager"}), OTHER, "别的站长"),
    # holds the relation but not the role the table asks for
    "supervisor_without_role": Actor(8, frozenset({"Employee"}), SUPERVISOR, "无角色"),
}

# The approval rules: (state, action) → {relation: target}; and which need a comment.
EXPECTED = {
    ("draft", "submit"): {"hr": "pending_review"},
    ("pending_review", "approve"): {"supervisor": "approved"},
    ("pending_review", "return"): {"supervisor": "draft"},
    ("pending_second_review", "approve"): {"station_manager": "approved", "hr": "approved"},
    ("pending_second_review", "return"): {"station_manager": "pending_review", "hr": "pending_review"},
    ("approved", "sign"): {"self": "signed"},
    ("approved", "dispute"): {"self": "disputed"},
    ("disputed", "resolve"): {"supervisor": "pending_review", "hr": "pending_review"},
    ("disputed", "uphold"): {"hr": "approved"},
    ("approved", "calibrate"): {"hr": "approved"},  # HR's calibration: back to the same state
}
NEEDS_COMMENT = {("pending_review", "return"), ("pending_second_review", "return"), ("approved", "dispute"),
                 ("disputed", "resolve"), ("disputed", "uphold"), ("approved", "calibrate")}
ACTIONS = sorted({a for _, a in EXPECTED})


def facts(state: str, total: float | None = 80.0, adjustment: float = 0.0) -> Facts:
    values = {"total": total, "subtotal": None if total is None else total - adjustment,
              "adjustment": adjustment, "grade": "B", "version": 1}
    return Facts(state, SUBJECT, SUPERVISOR, MANAGER, values)


CELLS = [(s.value, a, r) for s in State for a in ACTIONS for r in ACTORS]


@pytest.mark.parametrize(("state", "action", "relation"), CELLS)
def test_every_cell_of_the_table(state, action, relation):
    actor = ACTORS[relation]
    expected = EXPECTED.get((state, action), {}).get(relation)
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            decide(TABLE, facts(state), actor, action, "意见")
        assert refused.value.code in {"NOT_IN_STATE", "NOT_PERMITTED", "SELF_APPROVAL"}
        if (state, action) not in EXPECTED:
            assert refused.value.code == "NOT_IN_STATE"
        elif relation == "self":
            assert refused.value.code == "SELF_APPROVAL"
        assert refused.value.reason("zh_CN") and refused.value.reason("en")
        assert action not in [t.action for t in allowed_actions(TABLE, facts(state), actor)]
        return
    assert decide(TABLE, facts(state), actor, action, "意见") == expected
    assert action in [t.action for t in allowed_actions(TABLE, facts(state), actor)]
    if (state, action) in NEEDS_COMMENT:
        for empty in (None, "", "   "):
            with pytest.raises(CommentRequired):
                decide(TABLE, facts(state), actor, action, empty)
    else:
        assert decide(TABLE, facts(state), actor, action) == expected


@pytest.mark.parametrize(("total", "adjustment", "expected"), [
    (80, 0, "approved"),
    (94.99, 0, "approved"),
    (95, 0, "pending_second_review"),
    (100, 0, "pending_second_review"),
    (60, 0, "approved"),
    (59.99, 0, "pending_second_review"),
    (0, 0, "pending_second_review"),
    (80, 5, "approved"),
    (80, -5, "approved"),
    (80, 5.5, "pending_second_review"),
    (80, -6, "pending_second_review"),
    (70, 10, "pending_second_review"),
])
def test_second_review_guard(total, adjustment, expected):
    assert decide(TABLE, facts("pending_review", total, adjustment), ACTORS["supervisor"],
                  "approve") == expected


def test_approve_without_a_total_is_refused_by_the_guard():
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, facts("pending_review", None), ACTORS["supervisor"], "approve")
    assert refused.value.code == "GUARD"


def test_self_approval_is_refused_whatever_the_table_says():
    data = copy.deepcopy(DATA)
    for row in data["transitions"]:
        row["who"] = [{"relation": "self"}, *row["who"]]
    data["review"]["who"].append({"relation": "self"})
    data["amend"]["who"].append({"relation": "self"})
    table = load_table(data, roles=ROLES)
    me = ACTORS["self"]
    for state in ("draft", "pending_review", "pending_second_review", "disputed"):
        for t in table.transitions_from(state):
            with pytest.raises(TransitionRefused) as refused:
                decide(table, facts(state), me, t.action, "我同意")
            assert refused.value.code == "SELF_APPROVAL"
    with pytest.raises(TransitionRefused):
        check_review(table, facts("pending_review"), me)
    with pytest.raises(TransitionRefused):
        check_amend(table, facts("approved"), me, "理由")


def test_a_supervisor_never_approves_their_own_appraisal():
    # The supervisor is appraised too; even holding every role, they cannot decide on themselves.
    boss = Actor(9, frozenset(ROLES), SUBJECT, "自己")
    own = Facts("pending_review", SUBJECT, SUBJECT, SUBJECT, facts("pending_review").values)
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, own, boss, "approve")
    assert refused.value.code == "SELF_APPROVAL"
    assert [t.action for t in allowed_actions(TABLE, own, boss)] == []


def test_allowed_actions_in_table_order():
    assert [t.action for t in allowed_actions(TABLE, facts("pending_review"), ACTORS["supervisor"])] == [
        "approve", "return"]
    def actions(state, who):
        return [t.action for t in allowed_actions(TABLE, facts(state), ACTORS[who])]

    assert actions("approved", "self") == ["sign", "dispute"]
    assert actions("disputed", "hr") == ["resolve", "uphold"]
    assert allowed_actions(TABLE, facts("signed"), ACTORS["hr"]) == []
    assert [t.comment_required for t in allowed_actions(TABLE, facts("approved"), ACTORS["self"])] == [
        False, True]


def test_unknown_action_and_reasons_in_both_languages():
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, facts("draft"), ACTORS["hr"], "delete")
    assert refused.value.code == "UNKNOWN_ACTION"
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, facts("pending_review"), ACTORS["other_supervisor"], "approve")
    assert refused.value.code == "NOT_PERMITTED"
    assert "主管" in refused.value.reason("zh_CN")
    assert "supervisor" in refused.value.reason("en")


@pytest.mark.parametrize(("relation", "ok"), [
    ("supervisor", True), ("station_manager", False), ("hr", False), ("self", False),
    ("other_supervisor", False), ("supervisor_without_role", False),
])
def test_who_may_edit_the_review(relation, ok):
    if ok:
        check_review(TABLE, facts("pending_review"), ACTORS[relation])
    else:
        with pytest.raises(TransitionRefused):
            check_review(TABLE, facts("pending_review"), ACTORS[relation])
    with pytest.raises(TransitionRefused):
        check_review(TABLE, facts("pending_second_review"), ACTORS[relation])
    assert TABLE.max_adjustment == 10


@pytest.mark.parametrize("state", [s.value for s in State])
def test_amendment_by_hr_with_a_reason_on_locked_appraisals(state):
    if state in ("approved", "signed"):
        assert check_amend(TABLE, facts(state), ACTORS["hr"], "数据更正") == "pending_review"
        with pytest.raises(CommentRequired):
            check_amend(TABLE, facts(state), ACTORS["hr"], " ")
        with pytest.raises(TransitionRefused):
            check_amend(TABLE, facts(state), ACTORS["supervisor"], "数据更正")
    else:
        with pytest.raises(TransitionRefused):
            check_amend(TABLE, facts(state), ACTORS["hr"], "数据更正")


def test_labels_come_from_the_table():
    assert TABLE.state_label("pending_second_review", "zh_CN") == "待复核"
    assert TABLE.action_label("approve", "en") == "Approve"
    assert TABLE.relation_label("station_manager", "zh_CN") == "服务站站长"
    assert TABLE.final_states == {"signed"}


def broken(mutate) -> list[str]:
    data = copy.deepcopy(DATA)
    mutate(data)
    with pytest.raises(WorkflowTableError) as error:
        load_table(data, roles=ROLES)
    return error.value.messages("en")


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda d: d["transitions"][0].update({"to": "archived"}), "unknown state “archived”"),
    (lambda d: d["states"].update({"archived": {"zh": "归档", "en": "Archived"}}), "not a state the product"),
    (lambda d: d["transitions"][1].update({"guard": "total >="}), "guard formula error"),
    (lambda d: d["transitions"][1].update({"guard": "score > 3"}), "guard formula error"),
    (lambda d: d["transitions"][0].update({"who": [{"role": "Boss", "relation": "hr"}]}), "unknown role"),
    (lambda d: d["transitions"][0].update({"who": [{"relation": "cousin"}]}), "unknown relation"),
    (lambda d: d["transitions"][0].update({"who": []}), "non-empty"),
    (lambda d: d["transitions"][0].update({"action": "zap"}), "not named in [actions]"),
    (lambda d: d["transitions"][0].update({"color": "red"}), "unknown key"),
    (lambda d: d["transitions"].append({"from": "signed", "action": "approve", "to": "approved",
                                        "who": ["hr"]}), "is final"),
    (lambda d: d.pop("review"), "[review]"),
    (lambda d: d["review"].update({"max_adjustment": 1000}), "from 0 to 100"),
    (lambda d: d.update({"transitions": []}), "at least one transition"),
])
def test_a_broken_table_is_refused_whole_naming_the_problem(mutate, needle):
    messages = broken(mutate)
    assert any(needle in m for m in messages), messages


def test_guard_runtime_problems_are_false_not_errors():
    data = copy.deepcopy(DATA)
    data["transitions"][1]["guard"] = "total / adjustment > 1"  # divides by zero when no adjustment
    data["transitions"][2]["guard"] = "grade == 'A'"
    table = load_table(data, roles=ROLES)
    with pytest.raises(TransitionRefused) as refused:
        decide(table, facts("pending_review", 80, 0), ACTORS["supervisor"], "approve")
    assert refused.value.code == "GUARD"


def test_parse_table_reads_toml_text_and_refuses_bad_toml():
    text = (ROOT / "rules" / "workflow.toml").read_text(encoding="utf-8")
    def rows(table):
        return [(t.source, t.action, t.target, t.who, t.guard and t.guard.text, t.comment_required)
                for t in table.transitions]

    assert rows(parse_table(text, roles=ROLES)) == rows(TABLE)
    with pytest.raises(WorkflowTableError) as error:
        parse_table("states = [", roles=ROLES)
    assert "TOML" in error.value.messages("en")[0]
