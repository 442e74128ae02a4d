"""Jobs through a real Redis and real ``flask --app run worker`` processes, and through the database's table
queue (the embedded default): a worker killed with SIGKILL in the middle of a cycle's compute or of a PDF
export loses nothing (another worker ends the job after the stale time, with the result of an
uninterrupted run, no appraisal twice, the zip whole), and jobs started through a served API survive the
web server being killed right after its 202.

The workers that get killed run the application through :func:`slow_app`, which waits a moment at each
step of a compute and at each PDF of an export, so that a kill lands in the middle of the work.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import dispatch, storage
from app.jobs.compute import start_compute
from app.jobs.export import start_export
from app.models import Appraisal, Cycle, Job, JobKind, JobPart, JobState, WorkOrder
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import ROOT, ApiClient, caller, jwt_token, make_app
from tests.jobs.conftest import FAST
from tests.jobs.test_import_job import big_orders_csv
from tests.jobs.test_run_py import Server, children, wait_for
from tests.jobs.test_runner import DUMP_STACKS, new_job, start_worker, stop_worker, wait_done

# Worker settings of these tests: a vanished worker's job is taken over after 3 s.
QUICK = {"JIXIAO_JOB_TICK_SECONDS": "0.5", "JIXIAO_JOB_STALE_SECONDS": "3",
         "JIXIAO_JOB_HEARTBEAT_SECONDS": "0.5", "JIXIAO_EXPORT_PART_SIZE": "3"}
SLOW_APP = "tests.jobs.test_celery_redis:slow_app"


def slow_app():
    """``flask --app tests.jobs.test_celery_redis:slow_app worker``: the application, whose computes wait
    ``JIXIAO_TEST_STEP_SECONDS`` at each progress report and whose exports at each PDF. While the file
    ``JIXIAO_TEST_HOLD`` exists, an export's part waits after its PDFs, its part unfinished, and says so
    with a file ``<hold>.<pid>``."""
    from app.jobs.export import PartHold  # late: the worker process imports this module for this only
    from app.jobs.runtime import Run  # late: as above
    from run import create_app  # late: as above

    step = float(os.environ.get("JIXIAO_TEST_STEP_SECONDS") or 0)
    hold = Path(os.environ.get("JIXIAO_TEST_HOLD") or os.devnull)

    def slowed(method, held: bool = False):
        def wait_then(self, *args, **kwargs):
            time.sleep(step)
            while held and hold.is_file():
                hold.with_name(f"{hold.name}.{os.getpid()}").touch()
                time.sleep(0.05)
            return method(self, *args, **kwargs)
        return wait_then

    Run.progress, PartHold.check = slowed(Run.progress), slowed(PartHold.check, held=True)
    return create_app()


def start_slow_worker(app, database_url: str, log: Path, step: float) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "JIXIAO_JOB_DIR": app.config["JIXIAO_JOB_DIR"],
           "JIXIAO_JOB_POLL_SECONDS": "0.1", "JIXIAO_TEST_STEP_SECONDS": str(step),
           "JIXIAO_TEST_HOLD": str(log.with_name("hold")), **DUMP_STACKS, **QUICK}
    env.pop("CELERY_BROKER_URL", None)
    if app.config.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = app.config["CELERY_BROKER_URL"]
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", SLOW_APP, "worker", "-l", "INFO"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture(params=["redis", "table"])
def broker_app(request, database_url, tmp_path):
    """The test's own app on the test database: its ``CELERY_BROKER_URL`` the session's Redis (flushed),
    or none (the database's table queue, the embedded default)."""
    settings = {}
    if request.param == "redis":
        settings["CELERY_BROKER_URL"] = request.getfixturevalue("redis_url")
    application = make_app(database_url, JIXIAO_JOB_DIR=str(tmp_path / "jobs"), **FAST, **settings)
    with application.app_context():
        yield application
        db.session.remove()
        assert application.extensions["jixiao_jobs"].stop(timeout=30)
        db.engine.dispose()


class Workers:
    """Worker processes of one test, each with its log; stopped (or killed) at the end."""

    def __init__(self, app, database_url: str, folder: Path) -> None:
        self.app, self.database_url, self.folder = app, database_url, folder
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def start(self, slow: float | None = None) -> subprocess.Popen:
        log = self.folder / f"worker{len(self.processes)}.log"
        if slow is None:
            broker = {"CELERY_BROKER_URL": self.app.config["CELERY_BROKER_URL"]} \
                if self.app.config.get("CELERY_BROKER_URL") else {}
            process = start_worker(self.app, self.database_url, log, **QUICK, **broker)
        else:
            process = start_slow_worker(self.app, self.database_url, log, slow)
        self.processes.append((process, log))
        return process

    def log(self, process: subprocess.Popen) -> str:
        return next(log for p, log in self.processes if p is process).read_text()

    def logs(self) -> str:
        return "\n".join(f"--- worker {p.pid}\n{log.read_text()}" for p, log in self.processes)

    def wait_ready(self) -> None:
        def ready(text: str) -> bool:
            return " ready." in text or "ready (database queue)" in text
        wait_for(lambda: all(ready(log.read_text()) or p.poll() is not None for p, log in self.processes),
                 120, f"workers ready\n{self.logs()}")
        assert all(p.poll() is None for p, _ in self.processes), self.logs()

    def stop(self) -> str:
        try:
            for process, log in self.processes:
                if process.poll() is None:
                    stop_worker(process, log)
        finally:  # a worker that failed to stop leaves none running behind it
            for process, _ in self.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        return self.logs()


@pytest.fixture
def workers(broker_app, database_url, tmp_path):
    group = Workers(broker_app, database_url, tmp_path)
    yield group
    group.stop()


def totals(cycle_id: int) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.execute(select(Appraisal.employee_id, Appraisal.total, Appraisal.grade).where(
        Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))).all()
    db.session.rollback()
    return sorted(rows)


def appraisal_counts(cycle_id: int) -> tuple[int, int]:
    """Appraisals of the cycle, and distinct employees among them."""
    row = db.session.execute(select(func.count(), func.count(func.distinct(Appraisal.employee_id)))
                             .where(Appraisal.cycle_id == cycle_id)).one()
    db.session.rollback()
    return tuple(row)


def finished(text: str, task: str) -> int:
    """How many ``task`` messages a Celery worker's log says it ended."""
    return sum(1 for line in text.splitlines() if f"Task {task}[" in line and " succeeded in " in line)


def holder(claims, workers: Workers) -> subprocess.Popen | None:
    """The live worker whose process id leads one of the claims (a claim's token starts with it)."""
    pids = {int(claim.split("-")[0]) for claim in claims if claim}
    return next((p for p, _ in workers.processes if p.pid in pids and p.poll() is None), None)


def holder_of(job_id: int, workers: Workers) -> subprocess.Popen | None:
    """The worker holding the job now, by its claim."""
    claim = db.session.scalar(select(Job.claim).where(Job.id == job_id))
    db.session.rollback()
    return holder([claim], workers)


def first_of(find, timeout: float, workers: Workers):
    """The first thing ``find()`` returns that is not None, looking every 50 ms."""
    deadline = time.monotonic() + timeout
    while (found := find()) is None:
        assert time.monotonic() < deadline, f"nothing found in {timeout} s\n{workers.logs()}"
        time.sleep(0.05)
    return found


def kill(process: subprocess.Popen) -> None:
    for pid in children(process.pid):  # a scoring pool's processes, should there be any
        os.kill(pid, signal.SIGKILL)
    process.kill()
    process.wait()


def job_row(job_id: int) -> Job:
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    db.session.rollback()
    return job


def test_a_worker_killed_mid_compute_loses_nothing(broker_app, workers):
    """Two workers (Redis, or the table queue); the one computing is killed with SIGKILL while it scores;
    the other takes the job over after the stale time and ends it with the uninterrupted result, each
    employee appraised once."""
    demo = db.session.scalar(select(Cycle).order_by(Cycle.id))
    reference = create_cycle(db.session, "uninterrupted", demo.start, demo.end, [])
    compute_cycle(db.session, reference)
    expected = totals(reference.id)
    cycle = create_cycle(db.session, "killed mid-way", demo.start, demo.end, [])
    db.session.commit()
    workers.start(slow=0.25)
    workers.start(slow=0.25)
    workers.wait_ready()

    job_id = start_compute(db.session, cycle, caller(broker_app, "hr")).id
    task = "jixiao.compute_cycle"
    def scoring() -> bool:
        job = job_row(job_id)
        return job.stage == "score" and (job.progress_done or 0) > 0

    victim = first_of(lambda: holder_of(job_id, workers) if scoring() else None, 60, workers)
    running = job_row(job_id)
    assert running.state == JobState.RUNNING and running.stage == "score", workers.logs()
    if broker_app.config.get("CELERY_BROKER_URL"):  # acknowledged late: held, unacknowledged, while it runs
        held = redis.Redis.from_url(broker_app.config["CELERY_BROKER_URL"]).hvals("unacked")
        assert [m for m in held if task.encode() in m], held
    kill(victim)

    job = wait_done(job_id, timeout=60)
    assert job.state == JobState.DONE, (job.message_en, workers.logs())
    assert job.attempts == 2, workers.logs()  # the killed delivery, then the one that ended it
    assert totals(cycle.id) == expected
    people = len(expected)
    assert appraisal_counts(cycle.id) == (people, people)
    survivor = next(p for p, _ in workers.processes if p is not victim)
    if broker_app.config.get("CELERY_BROKER_URL"):  # its task returns just after the job's commit
        wait_for(lambda: finished(workers.log(survivor), task) >= 1, 30, f"the task's end\n{workers.logs()}")


@pytest.mark.parametrize("broker_app", ["redis"], indirect=True)
def test_the_ticker_reads_how_many_messages_wait_in_redis(broker_app):
    """Redis keeps no key for an empty queue; two messages sent and not taken wait there."""
    assert dispatch.waiting_messages() == 0
    dispatch.send_group("jixiao.export_part", [(0, 1), (0, 2)])
    assert dispatch.waiting_messages() == 2


@pytest.mark.parametrize("broker_app", ["redis"], indirect=True)
def test_a_worker_killed_mid_export_leaves_a_whole_zip(broker_app, workers, tmp_path):
    """Two workers render the parts of a cycle's PDF export (three PDFs a part); once a part is done, one
    is held inside its next part (rendered, not finished) and killed there with SIGKILL; the other renders
    that part again and the zip is whole, one entry per appraisal."""
    cycle = db.session.scalar(select(Cycle).order_by(Cycle.id))
    appraisals = db.session.scalar(select(func.count()).select_from(Appraisal).where(
        Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True)))
    workers.start(slow=0.4)
    workers.start(slow=0.4)
    workers.wait_ready()

    job_id = start_export(db.session, cycle, caller(broker_app, "hr"), "en").id

    def parts_done() -> int | None:
        done = db.session.scalar(select(func.count()).select_from(JobPart).where(
            JobPart.job_id == job_id, JobPart.state == "done"))
        db.session.rollback()
        return done or None

    def held() -> subprocess.Popen | None:
        """A worker waiting at the hold inside a part it has claimed (rendered, not finished)."""
        waiting = {int(path.suffix[1:]) for path in tmp_path.glob("hold.*")}
        return next((p for p, _ in workers.processes if p.pid in waiting and p.poll() is None), None)

    first_of(parts_done, 60, workers)  # the kill lands mid-export: a first part is done
    hold = tmp_path / "hold"
    hold.touch()
    victim = first_of(held, 60, workers)
    claims = db.session.scalars(select(JobPart.claim).where(
        JobPart.job_id == job_id, JobPart.state == "running")).all()
    db.session.rollback()
    assert victim.pid in {int(claim.split("-")[0]) for claim in claims}, (victim.pid, claims)
    kill(victim)
    hold.unlink()

    try:
        job = wait_done(job_id, timeout=60)
    except AssertionError as late:
        parts = db.session.execute(select(JobPart.number, JobPart.state, JobPart.attempts)
                                   .where(JobPart.job_id == job_id).order_by(JobPart.number)).all()
        raise AssertionError(f"{late}\nparts {parts}\n{workers.logs()}") from None
    assert job.state == JobState.DONE, (job.message_en, workers.logs())
    path = storage.absolute(job.result_path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert len(names) == len(set(names)) == appraisals == job.result["pdfs"]
        assert all(archive.read(name).startswith(b"%PDF") for name in names)
    attempts = db.session.scalars(select(JobPart.attempts).where(JobPart.job_id == job_id)).all()
    assert max(attempts) >= 2, (attempts, workers.logs())  # the killed part was rendered again
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize("broker_app", ["redis"], indirect=True)
def test_jobs_started_through_the_api_survive_the_web_server_killed_after_the_202(
        broker_app, workers, database_url, tmp_path, redis_url):
    """``python run.py`` with a broker (it starts no workers: two run apart, on Redis); HR starts a compute
    and a PDF export through its API, and the server is killed with SIGKILL right after the two 202s.
    The workers end both jobs (and a few cleanups queued meanwhile), a new web server shows the results
    and serves the zip, and a large import it receives is imported by the workers; every message is
    acknowledged."""
    demo = db.session.scalar(select(Cycle).order_by(Cycle.id))
    reference = create_cycle(db.session, "reference", demo.start, demo.end, [])
    compute_cycle(db.session, reference)
    expected = totals(reference.id)
    cycle = create_cycle(db.session, "served", demo.start, demo.end, [])
    db.session.commit()
    server = Server(database_url, broker_app.config["JIXIAO_JOB_DIR"], tmp_path / "server.log",
                    CELERY_BROKER_URL=redis_url)
    workers.start()
    workers.start()
    try:
        wait_for(server.serving, 90, f"the server\n{server.log.read_text()}")
        assert len(server.processes()) == 2, server.log.read_text()  # master and web worker: no job workers
        token = server.token("hr")
        status, compute = server.call("POST", f"/api/v1/cycle/{cycle.id}/compute", token)
        assert status == 202
        status, export = server.call("POST", f"/api/v1/cycle/{demo.id}/pdfs", token)
        assert status == 202
        for pid in [server.process.pid, *children(server.process.pid)]:
            os.kill(pid, signal.SIGKILL)
        server.process.wait()
    finally:
        server.stop()
    cleanups = []
    for n in range(3):
        cleanups.append(new_job(dedupe_key=f"cleanup:test-{n}"))
        dispatch.send_job(cleanups[-1])

    for job_id in [compute["job_id"], export["job_id"], *cleanups]:
        job = wait_done(job_id, timeout=90)
        assert job.state == JobState.DONE, (job.kind, job.message_en, workers.logs())
    assert totals(cycle.id) == expected

    client = broker_app.test_client()  # the new web server
    api = ApiClient(client, jwt_token(client, "hr"))
    shown = api.get(f"/api/v1/job/{compute['job_id']}").json
    assert shown["state"] == "done" and shown["message"]
    shown = api.get(f"/api/v1/job/{export['job_id']}").json
    assert shown["state"] == "done" and shown["result_url"]
    download = api.get(shown["result_url"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        assert archive.testzip() is None and archive.namelist()

    # A large import through the new web server is a job of the workers too.
    broker_app.config["JIXIAO_IMPORT_BACKGROUND_MB"] = 0.0001
    before = db.session.scalar(select(func.count()).select_from(WorkOrder))
    db.session.rollback()
    text = big_orders_csv(broker_app, 20_000)
    answer = api.post("/api/v1/import/work-orders", data={"file": (io.BytesIO(text.encode()), "big.csv")},
                      content_type="multipart/form-data")
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job = wait_done(answer.json["job_id"], timeout=90)
    assert job.state == JobState.DONE, (job.message_en, workers.logs())
    assert job.result == {"kind": "work-orders", "inserted": 20_000, "updated": 0}
    assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == before + 20_000

    acknowledged = redis.Redis.from_url(redis_url)
    wait_for(lambda: acknowledged.hlen("unacked") == 0, 10, "every message acknowledged")
    assert acknowledged.llen(broker_app.config["JIXIAO_JOB_QUEUE"]) == 0
    text = workers.stop()
    assert text.count("jixiao.cleanup[") >= 3 and "jixiao.compute_cycle[" in text
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == JobKind.CLEANUP)) >= 3
