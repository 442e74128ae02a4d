"""A principal's active substitute is told too, as standing in for them; outside the dates, nobody."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app import clock as app_clock
from app.extensions import db
from app.models import Employee, Substitute
from app.services import reassign
from tests.factories import caller
from tests.notify.conftest import inbox_of, last_key, told


def _stand_in(app, principal: str, substitute: str, days: int = 3) -> None:
    sm = app.appbuilder.sm
    today = app_clock.local_today()
    db.session.add(Substitute(principal_id=sm.find_user(username=principal).id,
                              substitute_id=sm.find_user(username=substitute).id, starts_on=today,
                              ends_on=today + dt.timedelta(days=days), reason="休假", created_by="hr",
                              created_at=app_clock.now()))
    db.session.commit()


def test_the_substitute_is_told_as_standing_in(moves, clock):
    _stand_in(moves.app, "sup1", "sup2")
    moves.do("hr", "EMP1", "submit")
    assert told(last_key()) == {"sup1", "sup2"}
    (note,) = inbox_of("sup2", moves.cycle_id)
    assert note.params["acting_for"] == "李明"  # sup1
    assert "acting_for" not in inbox_of("sup1", moves.cycle_id)[0].params


def test_after_the_last_day_the_substitute_is_not_told(moves, clock):
    _stand_in(moves.app, "sup1", "sup2", days=1)
    clock.move(days=3)
    moves.do("hr", "EMP1", "submit")
    assert told(last_key()) == {"sup1"}


def test_a_reassignment_tells_the_new_reviewer_only(moves):
    moves.do("hr", "EMP1", "submit")
    manager = db.session.scalar(select(Employee.id).where(Employee.employee_no == "MANAGER1"))
    reassign.reassign_reviewer(db.session, moves.id("EMP1"), caller(moves.app, "hr"), manager, "主管休假")
    key = last_key()
    assert told(key) == {"manager1"}
    (note,) = [n for n in inbox_of("manager1", moves.cycle_id) if n.key == key]
    assert note.kind == "reassigned" and note.params["reason"] == "主管休假"
