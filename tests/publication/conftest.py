"""Fixtures for publication: a fresh computed cycle over the demo period (unpublished, every appraisal a
draft), moves through the workflow, and publishing as HR."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from app.services.publication import publish
from tests.factories import FRESH, Moves, appraisal_ids, caller, demo_period


@pytest.fixture
def fresh(app) -> int:
    """A new cycle over the demo period, computed, not published; its id. No app context stays pushed."""
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, FRESH, start, end)
        compute_cycle(db.session, cycle)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


@pytest.fixture
def moves(app, fresh) -> Moves:
    return Moves(app, fresh)


def publish_as(app, cycle_id: int, username: str = "hr", reason: str | None = None):
    """Publish the cycle as ``username`` in an app context of its own; returns its published_at."""
    with app.app_context():
        cycle = publish(db.session, cycle_id, caller(app, username), reason)
        when = cycle.published_at
        db.session.remove()
    return when


def ids_of(app, cycle_id: int) -> dict[str, int]:
    with app.app_context():
        found = appraisal_ids(cycle_id)
        db.session.remove()
    return found


def in_context(app, fn, *args, **kwargs):
    """Run ``fn`` inside an app context of its own (none stays pushed for the test clients)."""
    with app.app_context():
        try:
            return fn(*args, **kwargs)
        finally:
            db.session.remove()
