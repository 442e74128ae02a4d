"""The inbox decides rows that read alike once: its items and counts are those of every row decided on
its own."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services import inbox as inbox_service
from app.services.inbox import inbox, tally
from tests.factories import Moves, caller


@pytest.mark.parametrize("username", ["hr", "sup1", "sup2"])
def test_rows_decided_once_per_kind_are_decided_as_one_by_one(app, fresh, monkeypatch, username):
    with app.app_context():
        moves = Moves(app, fresh)
        for no in ("EMP1", "EMP2", "EMP3"):
            moves.to_pending_review(no)
        person = caller(app, username)
        shared = [(i.id, [t.action for t in i.actions], i.acting_for) for i in inbox(db.session, person)]
        counts = tally(db.session, person)
        monkeypatch.setattr(inbox_service, "decision_key", lambda *_: None)
        alone = [(i.id, [t.action for t in i.actions], i.acting_for) for i in inbox(db.session, person)]
        assert shared == alone
        assert counts == tally(db.session, person)
