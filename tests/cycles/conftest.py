"""Fixtures for cycles and the workflow: a fresh computed cycle over the demo period, people, moves."""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.jobs import job_dict
from app.models import Job, JobState
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import (  # noqa: F401 - the names tests have imported from here
    FRESH,
    Moves,
    appraisal_ids,
    current,
    demo_period,
    events,
    spoil_first_fix,
)
from tests.factories import caller as person  # noqa: F401 - the name tests here still use


@pytest.fixture
def app(app):
    """The root ``app``, whose job runner thread (started by a compute) is stopped afterwards."""
    yield app
    assert app.extensions["jixiao_jobs"].stop(timeout=60)


def wait_job(app, job_id: int, timeout: float = 60) -> dict:
    """Wait until the job is done or failed; the job as the API shows it (in English)."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            job = db.session.get(Job, job_id)
            state, shown = job.state, job_dict(job, "en")
            db.session.remove()
            if state in (JobState.DONE, JobState.FAILED):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {state} after {timeout} s")
            time.sleep(0.1)


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
