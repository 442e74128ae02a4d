"""Fixtures for notifications: a fresh computed cycle (every appraisal a draft, unpublished) without any
substitute, moves through the real services, and who was told what."""

from __future__ import annotations

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import delete, select

from app.extensions import db
from app.models import AuditEvent, Notification, Substitute
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import FRESH, Moves, demo_period


@pytest.fixture
def fresh(app) -> int:
    """A new cycle over the demo period, computed, not published, and nobody standing in for anybody
    (the demo's substitutes are removed: the sets of recipients are exact)."""
    with app.app_context():
        db.session.execute(delete(Substitute))
        start, end = demo_period()
        cycle = create_cycle(db.session, FRESH, start, end)
        compute_cycle(db.session, cycle)
        db.session.commit()
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


@pytest.fixture
def moves(app, fresh):
    """Moves of the fresh cycle, inside an app context for the test."""
    with app.app_context():
        yield Moves(app, fresh)
        db.session.remove()


def told(key: str) -> set[str]:
    """The usernames notified of ``key``."""
    return set(db.session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                                  .where(Notification.key == key)))


def last_key(appraisal_id: int | None = None) -> str:
    """The key of the last audit event (of this appraisal)."""
    query = select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)
    if appraisal_id is not None:
        query = query.where(AuditEvent.appraisal_id == appraisal_id)
    return f"audit:{db.session.scalar(query)}"


def inbox_of(username: str, cycle_id: int) -> list[Notification]:
    """The user's notifications about the cycle (the demo's own cycles told people too)."""
    return list(db.session.scalars(select(Notification).join(User, User.id == Notification.user_id)
                                   .where(User.username == username, Notification.cycle_id == cycle_id)
                                   .order_by(Notification.id)))
