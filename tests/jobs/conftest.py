"""Fixtures for the job layer: an app whose jobs folder is the test's own, with fast timings and no
runner thread unless a test starts one (``drain`` runs the table queue by hand)."""

from __future__ import annotations

import threading

import pytest

from app.extensions import db
from app.jobs.embedded import run_embedded
from tests.factories import make_app

FAST = {
    "JIXIAO_JOB_RUNNER": "none",
    "JIXIAO_JOB_STALE_SECONDS": 3,
    "JIXIAO_JOB_HEARTBEAT_SECONDS": 0.2,
    "JIXIAO_JOB_TICK_SECONDS": 0,
    "JIXIAO_JOB_POLL_SECONDS": 0.05,
}


@pytest.fixture
def jobs_app(database_url, tmp_path):
    application = make_app(database_url, JIXIAO_JOB_DIR=str(tmp_path / "jobs"), **FAST)
    yield application
    assert application.extensions["jixiao_jobs"].stop(timeout=30)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def jobctx(jobs_app):
    with jobs_app.app_context():
        yield jobs_app
        db.session.remove()


def drain(app) -> None:
    """Run every message visible now, in this thread."""
    run_embedded(app, threading.Event(), drain=True)


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway Redis for this test session (this xdist worker), stopped at its end."""
    from tests.redisserver import RedisServer  # late: only the broker tests start one

    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The URL of an empty Redis (the session's, flushed for this test)."""
    redis_server.flush()
    return redis_server.url()
