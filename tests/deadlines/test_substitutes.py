"""A substitute is reminded of their principal's items, and told of the escalations their principal is
told of, on the days they stand in, not on others."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from app.clock import local_today
from app.extensions import db
from app.models import Employee, Substitute
from app.notify import messages
from tests.deadlines.conftest import counts, due_day, outbox, set_due, told, user_id
from tests.deadlines.test_reminders import run
from tests.factories import demo_cycle


@pytest.mark.parametrize(("days_before", "sup2"), [(0, 4), (1, 2)])
def test_a_substitute_is_reminded_of_the_principals_items(ctx, clock, days_before, sup2):
    cycle = demo_cycle()
    due = set_due(ctx, "pending_review", due_day(cycle))
    clock.set(due - dt.timedelta(hours=23))
    last_day = local_today(clock.at) - dt.timedelta(days=days_before)
    db.session.execute(delete(Substitute))  # the demo's own stands in for two weeks from seeding
    db.session.add(Substitute(principal_id=user_id("sup1"), substitute_id=user_id("sup2"),
                              starts_on=last_day - dt.timedelta(days=3), ends_on=last_day,
                              created_by="hr", created_at=clock.at))
    db.session.commit()
    run(clock.at)
    # sup2's own two, and sup1's two while standing in for sup1
    assert counts(told("reminder")) == {"sup1": 2, "sup2": sup2, "manager1": 1, "hr": 2}
    sup1 = db.session.scalar(select(Employee.name).where(Employee.employee_no == "SUP1"))
    reminded = told("reminder")["sup2"].params
    # named as standing in only while they do
    assert reminded.get("acting_for") == ({"zh": sup1, "en": sup1} if sup2 == 4 else None)
    assert (f"You stand in for {sup1}." in messages.render("reminder", reminded, "en").text) == (sup2 == 4)


def _stands_in(principal: str, substitute: str, first: dt.date, last: dt.date, at: dt.datetime) -> None:
    db.session.add(Substitute(principal_id=user_id(principal), substitute_id=user_id(substitute),
                              starts_on=first, ends_on=last, created_by="hr", created_at=at))


def test_an_escalation_reaches_the_substitutes_of_those_told_while_they_stand_in(ctx, clock):
    cycle = demo_cycle()
    due = set_due(ctx, "pending_review", due_day(cycle))
    first_late_day = local_today(due + dt.timedelta(seconds=1))
    db.session.execute(delete(Substitute))
    # sup2 stands in for the station manager, manager1 for HR: both on the first late day only
    _stands_in("manager1", "sup2", first_late_day - dt.timedelta(days=2), first_late_day, clock.at)
    _stands_in("hr", "manager1", first_late_day - dt.timedelta(days=2), first_late_day, clock.at)
    db.session.commit()
    clock.set(due + dt.timedelta(seconds=1))
    run(clock.at)
    run(clock.at)  # a second round tells nobody twice
    first = told("escalation", level=1)
    # manager1: sup1's two in their own right, and for HR the ones of sup2 (EMP7, EMP8) and of SUP2; not
    # SUP1's (manager1 is late with it) nor their own: one notification of five
    # sup2, for manager1: sup1's two (EMP7, EMP8 and SUP2's are HR's, and sup2 is late with them)
    assert counts(first) == {"manager1": 5, "hr": 5, "sup2": 2}
    manager1 = db.session.scalar(select(Employee.name).where(Employee.employee_no == "MANAGER1"))
    assert first["sup2"].params["acting_for"] == {"zh": manager1, "en": manager1}
    assert "acting_for" in first["manager1"].params and "acting_for" not in first["hr"].params
    # read in each reader's language, mailed once each
    english = messages.render("escalation", first["sup2"].params, "en").text
    chinese = messages.render("escalation", first["sup2"].params, "zh_CN").text
    assert f"You stand in for {manager1}." in english and f"您作为 {manager1} 的代理人处理。" in chinese
    assert {name: len(rows) for name, rows in outbox("mail:remind:").items()} == {
        "manager1": 1, "hr": 1, "sup2": 1}
    # two days later the substitutions have ended: the second escalation reaches HR alone
    clock.set(due + dt.timedelta(hours=48))
    run(clock.at)
    assert counts(told("escalation", level=2)) == {"hr": 7}


def test_a_late_substitute_is_not_told_about_their_own_lateness(ctx, clock):
    cycle = demo_cycle()
    due = set_due(ctx, "pending_review", due_day(cycle))
    late_day = local_today(due + dt.timedelta(seconds=1))
    db.session.execute(delete(Substitute))
    _stands_in("manager1", "sup1", late_day, late_day, clock.at)  # sup1 is late with EMP4 and EMP5
    db.session.commit()
    clock.set(due + dt.timedelta(seconds=1))
    run(clock.at)
    assert counts(told("escalation", level=1)) == {"manager1": 2, "hr": 5}
