"""A substitute is reminded of their principal's items on the days they stand in, not on others."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete

from app.clock import local_today
from app.extensions import db
from app.models import Substitute
from tests.deadlines.conftest import counts, due_day, set_due, told, user_id
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
