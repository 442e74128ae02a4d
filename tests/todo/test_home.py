"""The home page as a to-do list: its cards count what the inbox holds per step (with the overdue ones)
and link to the inbox filtered by that step; the caller's running jobs; the recent cycles' progress for
HR and station managers; an employee's newest visible result."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from sqlalchemy import select

from app import clock as app_clock
from app.extensions import db
from app.models import Appraisal, Cycle, Employee, Job, JobState
from app.services.deadlines import set_deadlines
from app.services.inbox import inbox
from app.services.todo import CARDS, todo
from tests.factories import caller
from tests.todo.conftest import row_ids


def card(html: str, key: str) -> tuple[str, int] | None:
    """A card's link and count on the home page."""
    found = re.search(rf'jx-todo-{key}" href="([^"]+)">.*?<span class="jx-count">(\d+)</span>', html, re.S)
    return (found.group(1).replace("&amp;", "&"), int(found.group(2))) if found else None


@pytest.mark.parametrize("username", ["hr", "sup1", "manager1", "emp2"])
def test_the_cards_count_the_inbox_by_step_and_open_it(app, login_as, username):
    with app.app_context():
        person = caller(app, username)
        states = Counter(i.state for i in inbox(db.session, person))
        counted = todo(db.session, person, app_clock.now())
    expected = {key: states[state] for key, state, _ in CARDS if states[state]}
    assert expected, f"{username} has something to do in the demo"
    assert {c.key: c.count for c in counted.counts} == expected
    assert sum(states.values()) == counted.waiting
    browser = login_as(username)
    html = browser.get("/").get_data(as_text=True)
    for key, state, _ in CARDS:
        shown = card(html, key)
        if key not in expected:
            assert shown is None, f"{username}: an empty card {key}"
            continue
        assert shown == (f"/appraisal/inbox/?state={state}", expected[key])
        listed = browser.get(shown[0]).get_data(as_text=True)
        assert len(row_ids(listed)) == expected[key], f"{username}: the {key} card and its inbox disagree"


def test_the_cards_of_an_employee_and_a_supervisor_differ(app, login_as):
    emp = login_as("emp2").get("/").get_data(as_text=True)
    sup = login_as("sup1").get("/").get_data(as_text=True)
    assert card(emp, "sign") and not card(emp, "review")
    assert card(sup, "review") and "jx-latest" in sup  # sup1's own published result too
    assert "jx-cycle-progress" not in emp and "jx-cycle-progress" not in sup


def test_overdue_items_are_counted_on_their_card(app, login_as, clock):
    with app.app_context():
        person = caller(app, "sup1")
        reviews = [i for i in inbox(db.session, person) if i.state == "pending_review"]
        cycle_id = reviews[0].cycle_id
        set_deadlines(db.session, cycle_id, caller(app, "hr"), {"pending_review": app_clock.local_today()})
        waiting = sum(1 for i in reviews if i.cycle_id == cycle_id)
    html = login_as("sup1").get("/").get_data(as_text=True)
    assert "jx-overdue" not in html  # due today: soon, not late
    clock.move(days=1)
    html = login_as("sup1").get("/").get_data(as_text=True)
    review = re.search(r'jx-todo-review".*?</a>', html, re.S).group(0)
    assert re.search(rf'jx-overdue">[^<]*{waiting}', review), review
    with app.app_context():
        counted = {c.key: c for c in todo(db.session, caller(app, "sup1"), app_clock.now()).counts}
    assert counted["review"].overdue == waiting


def test_running_jobs_are_counted_for_their_owner_only(app, login_as):
    with app.app_context():
        hr = app.appbuilder.sm.find_user(username="hr")
        db.session.add(Job(kind="export", owner_id=hr.id, state=JobState.RUNNING, params={},
                           heartbeat_at=dt.datetime.now(dt.UTC)))
        db.session.commit()
        assert todo(db.session, caller(app, "hr"), app_clock.now()).jobs_running == 1
        assert todo(db.session, caller(app, "sup1"), app_clock.now()).jobs_running == 0
    assert "jx-todo-jobs" in login_as("hr").get("/").get_data(as_text=True)
    assert "jx-todo-jobs" not in login_as("sup1").get("/").get_data(as_text=True)


def test_hr_follows_the_recent_cycles_by_step_with_their_due_dates(app, login_as):
    with app.app_context():
        cycles = db.session.scalars(select(Cycle).order_by(Cycle.end.desc(), Cycle.id.desc())).all()
        cycle = cycles[0]
        states = Counter(a.state.value for a in db.session.scalars(
            select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))))
        sign_by = cycle.end + dt.timedelta(days=20)
        set_deadlines(db.session, cycle.id, caller(app, "hr"), {"approved": sign_by})
        progress = todo(db.session, caller(app, "hr"), app_clock.now()).cycles
        name, due = cycle.name, (cycle.end + dt.timedelta(days=20)).isoformat()
    assert progress[0].name == name and progress[0].total == sum(states.values())
    assert {s: n for s, n in progress[0].counts.items() if n} == dict(states)
    html = login_as("hr").get("/").get_data(as_text=True)
    assert name in html and f"{due}" in html and "progress-bar" in html
    # a station manager sees their station's part only
    with app.app_context():
        manager = todo(db.session, caller(app, "manager1"), app_clock.now()).cycles
    assert manager[0].name == name and 0 < manager[0].total < progress[0].total


def test_an_employee_sees_their_newest_visible_result(app, login_as):
    with app.app_context():
        emp2 = db.session.scalar(select(Employee).where(Employee.employee_no == "EMP2"))
        latest = todo(db.session, caller(app, "emp2"), app_clock.now()).latest
        assert latest is not None
        appraisal, _cycle = latest
        assert appraisal.employee_id == emp2.id
        assert appraisal.state.value in ("approved", "signed", "disputed")
        pk = appraisal.id
    html = login_as("emp2").get("/").get_data(as_text=True)
    assert f'class="jx-card jx-card-link jx-latest" href="/appraisal/show/{pk}"' in html


def test_nothing_waits_for_an_employee_without_work_and_visitors_get_the_sign_in(app, client, login_as):
    html = login_as("emp1").get("/").get_data(as_text=True)
    assert "jx-todo-empty" in html or "jx-todo-sign" in html
    anonymous = client.get("/").get_data(as_text=True)
    assert "jx-verify-link" in anonymous and "jx-todo" not in anonymous
