"""The workflow table's publication rows: comment visibility, the dispute window and a row back to its own
state (HR's calibrate), pure and through the services."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Cycle
from app.workflow import (
    Actor,
    BadVisibility,
    CommentRequired,
    Facts,
    Step,
    TransitionRefused,
    WorkflowTableError,
    acting_states,
    allowed_actions,
    comment_visibility,
    decide,
    decide_row,
    load_table,
    round_approvals,
    waiting_for,
    window_open,
)
from tests.factories import appraisal_of, demo_cycle

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("Admin", "HR", "StationManager", "Supervisor", "Employee")
DATA = tomllib.loads((ROOT / "rules" / "workflow.toml").read_text(encoding="utf-8"))
TABLE = load_table(DATA, roles=ROLES)
SELF = Actor(1, frozenset({"Employee"}), 10, "员工")
HR = Actor(4, frozenset({"HR"}), None, "人力")
VALUES = {"total": 80.0, "subtotal": 80.0, "adjustment": 0.0, "grade": "B", "version": 1}


def facts(state: str, **kwargs) -> Facts:
    return Facts(state, 10, 20, 30, VALUES, **kwargs)


def names(state: str, actor: Actor, **kwargs) -> list[str]:
    return [t.action for t in allowed_actions(TABLE, facts(state, **kwargs), actor)]


def test_comment_visibility_defaults_and_choices():
    rows = {(t.source, t.action): t.comment_visibility for t in TABLE.transitions}
    assert rows[("pending_review", "return")] == "internal"
    assert rows[("pending_second_review", "approve")] == "internal"
    assert rows[("pending_second_review", "return")] == "internal"
    assert rows[("approved", "calibrate")] == "internal"
    for shared in (("pending_review", "approve"), ("approved", "dispute"), ("disputed", "resolve"),
                   ("disputed", "uphold"), ("approved", "sign"), ("draft", "submit")):
        assert rows[shared] == "shared", shared
    # left out of the file, the same defaults apply
    data = copy.deepcopy(DATA)
    for row in data["transitions"]:
        row.pop("comment_visibility", None)
    bare = load_table(data, roles=ROLES)
    def defaults(table):  # calibrate is internal by the file's choice, not by default
        return {(t.source, t.action, t.target): t.comment_visibility for t in table.transitions
                if t.action != "calibrate"}

    assert defaults(bare) == defaults(TABLE)
    row = decide_row(TABLE, facts("pending_review"), Actor(2, frozenset({"Supervisor"}), 20), "return", "x")
    assert comment_visibility(row) == "internal" and comment_visibility(row, "shared") == "shared"
    with pytest.raises(BadVisibility) as bad:
        comment_visibility(row, "everyone")
    assert bad.value.code == "BAD_VISIBILITY" and bad.value.kind == "invalid" and bad.value.reason("en")


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda d: d["transitions"][0].update(comment_visibility="public"), "comment_visibility"),
    (lambda d: d.update(publication={"dispute_days": -1}), "dispute_days"),
    (lambda d: d.update(publication={"dispute_days": True}), "dispute_days"),
    (lambda d: d.update(publication={"window_actions": ["appeal"]}), "window_actions"),
    (lambda d: d.update(publication={"window_actions": "dispute"}), "window_actions"),
    (lambda d: d.update(publication={"days": 7}), "publication.days"),
])
def test_a_broken_publication_setting_is_refused(mutate, needle):
    data = copy.deepcopy(DATA)
    mutate(data)
    with pytest.raises(WorkflowTableError) as broken:
        load_table(data, roles=ROLES)
    assert needle in str(broken.value)


def test_the_window_closes_for_dispute_not_for_signing():
    assert TABLE.dispute_days == 7 and TABLE.window_actions == frozenset({"dispute"})
    assert names("approved", SELF) == ["sign", "dispute"]
    assert names("approved", SELF, window_open=False) == ["sign"]
    with pytest.raises(TransitionRefused) as closed:
        decide(TABLE, facts("approved", window_open=False), SELF, "dispute", "不服")
    assert closed.value.code == "WINDOW_CLOSED" and "7" in closed.value.reason("en")
    assert decide(TABLE, facts("approved", window_open=False), SELF, "sign") == "signed"
    # the employee answers a published result only
    assert names("approved", SELF, published=False) == []
    with pytest.raises(TransitionRefused) as early:
        decide(TABLE, facts("approved", published=False), SELF, "sign")
    assert early.value.code == "NOT_PUBLISHED"
    published = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
    assert window_open(TABLE, None, published)  # before publication nothing is closed
    assert window_open(TABLE, published, published + dt.timedelta(days=6, hours=23))
    assert not window_open(TABLE, published, published + dt.timedelta(days=7))
    assert window_open(TABLE, published.replace(tzinfo=None), published + dt.timedelta(days=1))  # SQLite's
    data = copy.deepcopy(DATA)
    data["publication"] = {"dispute_days": 3, "window_actions": ["dispute", "sign"]}
    short = load_table(data, roles=ROLES)
    assert not window_open(short, published, published + dt.timedelta(days=3))
    assert [t.action for t in allowed_actions(short, facts("approved", window_open=False), SELF)] == []


def test_a_row_back_to_its_own_state():
    """calibrate (approved → approved): HR's, with a reason, offered to HR, but it waits for nobody and
    is no approval step."""
    assert names("approved", HR) == ["calibrate"]
    assert decide(TABLE, facts("approved"), HR, "calibrate", "分布校准") == "approved"
    with pytest.raises(CommentRequired):
        decide(TABLE, facts("approved"), HR, "calibrate", " ")
    with pytest.raises(TransitionRefused) as refused:
        decide(TABLE, facts("approved"), Actor(2, frozenset({"Supervisor"}), 20), "calibrate", "x")
    assert refused.value.code == "NOT_PERMITTED"
    # the appraised employee never calibrates their own, whatever roles they hold
    boss = Actor(9, frozenset(ROLES), 10, "自己")
    with pytest.raises(TransitionRefused) as own:
        decide(TABLE, facts("approved"), boss, "calibrate", "x")
    assert own.value.code == "SELF_APPROVAL"
    assert names("approved", boss) == ["sign", "dispute"]
    answers = copy.deepcopy(DATA)  # without the employee's rows only calibrate leaves approved
    answers["transitions"] = [r for r in answers["transitions"] if r["action"] not in ("sign", "dispute")]
    answers["publication"] = {"window_actions": []}
    assert "approved" not in acting_states(load_table(answers, roles=ROLES), {"HR"})  # no inbox fills up
    assert {p.relation for p in waiting_for(TABLE, facts("approved"))} == {"self"}
    steps = [Step("draft", "pending_review", 4), Step("pending_review", "approved", 2, 20),
             Step("approved", "approved", 4)]
    assert round_approvals(steps) == (steps[1],)


def test_a_closed_window_through_the_api(app, api_as):
    with app.app_context():
        cycle_id = demo_cycle().id
        db.session.execute(update(Cycle).where(Cycle.id == cycle_id).values(
            published_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=8)))
        db.session.commit()
        pk = appraisal_of("EMP1").id
        db.session.remove()
    emp1 = api_as("emp1")
    assert [a["action"] for a in emp1.get(f"/api/v1/appraisal/{pk}/actions").json["actions"]] == ["sign"]
    refused = emp1.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "dispute", "comment": "晚了"})
    assert refused.status_code == 403 and refused.json["code"] == "WINDOW_CLOSED"
    inbox = {i["employee_no"]: i["actions"] for i in emp1.get("/api/v1/appraisal/inbox").json["result"]
             if i["id"] == pk}
    assert inbox == {"EMP1": ["sign"]}
    with app.app_context():
        db.session.execute(update(Cycle).where(Cycle.id == cycle_id).values(
            published_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=6)))
        db.session.commit()
        db.session.remove()
    assert [a["action"] for a in emp1.get(f"/api/v1/appraisal/{pk}/actions").json["actions"]] == [
        "sign", "dispute"]


def test_calibrate_is_not_a_plain_transition(app, api_as):
    with app.app_context():
        pk = appraisal_of("EMP1").id
        db.session.remove()
    hr = api_as("hr")
    offered = {a["action"]: a for a in hr.get(f"/api/v1/appraisal/{pk}/actions").json["actions"]}
    assert offered["calibrate"]["via"] == "calibration" and offered["calibrate"]["comment_required"]
    refused = hr.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "calibrate", "comment": "校准"})
    assert refused.status_code == 403 and refused.json["code"] == "USE_CALIBRATION"
    assert "校准" in refused.json["message"]
    assert hr.get(f"/api/v1/appraisal/{pk}").json["result"]["state"] == "approved"
    # outside the caller's scope it is simply not there
    assert api_as("emp4").post(f"/api/v1/appraisal/{pk}/transition",
                               json={"action": "calibrate", "comment": "x"}).status_code == 404
    # HR's inbox does not list approved results for calibration
    assert pk not in {i["id"] for i in hr.get("/api/v1/appraisal/inbox").json["result"]}
