"""The home page's cards and the inbox agree with the workflow's own answer, appraisal by appraisal: what
the inbox lists (and the cards count, by step and overdue) is exactly the set of current appraisals in
the caller's scope on which ``allowed_actions`` offers a step that moves them on, on the demo and on a
cycle with the rules' hard cases (no supervisor, one's own supervisor, stand-ins, a substitute, the
separation of duties between two HR accounts in the same group, guards, countersign seats)."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from sqlalchemy import select, update

from app import clock as app_clock
from app.extensions import db
from app.models import Appraisal, Employee, Station
from app.scoping import scope_clause
from app.services import workflows
from app.services.appraisals import REVIEWER_ID, facts_of
from app.services.deadlines import OVERDUE, due_map, due_status, set_deadlines
from app.services.inbox import Waiting, inbox, inbox_page, tally
from app.services.todo import CARDS, todo
from app.workflow import acting_states, allowed_actions, load_table
from tests.factories import Moves, caller
from tests.workflow.test_workflow import DATA, ROLES

PEOPLE = ("hr", "admin", "sup1", "sup2", "manager1", "emp1", "emp2", "emp6", "emp7")


def expected(app, username: str) -> dict[int, tuple[str, bool]]:
    """appraisal id → (state, overdue) of every current appraisal in scope that the workflow lets the
    person move on now, decided one by one from the appraisal's own facts."""
    person = caller(app, username)
    now = app_clock.now()
    rows = db.session.execute(
        select(Appraisal, REVIEWER_ID, Station.manager_id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .where(Appraisal.is_current.is_(True), scope_clause(Appraisal, person.scope))).all()
    dues = due_map(db.session, {a.cycle_id for a, _, _ in rows})
    out = {}
    for appraisal, supervisor_id, manager_id in rows:
        table = workflows.workflow_table(db.session, appraisal.rule_set_version_id)
        facts = facts_of(db.session, appraisal, supervisor_id, manager_id)
        if any(not t.is_loop for t in allowed_actions(table, facts, person.actor)):
            state = appraisal.state.value
            out[appraisal.id] = (state, due_status(dues.get((appraisal.cycle_id, state)), now) == OVERDUE)
    return out


def check_everyone(app, *, per_page: int = 3) -> dict[str, dict]:
    """For each person: the inbox (whole and page by page), the tally and the cards equal the one-by-one
    answer. Returns the one-by-one answers."""
    answers = {}
    with app.app_context():
        for username in PEOPLE:
            want = expected(app, username)
            person = caller(app, username)
            listed = inbox(db.session, person, limit=10**6)
            assert sorted(i.id for i in listed) == sorted(want), username
            assert all(i.actions for i in listed), username
            paged, page = [], 1
            while True:
                items, count, shown = inbox_page(db.session, person, page=page, per_page=per_page)
                assert count == len(want) and shown == page, username
                paged += [i.id for i in items]
                if page * per_page >= count:
                    break
                page += 1
            assert paged == [i.id for i in listed], username
            per_state = Counter(state for state, _ in want.values())
            overdue = Counter(state for state, late in want.values() if late)
            assert tally(db.session, person) == {s: (n, overdue[s]) for s, n in per_state.items()}, username
            cards = {c.key: (c.count, c.overdue) for c in todo(db.session, person, app_clock.now()).counts}
            assert cards == {key: (per_state[state], overdue[state]) for key, state, _ in CARDS
                             if per_state[state]}, username
            answers[username] = want
    return answers


@pytest.fixture
def tricky(app, fresh):
    """The fresh cycle with every kind of appraisal the rules treat apart."""
    with app.app_context():
        moves = Moves(app, fresh)
        # EMP6 without a supervisor (S02 has no manager: HR stands in); EMP7 recorded as their own
        db.session.execute(update(Employee).where(Employee.employee_no == "EMP6").values(supervisor_id=None))
        emp7 = db.session.scalar(select(Employee.id).where(Employee.employee_no == "EMP7"))
        db.session.execute(update(Employee).where(Employee.id == emp7).values(supervisor_id=emp7))
        db.session.commit()
        for no in ("EMP1", "EMP2", "EMP3", "EMP6", "EMP7", "MANAGER1", "SUP2", "SUP1"):
            moves.to_pending_review(no)
        # sup1 takes EMP3 on to the second review (the guard: an adjustment over 5)
        moves.review("sup1", "EMP3", adjustment=6, reason="突出")
        assert moves.do("sup1", "EMP3", "approve") == "pending_second_review"
        # HR stands in for MANAGER1, Admin for SUP2: each may not take the second step of their own one
        for who, no in (("hr", "MANAGER1"), ("admin", "SUP2")):
            moves.review(who, no, adjustment=6, reason="突出")
            assert moves.do(who, no, "approve") == "pending_second_review"
        today = app_clock.local_today()
        set_deadlines(db.session, fresh, caller(app, "hr"),
                      {"pending_review": today, "pending_second_review": today})
    return fresh


def test_the_demo_counts_equal_the_workflow_one_by_one(app):
    answers = check_everyone(app)
    assert answers["hr"] and answers["sup1"] and answers["emp2"]


def test_the_hard_cases_count_equal_the_workflow_one_by_one(app, tricky, clock):
    answers = check_everyone(app)
    with app.app_context():
        moves = Moves(app, tricky)
        ids = {no: moves.id(no) for no in ("MANAGER1", "SUP1", "SUP2", "EMP1", "EMP6", "EMP7")}
    # the same group for both HR accounts (no supervisor, no other manager), decided row by row
    assert ids["MANAGER1"] not in answers["hr"] and ids["SUP2"] in answers["hr"]
    assert ids["SUP2"] not in answers["admin"] and ids["MANAGER1"] in answers["admin"]
    assert ids["EMP6"] in answers["hr"] and ids["EMP7"] in answers["hr"]
    assert ids["SUP1"] in answers["manager1"] and ids["SUP1"] not in answers["sup1"]
    assert ids["EMP1"] in answers["sup2"]  # standing in for sup1 (the demo's substitute)
    clock.move(days=2)
    answers = check_everyone(app)
    assert sum(late for _, late in answers["hr"].values()) >= 3


def test_the_groups_hold_every_row_once(app, tricky):
    """The rows naming nobody of the caller's are counted apart from the few naming them (the caller, a
    principal as employee, supervisor or station manager): together, each row in one group only; HR with
    an employee record of their own too (where rows without a supervisor or a station manager wait)."""
    with app.app_context():
        hr = app.appbuilder.sm.find_user(username="hr")
        db.session.execute(update(Employee).where(Employee.employee_no == "EMP5").values(user_id=hr.id))
        db.session.commit()
        assert caller(app, "hr").actor.employee_id is not None
        for username in PEOPLE:
            person = caller(app, username)
            waiting = Waiting(db.session, person, app_clock.now())
            roles = set(person.actor.roles).union(*(p.roles for p in person.actor.acting_for))
            states = set().union(*(acting_states(t, roles) for t in waiting.tables.values()))
            rows = db.session.execute(select(Appraisal.id, Appraisal.state, Appraisal.cycle_id).where(
                Appraisal.is_current.is_(True), Appraisal.state.in_(states),
                scope_clause(Appraisal, person.scope))).all()
            keys = [(g.cycle_id, g.state, g.version, g.flags) for g in waiting.groups]
            assert len(keys) == len(set(keys)), username
            assert sum(g.count for g in waiting.groups) == len(rows), username
            by_id = {r.id: r for r in rows}
            assert all(by_id[g.first].state.value == g.state and by_id[g.first].cycle_id == g.cycle_id
                       for g in waiting.groups), username
    check_everyone(app)


def test_countersign_seats_are_decided_row_by_row(app, fresh, monkeypatch):
    data = copy.deepcopy(DATA)
    for row in data["transitions"]:
        if row["from"] == "pending_second_review" and row["action"] == "approve":
            row["countersign"] = ["StationManager", "HR"]
    table = load_table(data, roles=ROLES)
    monkeypatch.setattr(workflows, "workflow_table", lambda session, version: table)
    with app.app_context():
        moves = Moves(app, fresh)
        for no in ("EMP1", "EMP2"):
            moves.to_pending_review(no)
            moves.review("sup1", no, adjustment=6, reason="突出")
            assert moves.do("sup1", no, "approve") == "pending_second_review"
        assert moves.do("manager1", "EMP1", "approve", "同意") == "pending_second_review"  # one seat of two
        emp1, emp2 = moves.id("EMP1"), moves.id("EMP2")
    answers = check_everyone(app)
    assert {emp1, emp2} <= set(answers["manager1"]) & set(answers["hr"])
    with app.app_context():
        offered = {i.id: [t.action for t in i.actions]
                   for i in inbox(db.session, caller(app, "manager1"), state="pending_second_review")}
        assert offered[emp1] == ["return"] and offered[emp2] == ["approve", "return"]  # a seat taken
        [item] = inbox(db.session, caller(app, "hr"), q="EMP1", state="pending_second_review")
        assert item.countersign == (1, 2)
