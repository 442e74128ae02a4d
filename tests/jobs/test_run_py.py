"""``python run.py``'s job workers: how many it starts, the supervisor that keeps them running (a dead one
started again after a back-off, all stopped with the server, even a killed one), and the embedded
default end to end: a compute started through a served API survives its web server being killed right
after the 202, and the next server shows its result."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.jobs.supervisor import Supervisor, worker_processes
from app.models import Cycle, Job, JobState
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import PASSWORD, ROOT

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_how_many_workers_run_py_starts():
    assert worker_processes({"JIXIAO_JOB_RUNNERS": 2}, {}) == 2
    assert worker_processes({"JIXIAO_JOB_RUNNERS": 0}, {"JIXIAO_JOB_RUNNERS": "0"}) == 0
    # With a broker the workers are services of their own: none, unless asked for.
    broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "JIXIAO_JOB_RUNNERS": 2}
    assert worker_processes(broker, {}) == 0
    assert worker_processes(broker, {"JIXIAO_JOB_RUNNERS": "2"}) == 2


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition, timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


def test_a_dead_worker_is_started_again_after_a_growing_back_off_and_stop_ends_them_all():
    clock = Clock()
    supervisor = Supervisor(2, SLEEPER, clock=clock, backoff=1, max_backoff=4, healthy_after=60, grace=5)
    supervisor.start()
    try:
        first, second = supervisor.pids()
        for attempt, delay in enumerate([1, 2, 4, 4]):
            victim = supervisor.children[0].process
            victim.kill()
            victim.wait()
            supervisor.check()
            assert supervisor.children[0].process is None, f"restarted at once (attempt {attempt})"
            assert supervisor.children[0].due == clock.now + delay
            clock.now += delay
            supervisor.check()
            assert supervisor.children[0].process is not None
            assert supervisor.children[0].process.pid not in (first, second)
        assert supervisor.restarts == 4 and supervisor.children[1].process.pid == second
        # A worker that ran long enough before it died starts again after the first delay.
        clock.now += 120
        supervisor.children[0].process.kill()
        supervisor.children[0].process.wait()
        supervisor.check()
        assert supervisor.children[0].due == clock.now + 1
        processes = [c.process for c in supervisor.children if c.process is not None]
    finally:
        supervisor.stop()
    assert all(p.poll() is not None for p in processes)
    assert supervisor.pids() == []


def test_stop_kills_a_worker_that_ignores_sigterm():
    stubborn = [sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"]
    supervisor = Supervisor(1, stubborn, grace=1)
    supervisor.start()
    time.sleep(1)  # let it ignore SIGTERM before it is sent
    process = supervisor.children[0].process
    started = time.monotonic()
    supervisor.stop()
    assert process.returncode == -signal.SIGKILL and time.monotonic() - started < 10


# -- python run.py, served --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Server:
    """``python run.py`` on the test's database, one web worker, fast job timings."""

    def __init__(self, database_url: str, job_dir: str, log: Path, **settings: str) -> None:
        self.port, self.log = free_port(), log
        inherited = {k: v for k, v in os.environ.items()
                     if k not in ("CELERY_BROKER_URL", "JIXIAO_JOB_RUNNER")}
        env = {**inherited, "DATABASE_URL": database_url, "JIXIAO_JOB_DIR": job_dir, "PORT": str(self.port),
               "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "JIXIAO_DEMO_PASSWORD": PASSWORD,
               "JIXIAO_JOB_POLL_SECONDS": "0.1", "JIXIAO_JOB_TICK_SECONDS": "0.5",
               "JIXIAO_JOB_HEARTBEAT_SECONDS": "0.5", "JIXIAO_JOB_STALE_SECONDS": "3", **settings}
        with open(log, "w") as out:
            self.process = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None):
        request = urllib.request.Request(self.url(path), method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")

    def wait_ready(self, workers: int, timeout: float = 90) -> None:
        """Serving, and its job workers ready on the table queue."""
        def ready() -> bool:
            assert self.process.poll() is None, self.log.read_text()
            return self.log.read_text().count("ready (database queue)") >= workers and self.serving()
        wait_for(ready, timeout, f"server with {workers} job workers\n{self.log.read_text()}")

    def serving(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/health"), timeout=5):
                return True
        except OSError as exc:
            return getattr(exc, "code", None) is not None  # any HTTP answer: it serves

    def token(self, username: str) -> str:
        status, body = self.call("POST", "/api/v1/security/login",
                                 body={"username": username, "password": PASSWORD, "provider": "db"})
        assert status == 200
        return body["access_token"]

    def processes(self) -> list[int]:
        """The master, its web workers, the supervisor and the job workers."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children(pid)
        return found

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text()


def totals(cycle_id: int) -> dict[int, tuple]:
    from app.models import Appraisal

    db.session.expire_all()
    rows = db.session.execute(select(Appraisal.employee_id, Appraisal.total, Appraisal.grade).where(
        Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))).all()
    return {employee: (total, grade) for employee, total, grade in rows}


def test_a_compute_survives_its_web_server_killed_after_the_202(jobctx, database_url, tmp_path):
    """The embedded default (no broker): run.py's own job workers run the compute; the server is killed
    with SIGKILL right after answering 202, its supervisor stops its workers (the job given back or never
    started), and the next server's workers finish it; that server shows the result."""
    cycle = db.session.scalar(select(Cycle).order_by(Cycle.id))
    reference = create_cycle(db.session, "reference", cycle.start, cycle.end, [])
    compute_cycle(db.session, reference)
    expected = sorted(totals(reference.id).values())
    fresh = create_cycle(db.session, "after a kill", cycle.start, cycle.end, [])
    db.session.commit()
    job_dir = jobctx.config["JIXIAO_JOB_DIR"]

    first = Server(database_url, job_dir, tmp_path / "first.log", JIXIAO_JOB_RUNNERS="1")
    try:
        first.wait_ready(workers=1)
        everyone = first.processes()
        assert len(everyone) == 4, first.log.read_text()  # master, web worker, supervisor, job worker
        status, body = first.call("POST", f"/api/v1/cycle/{fresh.id}/compute", first.token("hr"))
        assert status == 202
        # The web server dies: its master and web worker (gunicorn's leaves the socket only at its next
        # timeout); the supervisor and its job worker are left to notice.
        web = [pid for pid in children(first.process.pid) if not children(pid)]
        for pid in [first.process.pid, *web]:
            os.kill(pid, signal.SIGKILL)
        first.process.wait()
        job_id = body["job_id"]
        # Nothing of the first server is left running: its job worker stops without it.
        wait_for(lambda: not any(alive(pid) for pid in everyone), 30,
                 f"the first server's processes gone\n{first.log.read_text()}")
    finally:
        first.stop()
    log = first.log.read_text()
    assert "job workers stopped (the server is gone)" in log, log

    second = Server(database_url, job_dir, tmp_path / "second.log", JIXIAO_JOB_RUNNERS="1")
    try:
        second.wait_ready(workers=1)
        token = second.token("hr")
        deadline = time.monotonic() + 60
        while (shown := second.call("GET", f"/api/v1/job/{job_id}", token)[1])["state"] != "done":
            assert shown["state"] != "failed" and time.monotonic() < deadline, (shown, second.log.read_text())
            time.sleep(0.2)
        assert shown["progress"] is not None
    finally:
        text = second.stop()
    assert "job workers stopped (SIGTERM)" in text, text
    job = db.session.get(Job, job_id)
    assert job.state == JobState.DONE
    assert sorted(totals(fresh.id).values()) == expected


def test_ctrl_c_stops_the_server_and_its_job_workers(jobctx, database_url, tmp_path):
    """SIGINT (a terminal's Ctrl-C) reaches gunicorn's master only: the job workers stop through it
    (SIGTERM from the supervisor), all of them before the server's process ends."""
    server = Server(database_url, jobctx.config["JIXIAO_JOB_DIR"], tmp_path / "server.log",
                    JIXIAO_JOB_RUNNERS="2")
    try:
        server.wait_ready(workers=2)
        everyone = server.processes()
        assert len(everyone) == 5, server.log.read_text()
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=60) == 0, server.log.read_text()
        assert not any(alive(pid) for pid in everyone), server.log.read_text()
    finally:
        text = server.stop()
    assert text.count("job worker") >= 4 and "job workers stopped (SIGTERM)" in text, text
