"""The table queue end to end: the serving process's runner thread, the `worker` command, the periodic
cleanup, and files written whole or not at all."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs import dispatch, storage
from app.jobs.cli import StopFlag, signal_handlers
from app.jobs.embedded import claim_message, execute
from app.jobs.runtime import Stopping, claimed, now
from app.models import Job, JobKind, JobMessage, JobPart, JobState
from tests.factories import ROOT
from tests.jobs.conftest import drain


def new_job(**values) -> int:
    job = Job(kind=values.pop("kind", JobKind.CLEANUP), state=values.pop("state", JobState.QUEUED),
              params=values.pop("params", {}), **values)
    db.session.add(job)
    db.session.commit()
    return job.id


def state_of(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def wait_done(job_id: int, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = state_of(job_id)
        db.session.rollback()
        if job.state in (JobState.DONE, JobState.FAILED):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.state} after {timeout} s")


def test_the_runner_thread_starts_on_the_first_message_and_runs_the_job(jobctx):
    jobctx.config["JIXIAO_JOB_RUNNER"] = "thread"
    jobs = jobctx.extensions["jixiao_jobs"]
    assert jobs.runner is None
    job_id = new_job()
    assert dispatch.send_job(job_id)
    assert jobs.runner is not None
    job = wait_done(job_id)
    assert job.state == JobState.DONE and job.result == {"files": 0, "jobs": 0} and job.message_en
    assert jobs.stop(timeout=30) and jobs.runner is None


def test_no_runner_thread_when_the_runner_is_elsewhere(jobctx):
    jobctx.config["JIXIAO_JOB_RUNNER"] = "process"
    dispatch.send_job(new_job())
    assert jobctx.extensions["jixiao_jobs"].runner is None


def test_a_stopping_worker_gives_its_job_back(jobctx):
    job_id = new_job()
    with pytest.raises(Stopping), claimed(job_id):
        raise Stopping("SIGTERM")
    job = state_of(job_id)
    assert (job.state, job.claim, job.attempts) == (JobState.RETRYING, None, 1)


def test_a_runner_told_to_stop_after_taking_a_message_gives_it_back_unstarted(jobctx):
    """A stop signal between taking a message and starting its task (nothing to interrupt yet) must not
    let the task run to its end: the message is given back and the job is not started."""
    job_id = new_job()
    dispatch.send_job(job_id)
    message = claim_message(db.engine, "me", 60)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopping):
        execute(jobctx, message, stop)
    job = state_of(job_id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)
    waiting = db.session.scalars(select(JobMessage)).all()
    assert [(m.id, m.claimed_at) for m in waiting] == [(message.id, None)]
    assert not jobctx.extensions["jixiao_jobs"].busy.is_set()
    drain(jobctx)  # taken again, and run
    assert state_of(job_id).state == JobState.DONE


def test_the_stop_signal_handlers_take_no_lock_the_interrupted_code_may_hold():
    """A signal handler runs on the main thread between two bytecodes, e.g. while it holds the lock of the
    runner's wake-up Event (inside its wait or clear, ten times a second when idle). A handler that took
    that lock again (``wakeup.set()``) waited for ever: the worker never stopped on SIGTERM."""
    jobs = SimpleNamespace(wakeup=threading.Event(), busy=threading.Event())
    stop = StopFlag()
    now_, after_this_job = signal_handlers(jobs, stop, within=0)
    outcome = []

    def interrupted() -> None:  # what the main thread does when the signal lands
        with jobs.wakeup._cond, jobs.busy._cond:
            after_this_job(signal.SIGHUP, None)
            now_(signal.SIGTERM, None)
            jobs.busy._flag = True
            try:
                now_(signal.SIGTERM, None)
            except Stopping as reason:
                outcome.append(str(reason))

    thread = threading.Thread(target=interrupted, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "a handler waited for a lock its own thread holds"
    assert stop.is_set() and outcome == ["SIGTERM"]


def test_a_worker_stuck_after_being_told_to_stop_ends_with_its_stacks_logged():
    """Whatever holds the worker's main thread (native code, where no signal reaches Python), it ends
    within its stop time, its threads' stacks written first."""
    code = ("import threading, time\n"
            "from app.jobs.cli import stop_within\n"
            "stop_within(0.5)\n"
            "threading.Event().wait(60)\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 50
    assert "Timeout (0:00:00.500000)!" in done.stderr
    assert 'File "<string>", line 4' in done.stderr  # the main thread's stack, where it waited


def age(path, days: float) -> None:
    moment = time.time() - days * 86400
    os.utime(path, (moment, moment))


def test_cleanup_removes_expired_results_and_old_jobs_and_keeps_the_rest(jobctx):
    at = now()
    expired_file = storage.result_path(101, ".zip")
    live_file = storage.result_path(102, ".zip")
    for path in (expired_file, live_file):
        path.write_bytes(b"zip")
    expired = new_job(kind=JobKind.EXPORT, state=JobState.DONE, result_path=storage.relative(expired_file),
                      expires_at=at - dt.timedelta(hours=1), finished_at=at - dt.timedelta(days=3))
    live = new_job(kind=JobKind.EXPORT, state=JobState.DONE, result_path=storage.relative(live_file),
                   expires_at=at + dt.timedelta(hours=1), finished_at=at)
    ancient = new_job(kind=JobKind.COMPUTE, state=JobState.DONE, finished_at=at - dt.timedelta(days=100))
    db.session.add(JobPart(job_id=ancient, number=0, appraisal_ids=[]))
    db.session.commit()
    running_upload = storage.upload_path("running", ".csv")
    stray_upload = storage.upload_path("stray", ".csv")
    for path in (running_upload, stray_upload):
        path.write_text("a,b\n")
        age(path, 10)
    importing = new_job(kind=JobKind.IMPORT, state=JobState.RUNNING, claim="t", heartbeat_at=at,
                        params={"upload": storage.relative(running_upload)})
    finished_part = storage.part_path(expired, 0)
    active_part = storage.part_path(importing, 0)
    for path in (finished_part, active_part):
        path.write_bytes(b"part")
    old_tmp = storage.result_path(103, ".zip.tmp")
    new_tmp = storage.result_path(104, ".zip.tmp")
    for path in (old_tmp, new_tmp):
        path.write_bytes(b"half")
    age(old_tmp, 2)

    cleanup = new_job()
    dispatch.send_job(cleanup)
    drain(jobctx)

    done = state_of(cleanup)
    assert done.state == JobState.DONE, done.message_en
    assert done.result == {"files": 4, "jobs": 1}  # expired result, stray upload, part folder, old tmp
    assert not expired_file.exists() and state_of(expired).result_path is None
    assert live_file.exists() and state_of(live).result_path
    assert state_of(ancient) is None and db.session.scalars(select(JobPart)).all() == []
    assert running_upload.exists() and not stray_upload.exists()
    assert active_part.exists() and not finished_part.parent.exists()
    assert new_tmp.exists() and not old_tmp.exists()

    again = new_job(dedupe_key="cleanup:again")  # a second cleanup finds nothing more to do
    dispatch.send_job(again)
    drain(jobctx)
    assert state_of(again).result == {"files": 0, "jobs": 0}


def test_an_atomic_file_appears_whole_or_not_at_all(jobctx):
    path = storage.result_path(7, ".zip")
    with storage.atomic_file(path) as fh:
        fh.write(b"whole")
    assert path.read_bytes() == b"whole"
    with pytest.raises(RuntimeError), storage.atomic_file(path) as fh:
        fh.write(b"half")
        raise RuntimeError
    assert path.read_bytes() == b"whole"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_stored_paths_stay_inside_the_job_folder(jobctx):
    with pytest.raises(ValueError):
        storage.absolute("../secret_key")
    assert storage.absolute("results/job-1.zip") == storage.result_path(1, ".zip").resolve()


# A worker that does not stop on SIGTERM is sent SIGABRT: with Python's fault handler on (as every worker
# of these tests runs), its threads' stacks go to its log, which the failure shows.
DUMP_STACKS = {"PYTHONFAULTHANDLER": "1"}


def start_worker(jobctx, database_url, log, **settings) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "JIXIAO_JOB_DIR": jobctx.config["JIXIAO_JOB_DIR"],
           "JIXIAO_JOB_POLL_SECONDS": "0.1", "JIXIAO_JOB_TICK_SECONDS": "0",
           "JIXIAO_JOB_HEARTBEAT_SECONDS": "0.5", **DUMP_STACKS, **settings}
    if "CELERY_BROKER_URL" not in settings:
        env.pop("CELERY_BROKER_URL", None)
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker", "-l", "INFO"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen, log, timeout: float = 30) -> str:
    """SIGTERM, and the worker's exit within ``timeout``; else its stacks (SIGABRT) and a failure that
    shows its log."""
    try:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.send_signal(signal.SIGABRT)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            pytest.fail(f"worker {worker.pid} still running {timeout} s after SIGTERM\n{log.read_text()}")
        assert code == 0, log.read_text()
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    return log.read_text()


def wait_acknowledged(timeout: float = 30) -> None:
    """A runner acknowledges a message just after its job is finished: wait for that, not longer."""
    deadline = time.monotonic() + timeout
    while db.session.scalars(select(JobMessage)).all():
        assert time.monotonic() < deadline, "the message was never acknowledged"
        db.session.rollback()
        time.sleep(0.05)


def test_the_worker_command_runs_queued_jobs_and_stops_on_sigterm(jobctx, database_url, tmp_path):
    job_id = new_job()
    dispatch.send_job(job_id)
    log = tmp_path / "worker.log"
    worker = start_worker(jobctx, database_url, log)
    try:
        job = wait_done(job_id)
        assert job.state == JobState.DONE, log.read_text()
        wait_acknowledged()
    finally:
        text = stop_worker(worker, log)
    assert "ready" in text and "stopped" in text


def test_with_a_broker_the_worker_command_is_a_celery_worker_that_ticks(jobctx, database_url, tmp_path):
    """Celery's in-process memory broker: the worker's own ticker opens the periodic cleanup and sends it
    through Celery to the same worker (a real Redis and several workers are tested with the slow tests)."""
    log = tmp_path / "worker.log"
    worker = start_worker(jobctx, database_url, log, CELERY_BROKER_URL="memory://",
                          JIXIAO_JOB_TICK_SECONDS="0.5")
    try:
        deadline = time.monotonic() + 60
        while (job_id := db.session.scalar(select(Job.id).where(Job.kind == JobKind.CLEANUP))) is None:
            assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
            db.session.rollback()
            time.sleep(0.2)
        job = wait_done(job_id)
        assert job.state == JobState.DONE, log.read_text()
        assert db.session.scalars(select(JobMessage)).all() == []
    finally:
        text = stop_worker(worker, log)
    assert "(solo)" in text and "jixiao.cleanup" in text


def test_the_stop_time_comes_from_the_environment(monkeypatch):
    import config

    monkeypatch.delenv("JIXIAO_JOB_STOP_SECONDS", raising=False)
    assert config.load()["JIXIAO_JOB_STOP_SECONDS"] == 15
    monkeypatch.setenv("JIXIAO_JOB_STOP_SECONDS", "4.5")
    assert config.load()["JIXIAO_JOB_STOP_SECONDS"] == 4.5
