"""Fixtures for cycles and the workflow: a fresh computed cycle over the demo period, people, moves."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import delete

from app.extensions import db
from app.jobs import job_dict
from app.models import UNFINISHED, Job, JobState, Substitute
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


def whatif_page(client, version: int, cycle: str, timeout: float = 60) -> str:
    """The rules editor's what-if of ``cycle`` with ``version`` as a signed-in ``client`` (a browser-like
    test client) gets it: the form starts the job, the page is shown again once the job has ended."""
    form = client.get(f"/rules/whatif?version={version}&cycle={cycle}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', form)
    started = client.post("/rules/whatif", data={"csrf_token": token.group(1), "version": version,
                                                  "cycle": cycle})
    assert started.status_code == 302, started.get_data(as_text=True)[:2000]
    page = started.headers["Location"]
    job = re.search(r"[?&]job=(\d+)", page)
    deadline = time.monotonic() + timeout
    while job is not None and client.get(f"/api/v1/job/{job.group(1)}").json["state"] in UNFINISHED:
        assert time.monotonic() < deadline, f"the what-if's job {job.group(1)} never ended"
        time.sleep(0.1)
    return client.get(page).get_data(as_text=True)


@pytest.fixture
def fresh(app):
    """A new cycle over the demo period, computed (every appraisal a draft); yields its id.
    No app context stays pushed (see tests/conftest.py), so tests open their own. The demo's substitute
    (sup2 for sup1) is removed: here sup2 is a stranger to S01, and the delegation tests name their own."""
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
