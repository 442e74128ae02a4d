"""A compute killed with SIGKILL at any moment leaves no half-written cycle, and a rerun converges to what
an uninterrupted run gives. The compute runs in a subprocess that parks itself at a chosen stage (after the
metrics, halfway through scoring, or with every row written but not committed) and is killed there; so does
a worker running a compute job, whose job the reaper then sends again to another runner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.compute import start_compute
from app.jobs.ticker import tick
from app.models import Appraisal, AuditEvent, Cycle, Job, JobState
from app.services.caller import SYSTEM_CALLER
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.conftest import make_app
from tests.cycles.conftest import Moves, appraisal_ids, demo_period, spoil_first_fix
from tests.jobs.conftest import drain

ROOT = Path(__file__).resolve().parents[2]
NAME = "中断测试"

CHILD = textwrap.dedent("""
    import pathlib, sys, time
    from sqlalchemy import select
    from app import create_app
    from app.extensions import db
    from app.models import Cycle
    from app.services.compute import compute_cycle

    url, name, stop_stage, marker = sys.argv[1:5]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})

    def progress(stage, done, total):
        if stage == stop_stage and (done * 2 >= total if stage == "appraise" else done == total) and done:
            pathlib.Path(marker).write_text(f"{stage} {done}/{total}")
            time.sleep(600)  # parked until killed

    with app.app_context():
        cycle = db.session.scalar(select(Cycle).where(Cycle.name == name))
        compute_cycle(db.session, cycle, progress)
        print("finished without being killed")
""")


def kill_compute_at(url: str, stage: str, tmp_path: Path) -> str:
    marker = tmp_path / f"parked-{stage}"
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, NAME, stage, str(marker)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not marker.exists():
        if child.poll() is not None:
            out, err = child.communicate()
            pytest.fail(f"the compute ended before reaching {stage}: {out}\n{err[-3000:]}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the compute never reached {stage}")
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    assert child.returncode == -signal.SIGKILL
    return marker.read_text()


def hashes(cycle_id: int) -> dict[str, str]:
    db.session.expire_all()
    return {no: db.session.get(Appraisal, pk).snapshot_hash for no, pk in appraisal_ids(cycle_id).items()}


def prepare(app, *, recompute: bool) -> int:
    """The cycle NAME; for a recompute: computed, moved into several states, and the data changed."""
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, NAME, start, end)
        if recompute:
            compute_cycle(db.session, cycle)
            moves = Moves(app, cycle.id)
            moves.to_approved("EMP1")
            moves.to_pending_review("EMP2")
            moves.review("sup1", "EMP2", adjustment=4, reason="表现突出")
            for no in ("EMP1", "EMP2", "EMP3", "EMP7"):
                spoil_first_fix(no)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


def reference(databases, *, recompute: bool) -> dict[str, str]:
    """The hashes an uninterrupted run gives, on a fresh copy of the demo database."""
    url = databases.copy()
    other = make_app(url)
    try:
        cycle_id = prepare(other, recompute=recompute)
        with other.app_context():
            compute_cycle(db.session, db.session.get(Cycle, cycle_id))
            result = hashes(cycle_id)
            db.session.remove()
            db.engine.dispose()
        return result
    finally:
        databases.drop(url)


@pytest.mark.parametrize("stage", ["metrics", "appraise", "write"])
def test_killed_first_compute_leaves_nothing_and_a_rerun_converges(app, database_url, databases, tmp_path,
                                                                    stage):
    cycle_id = prepare(app, recompute=False)
    with app.app_context():
        db.engine.dispose()  # no pooled connection of ours in the child's way
    kill_compute_at(database_url, stage, tmp_path)
    with app.app_context():
        cycle = db.session.get(Cycle, cycle_id)
        assert cycle.status.value == "new" and cycle.computed_at is None
        assert db.session.scalar(select(func.count()).select_from(Appraisal)
                                 .where(Appraisal.cycle_id == cycle_id)) == 0
        result = compute_cycle(db.session, cycle)
        assert result.created == len(appraisal_ids(cycle_id)) > 0
        assert hashes(cycle_id) == reference(databases, recompute=False)
        assert compute_cycle(db.session, db.session.get(Cycle, cycle_id)).changed == []


@pytest.mark.parametrize("stage", ["appraise", "write"])
def test_killed_recompute_changes_nothing_and_a_rerun_converges(app, database_url, databases, tmp_path,
                                                                 stage):
    cycle_id = prepare(app, recompute=True)
    with app.app_context():
        before = hashes(cycle_id)
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.remove()
        db.engine.dispose()
    kill_compute_at(database_url, stage, tmp_path)
    with app.app_context():
        assert hashes(cycle_id) == before
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
        result = compute_cycle(db.session, db.session.get(Cycle, cycle_id))
        assert {c.employee_no for c in result.changed} >= {"EMP2", "EMP3", "EMP7"}
        assert result.locked == 1
        after = hashes(cycle_id)
        assert after["EMP1"] == before["EMP1"]
        assert after == reference(databases, recompute=True)


# A worker (the table queue's runner, in a process of its own) whose compute parks at ``stop_stage``.
WORKER = textwrap.dedent("""
    import pathlib, sys, threading, time
    from app import create_app
    from app.jobs.embedded import run_embedded
    import app.services.compute as compute

    url, stop_stage, marker, job_dir = sys.argv[1:5]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "JIXIAO_JOB_DIR": job_dir,
                      "JIXIAO_JOB_RUNNER": "process", "JIXIAO_JOB_TICK_SECONDS": 0,
                      "JIXIAO_JOB_HEARTBEAT_SECONDS": 0.2})
    real = compute.compute_cycle

    def parked(session, cycle, progress=None, **kwargs):
        def report(stage, done, total):
            progress(stage, done, total)
            if stage == stop_stage and (done * 2 >= total if stage == "appraise" else done == total) and done:
                pathlib.Path(marker).write_text(f"{stage} {done}/{total}")
                time.sleep(600)  # parked, heartbeat beating, until killed
        return real(session, cycle, report, **kwargs)

    compute.compute_cycle = parked
    run_embedded(app, threading.Event(), drain=True)
    print("finished without being killed")
""")
JOB_SETTINGS = {"JIXIAO_JOB_RUNNER": "none", "JIXIAO_JOB_STALE_SECONDS": 2, "JIXIAO_JOB_TICK_SECONDS": 0}


@pytest.mark.parametrize("stage", ["appraise", "write"])
def test_a_worker_killed_during_a_compute_job_loses_nothing_and_the_job_is_done_again(
        database_url, databases, tmp_path, stage):
    app = make_app(database_url, JIXIAO_JOB_DIR=str(tmp_path / "jobs"), **JOB_SETTINGS)
    try:
        cycle_id = prepare(app, recompute=True)
        with app.app_context():
            before = hashes(cycle_id)
            events = db.session.scalar(select(func.count()).select_from(AuditEvent))
            job_id = start_compute(db.session, db.session.get(Cycle, cycle_id), SYSTEM_CALLER).id
            db.session.remove()
            db.engine.dispose()
        marker = tmp_path / "parked"
        child = subprocess.Popen([sys.executable, "-c", WORKER, database_url, stage, str(marker),
                                  str(tmp_path / "jobs")], cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        while not marker.exists():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"the job ended before reaching {stage}: {out}\n{err[-3000:]}")
            assert time.monotonic() < deadline, f"the job never reached {stage}"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        with app.app_context():
            job = db.session.get(Job, job_id)
            assert (job.state, job.attempts) == (JobState.RUNNING, 1)  # its worker is gone
            assert hashes(cycle_id) == before  # nothing of the killed compute was kept
            assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
            db.session.remove()
            time.sleep(JOB_SETTINGS["JIXIAO_JOB_STALE_SECONDS"] + 0.5)
            assert tick()["reaped"] == 1  # the reaper sends it again
            db.session.remove()
            drain(app)  # another runner (this process) takes it
            job = db.session.get(Job, job_id)
            assert (job.state, job.attempts) == (JobState.DONE, 2)
            after = hashes(cycle_id)
            assert after["EMP1"] == before["EMP1"]  # the approved one stays locked
            assert after == reference(databases, recompute=True)
            assert job.result["locked"] == 1 and {c["employee_no"] for c in job.result["changes"]} >= {
                "EMP2", "EMP3", "EMP7"}
            db.session.remove()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
