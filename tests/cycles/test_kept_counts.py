"""The whole cycle's counts kept for HR's cycle page stay true: a write to an appraisal after they were
kept is counted, and a narrower scope is always counted afresh."""

from __future__ import annotations

import datetime as dt

from app import clock
from app.extensions import db
from app.models import Cycle
from app.services import cycles
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle, cycle_counts
from tests.factories import Moves, caller, demo_period


def test_a_write_after_the_counts_were_kept_is_counted(app, monkeypatch):
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, "kept-counts", start, end)
        compute_cycle(db.session, cycle)
        cycle_id = cycle.id
        later = clock.now() + dt.timedelta(days=1)  # every write so far has settled
        db.session.remove()
    monkeypatch.setattr(cycles, "now", lambda: later)
    with app.app_context():
        hr = caller(app, "hr")
        before = cycle_counts(db.session, db.session.get(Cycle, cycle_id), hr.scope)
        assert cycle_counts(db.session, db.session.get(Cycle, cycle_id), hr.scope) == before
        drafts = before.states["draft"]
        db.session.remove()
    with app.app_context():
        Moves(app, cycle_id).to_pending_review("EMP1")
        db.session.remove()
    with app.app_context():
        after = cycle_counts(db.session, db.session.get(Cycle, cycle_id), caller(app, "hr").scope)
        assert after.states["draft"] == drafts - 1
        assert after.states["pending_review"] == before.states.get("pending_review", 0) + 1
        supervisor = caller(app, "sup1")
        mine = cycle_counts(db.session, db.session.get(Cycle, cycle_id), supervisor.scope)
        assert sum(mine.states.values()) < sum(after.states.values())
