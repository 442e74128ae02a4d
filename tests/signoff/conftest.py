"""Fixtures for sign-off: the demo's approved appraisals (EMP1 in S01, EMP6 in S02) signed by their
employees through the real transition service."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal, Cycle, Employee
from app.services.transitions import person_for, transition


def demo_cycle() -> Cycle:
    return db.session.scalar(select(Cycle).order_by(Cycle.id))


def appraisal_of(employee_no: str) -> Appraisal:
    return db.session.scalar(
        select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
        .where(Employee.employee_no == employee_no, Appraisal.is_current.is_(True))
        .order_by(Appraisal.cycle_id)
    )


def sign(app, employee_no: str) -> int:
    """Sign the employee's (approved) appraisal as the employee; returns its id."""
    appraisal = appraisal_of(employee_no)
    assert appraisal.state.value == "approved", f"{employee_no} is approved in the demo"
    user = app.appbuilder.sm.find_user(username=employee_no.lower())
    assert transition(db.session, appraisal.id, person_for(db.session, user), "sign", "") == "signed"
    return appraisal.id


def signing(app, *employee_nos: str) -> list[int]:
    # In an app context of its own: one left pushed would share ``g`` (the signed-in user) with
    # every test-client request.
    with app.app_context():
        ids = [sign(app, no) for no in employee_nos]
        db.session.remove()
    return ids


@pytest.fixture
def signed(app) -> int:
    """EMP1's appraisal, signed."""
    return signing(app, "EMP1")[0]


@pytest.fixture
def signed_two(app) -> tuple[int, int]:
    """EMP1's and then EMP6's appraisals, signed: a chain of two records."""
    return tuple(signing(app, "EMP1", "EMP6"))


def current_id(app, employee_no: str) -> int:
    with app.app_context():
        return appraisal_of(employee_no).id
