"""Fixtures for calibration: a fresh computed cycle over the demo period, and a way to give its current
appraisals chosen totals and grades (so that counts can be checked against a hand count)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from app.extensions import db
from app.models import Appraisal, Station, Substitute
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import FRESH, Moves, appraisal_ids, demo_period

# Totals and grades by hand (bands A ≥ 90, B ≥ 75, C ≥ 60, D below). S01 has seven people, S02 six.
RESULTS = {
    "EMP1": (95.0, "A"), "EMP2": (91.0, "A"), "EMP3": (88.5, "B"), "EMP4": (52.0, "D"),
    "EMP5": (80.0, "B"), "MANAGER1": (76.0, "B"), "SUP1": (60.5, "C"),
    "EMP6": (92.0, "A"), "EMP7": (70.0, "C"), "EMP8": (74.0, "C"), "EMP9": (None, None),
    "EMP10": (59.0, "D"), "SUP2": (75.0, "B"),
}


@pytest.fixture
def fresh(app):
    """A new cycle over the demo period, computed (every appraisal a draft); its id. Nobody stands in
    for anybody (the demo's sup2-for-sup1 is removed): here sup2 is a stranger to S01."""
    with app.app_context():
        db.session.execute(delete(Substitute))
        start, end = demo_period()
        cycle = create_cycle(db.session, FRESH, start, end)
        compute_cycle(db.session, cycle)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


@pytest.fixture
def moves(app, fresh):
    return Moves(app, fresh)


def set_results(cycle_id: int, results: dict) -> None:
    """Give the current appraisals of these employees these (total, grade) columns."""
    ids = appraisal_ids(cycle_id)
    for no, (total, grade) in results.items():
        db.session.execute(update(Appraisal).where(Appraisal.id == ids[no]).values(total=total, grade=grade))
    db.session.commit()


def move_all_to(cycle_id: int, code: str) -> None:
    """Count every appraisal of the cycle at one station."""
    station_id = db.session.query(Station.id).filter(Station.code == code).scalar()
    db.session.execute(update(Appraisal).where(Appraisal.cycle_id == cycle_id).values(station_id=station_id))
    db.session.commit()


@pytest.fixture
def hand(app, fresh):
    """The fresh cycle with the totals and grades of :data:`RESULTS`; its id."""
    with app.app_context():
        set_results(fresh, RESULTS)
        db.session.remove()
    return fresh
