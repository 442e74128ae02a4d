"""The demo comes with due dates on its cycle and a substitute standing in, so that reminders, the
to-do page's overdue counts and the substitutes' screens have something to show."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Cycle, CycleDeadline, Employee, Substitute
from app.services.demo_cycle import DEMO_DUE_DAYS


def test_the_demo_cycle_has_a_due_date_for_each_step_days_ahead(appctx):
    demo = db.session.scalar(select(Cycle).where(Cycle.published_at.is_not(None)).order_by(Cycle.id))
    rows = db.session.scalars(select(CycleDeadline).where(CycleDeadline.cycle_id == demo.id))
    dues = {d.state: d for d in rows}
    assert set(dues) == {state.value for state in DEMO_DUE_DAYS}
    today = clock.local_today()
    for state, days in DEMO_DUE_DAYS.items():
        due = dues[state.value]
        local = clock.to_local(due.due_at)
        assert local.date() == today + dt.timedelta(days=days)
        assert (local.hour, local.minute, local.second) == (23, 59, 59)  # the end of that local day
        assert due.set_by == "人力资源"
    assert db.session.scalar(select(CycleDeadline.id).where(CycleDeadline.cycle_id != demo.id)) is None


def test_sup2_stands_in_for_sup1_for_two_weeks_from_today(appctx):
    (row,) = db.session.scalars(select(Substitute)).all()
    users = dict(db.session.execute(select(Employee.user_id, Employee.employee_no)).all())
    assert (users[row.principal_id], users[row.substitute_id]) == ("SUP1", "SUP2")
    today = clock.local_today()
    assert (row.starts_on, row.ends_on) == (today, today + dt.timedelta(days=13))
    assert row.revoked_at is None and row.reason
