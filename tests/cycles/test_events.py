"""The services tell the registered listeners what happened, inside their own transaction: one event per
transition and publication, keyed by its audit event or cycle; a listener that raises undoes the step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services import events
from app.services.transitions import transition
from tests.factories import appraisal_ids, caller, current


@pytest.fixture
def heard():
    seen: list[events.Event] = []

    def listener(session, event):
        # Inside the caller's transaction: the audit event the key names is already there.
        kind, _, ident = event.key.partition(":")
        if kind == "audit":
            assert session.get(AuditEvent, int(ident)) is not None
        seen.append(event)

    events.register_listener(listener)
    events.register_listener(listener)  # twice: still called once
    yield seen
    events.unregister_listener(listener)


def post(api, pk, action, comment=None):
    return api.post(f"/api/v1/appraisal/{pk}/transition", json={"action": action, "comment": comment})


def test_a_transition_and_a_publication_each_emit_one_event(app, api_as, fresh, heard):
    with app.app_context():
        pk = appraisal_ids(fresh)["EMP1"]
    hr = api_as("hr")
    assert post(hr, pk, "submit").json == {"state": "pending_review"}
    (event,) = heard
    with app.app_context():
        last = db.session.scalar(select(AuditEvent).where(AuditEvent.appraisal_id == pk)
                                 .order_by(AuditEvent.id.desc()).limit(1))
        user_id = last.user_id
        assert event == events.Event(events.TRANSITION, key=f"audit:{last.id}", appraisal_ids=(pk,),
                                     cycle_id=fresh, action="submit", source="draft",
                                     target="pending_review", actor_user_id=user_id)
    assert post(hr, pk, "submit").status_code == 409  # refused: nothing emitted
    assert len(heard) == 1

    hr.post(f"/api/v1/cycle/{fresh}/publish")
    assert heard[-1].kind == events.PUBLISH and heard[-1].key == f"publish:{fresh}"
    assert heard[-1].cycle_id == fresh and heard[-1].actor_user_id == user_id


def test_a_listener_that_raises_rolls_the_transition_back(app, api_as, fresh):
    def broken(session, event):
        raise RuntimeError("listener failed")

    with app.app_context():
        pk = appraisal_ids(fresh)["EMP1"]
        before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        db.session.remove()
    events.register_listener(broken)
    try:
        with app.app_context(), pytest.raises(RuntimeError):
            transition(db.session, pk, caller(app, "hr"), "submit")
    finally:
        events.unregister_listener(broken)
    with app.app_context():
        assert current(fresh, "EMP1").state.value == "draft"
        assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == before


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        events.emit(None, events.Event("nonsense", key="x"))
