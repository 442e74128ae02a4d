"""The job workers ``python run.py`` starts itself: N ``flask --app run worker`` processes next to gunicorn.

Without ``CELERY_BROKER_URL`` the jobs go through the database's table queue; the web workers only queue
them (``JIXIAO_JOB_RUNNER=process``) and these worker processes run them, so a compute or a PDF export
never runs inside a web worker and survives a web worker's restart. A small supervisor process, forked
from gunicorn's master before it starts listening, keeps the workers running: it restarts one that died
(after 1 s, doubling up to a minute while it keeps dying), stops them all on SIGTERM (SIGTERM each, then
SIGKILL after a grace time) and stops them too when gunicorn's master is gone, even killed.

Only the standard library here: the forked supervisor runs no application code.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
WORKER_COMMAND = (sys.executable, "-m", "flask", "--app", "run", "worker")


def worker_processes(config: Mapping, environ: Mapping[str, str]) -> int:
    """How many job workers ``python run.py`` starts: ``JIXIAO_JOB_RUNNERS`` without a broker (default
    min(2, cores)); with a broker none (workers are services of their own) unless the variable is set."""
    if config.get("CELERY_BROKER_URL") and not (environ.get("JIXIAO_JOB_RUNNERS") or "").strip():
        return 0
    return max(0, int(config.get("JIXIAO_JOB_RUNNERS") or 0))


class Child:
    """One worker slot: its process, and when to start it again after it died."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.failures = 0  # deaths in a row, each within ``healthy_after`` of its start
        self.due = 0.0  # when a dead slot starts again


class Supervisor:
    """Keeps ``count`` copies of ``command`` running (see the module docstring)."""

    def __init__(self, count: int, command: Sequence[str] = WORKER_COMMAND, *, cwd: Path | str = ROOT,
                 env: Mapping[str, str] | None = None, backoff: float = 1.0, max_backoff: float = 60.0,
                 healthy_after: float = 60.0, grace: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.command, self.cwd, self.env = list(command), str(cwd), dict(env) if env is not None else None
        self.backoff, self.max_backoff = backoff, max_backoff
        self.healthy_after, self.grace = healthy_after, grace
        self.clock = clock
        self.children = [Child(n) for n in range(count)]
        self.restarts = 0

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.children if c.process is not None and c.process.poll() is None]

    def start(self) -> Supervisor:
        for child in self.children:
            self._spawn(child)
        return self

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env)
        child.started = self.clock()
        log.info("job worker %s started (pid %s)", child.number + 1, child.process.pid)

    def check(self) -> None:
        """Notice workers that died and start again those whose back-off is over."""
        at = self.clock()
        for child in self.children:
            process = child.process
            if process is not None and (code := process.poll()) is not None:
                child.process = None
                child.failures = 1 if at - child.started >= self.healthy_after else child.failures + 1
                delay = min(self.max_backoff, self.backoff * 2 ** (child.failures - 1))
                child.due = at + delay
                log.warning("job worker %s (pid %s) ended with %s; starting it again in %.0f s",
                            child.number + 1, process.pid, _status(code), delay)
            if child.process is None and at >= child.due:
                self._spawn(child)
                self.restarts += 1

    def stop(self) -> None:
        """SIGTERM every worker (a running job is given back, to be run again), SIGKILL after ``grace``."""
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            _signal(process, signal.SIGTERM)
        deadline = self.clock() + self.grace
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                log.warning("job worker pid %s did not stop in %.0f s: killed", process.pid, self.grace)
                _signal(process, signal.SIGKILL)
                process.wait()
        for child in self.children:
            child.process = None

    def run(self, stopping: Callable[[], bool], every: float = 0.5) -> None:
        """Start the workers, keep them running until ``stopping()``, then stop them."""
        self.start()
        try:
            while not stopping():
                time.sleep(every)
                self.check()
        finally:
            self.stop()


def fork_supervisor(count: int, **options) -> int:
    """Fork a supervisor process of ``count`` workers (its own session, so a terminal's Ctrl-C reaches
    it only through gunicorn's master); its pid. It ends on SIGTERM, SIGINT or SIGHUP, or when the
    process that forked it is gone."""
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        os.setsid()
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
                                               "%Y-%m-%d %H:%M:%S %z"))
        log.handlers[:], log.propagate = [handler], False
        log.setLevel(logging.INFO)
        log.disabled = False  # the migrations' logging configuration disables the loggers that existed
        stop = []
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda s, _f: stop.append(s))
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        Supervisor(count, **options).run(lambda: bool(stop) or os.getppid() != parent)
        log.info("job workers stopped (%s)", signal.Signals(stop[0]).name if stop else "the server is gone")
    except BaseException:  # noqa: BLE001 - a forked child must never return into its parent's code
        log.exception("job worker supervisor")
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def stop_supervisor(pid: int, timeout: float = 45.0) -> None:
    """SIGTERM the supervisor and wait until it (and so its workers) ended; SIGKILL after ``timeout``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    log.warning("job worker supervisor %s did not stop in %.0f s: killed", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _alive(pid)


def _alive(pid: int) -> bool:
    """Whether our child ``pid`` runs; reaps it when it ended (gunicorn's master may reap it first)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def _signal(process: subprocess.Popen, signum: int) -> None:
    try:
        process.send_signal(signum)
    except ProcessLookupError:
        pass


def _status(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
