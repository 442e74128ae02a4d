"""A job worker told to stop raises its stop exception wherever its main thread is, also inside the
database driver's wait for an answer. SQLAlchemy then invalidates that connection (an exit exception),
and the compute's rollback must go through, so that the stop, not a rollback error, is what the job's
runner sees (the job given back, never marked failed)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.jobs.runtime import Stopping
from app.models import Employee


def test_a_stop_raised_inside_a_statement_leaves_a_rollback_that_works(appctx):
    def interrupt(*_args):
        raise Stopping("SIGTERM")

    engine = db.engine
    db.session.scalar(select(Employee.id).limit(1))  # a transaction is open
    event.listen(engine, "before_cursor_execute", interrupt)
    try:
        with pytest.raises(Stopping):
            db.session.scalar(select(Employee.id).limit(1))
    finally:
        event.remove(engine, "before_cursor_execute", interrupt)
    db.session.rollback()  # raised PendingRollbackError from a rollback listener
    assert db.session.scalar(select(Employee.id).limit(1)) is not None
