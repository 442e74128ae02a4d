"""The ids a compute gives its new appraisals: on SQLite numbered by the compute itself (one more than the
largest id, as SQLite would), nothing read back; on PostgreSQL from the sequence, read back. Either way the
(id, hash) pairs it returns, and so its audit events, are exactly the stored rows."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

import app.services.compute as compute
from app.extensions import db
from app.models import Appraisal, AuditEvent, Cycle
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import demo_period


@pytest.fixture
def returned(monkeypatch):
    """What every insert_appraisals call returns, in order: lists of (id, hash)."""
    seen: list[list[tuple[int, str]]] = []
    original = compute.insert_appraisals

    def spy(*args, **kwargs):
        pairs = original(*args, **kwargs)
        seen.append(pairs)
        return pairs

    monkeypatch.setattr(compute, "insert_appraisals", spy)
    return seen


def stored(cycle_id: int) -> dict[int, str]:
    return dict(db.session.execute(select(Appraisal.id, Appraisal.snapshot_hash)
                                   .where(Appraisal.cycle_id == cycle_id)).all())


def compute_events(ids) -> dict[int, list[str]]:
    """appraisal id → the snapshot hashes of its compute events."""
    out: dict[int, list[str]] = {}
    for ident, digest in db.session.execute(select(AuditEvent.appraisal_id, AuditEvent.snapshot_hash)
                                            .where(AuditEvent.appraisal_id.in_(list(ids)),
                                                   AuditEvent.action == "compute")):
        out.setdefault(ident, []).append(digest)
    return out


def sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def test_the_ids_and_hashes_a_compute_returns_are_its_stored_rows_and_its_audit_events(app, returned):
    with app.app_context():
        before = db.session.scalar(select(func.max(Appraisal.id))) or 0
        start, end = demo_period()
        cycle = create_cycle(db.session, "编号", start, end)
        result = compute_cycle(db.session, cycle)
        (pairs,) = returned
        rows = stored(cycle.id)
        assert result.created == len(pairs) == len(rows) >= 10
        assert dict(pairs) == rows  # every new row once, with its own hash
        assert compute_events(rows) == {ident: [digest] for ident, digest in rows.items()}
        if sqlite():  # numbered in the rows' order from one more than the largest id, as SQLite would
            assert [ident for ident, _ in pairs] == list(range(before + 1, before + 1 + len(pairs)))


def test_after_the_newest_appraisals_are_gone_the_events_name_the_new_rows(app, fresh, returned):
    """Appraisals are never deleted by the application; were the newest rows removed by hand (with their
    audit trail), SQLite would give their ids again, and so does the compute: its events still name exactly
    its own rows, and nothing of the removed rows is left to name them."""
    with app.app_context():
        newest = db.session.scalars(select(Appraisal.id).where(Appraisal.cycle_id == fresh)
                                    .order_by(Appraisal.id.desc()).limit(3)).all()
        db.session.execute(delete(AuditEvent).where(AuditEvent.appraisal_id.in_(newest)))
        db.session.execute(delete(Appraisal).where(Appraisal.id.in_(newest)))
        db.session.commit()
        left = db.session.scalar(select(func.max(Appraisal.id)))
        kept = stored(fresh)

        result = compute_cycle(db.session, db.session.get(Cycle, fresh))  # the three employees again
        (pairs,) = returned
        rows = stored(fresh)
        new = {ident: digest for ident, digest in rows.items() if ident not in kept}
        assert result.created == len(pairs) == len(new) == 3
        assert dict(pairs) == new
        assert compute_events(new) == {ident: [digest] for ident, digest in new.items()}
        if sqlite():
            assert sorted(new) == sorted(newest) == [left + 1, left + 2, left + 3]  # the ids given again

        start, end = demo_period()  # and another cycle after them: its rows follow on
        other = create_cycle(db.session, "其后", start, end)
        compute_cycle(db.session, other)
        pairs = returned[-1]
        rows = stored(other.id)
        assert dict(pairs) == rows and len(rows) >= 10
        assert compute_events(rows) == {ident: [digest] for ident, digest in rows.items()}
        if sqlite():
            assert min(rows) == max(new) + 1
