"""Fixtures for cycles and the workflow: a fresh computed cycle over the demo period, people, moves."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Appraisal, AuditEvent, Cycle, Employee, WorkOrder
from app.services.cycles import compute_cycle, create_cycle
from app.services.transitions import person_for, review, transition

FRESH = "测试周期"


def person(app, username: str):
    return person_for(db.session, app.appbuilder.sm.find_user(username=username))


def demo_period():
    demo = db.session.scalar(select(Cycle).order_by(Cycle.id))
    assert demo is not None, "the demo database has its computed cycle"
    return demo.start, demo.end


def appraisal_ids(cycle_id: int) -> dict[str, int]:
    """employee number → id of the current appraisal in the cycle."""
    return dict(db.session.execute(
        select(Employee.employee_no, Appraisal.id).join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))
    ).all())


def current(cycle_id: int, employee_no: str) -> Appraisal:
    db.session.expire_all()
    return db.session.get(Appraisal, appraisal_ids(cycle_id)[employee_no])


def events(appraisal_id: int, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.appraisal_id == appraisal_id).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def spoil_first_fix(employee_no: str) -> None:
    """Change the data behind an employee's metrics: none of their orders was fixed the first time."""
    employee_id = db.session.scalar(select(Employee.id).where(Employee.employee_no == employee_no))
    db.session.execute(update(WorkOrder).where(WorkOrder.technician_id == employee_id)
                       .values(first_time_fixed=False))
    db.session.commit()


class Moves:
    """Drive appraisals of one cycle through the real services, as named demo users."""

    def __init__(self, app, cycle_id: int) -> None:
        self.app, self.cycle_id = app, cycle_id

    def id(self, employee_no: str) -> int:
        return appraisal_ids(self.cycle_id)[employee_no]

    def do(self, username: str, employee_no: str, action: str, comment: str = "意见") -> str:
        return transition(db.session, self.id(employee_no), person(self.app, username), action, comment)

    def review(self, username: str, employee_no: str, **kwargs):
        return review(db.session, self.id(employee_no), person(self.app, username), **kwargs)

    def to_pending_review(self, employee_no: str) -> None:
        self.do("hr", employee_no, "submit")

    def to_approved(self, employee_no: str) -> None:
        """Submit and approve, through the second review when the guard asks for it."""
        self.to_pending_review(employee_no)
        supervisor = "sup1" if self.station(employee_no) == "S01" else "sup2"
        if self.do(supervisor, employee_no, "approve") == "pending_second_review":
            self.do("manager1" if self.station(employee_no) == "S01" else "hr", employee_no, "approve")

    def station(self, employee_no: str) -> str:
        return current(self.cycle_id, employee_no).station.code


@pytest.fixture
def fresh(app):
    """A new cycle over the demo period, computed (every appraisal a draft); yields its id.
    No app context stays pushed (see tests/conftest.py), so tests open their own."""
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, FRESH, start, end)
        compute_cycle(db.session, cycle)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


@pytest.fixture
def moves(app, fresh):
    return Moves(app, fresh)
