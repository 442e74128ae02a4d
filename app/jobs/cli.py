"""``flask --app run worker``: a background-job worker.

With ``CELERY_BROKER_URL``: a Celery worker, one process (the solo pool: a compute's scoring pool and the
PDF export start processes of their own, which a prefork child may not), one message at a time
(prefetch 1, acknowledged after the task), a unique node name, and the ticker in a thread. Without a
broker: the table queue's runner loop in the main thread. Run as many as there are cores, on any machine
that reaches the database (and the broker).

Signals without a broker: SIGTERM or SIGINT stop at once (a running job is given back: retrying, and its
message visible again) within the poll time; SIGHUP finishes the running job first. A worker still
running ``JIXIAO_JOB_STOP_SECONDS`` (default 15) after SIGTERM or SIGINT (stuck in native code, e.g. a
database lock wait, where no signal reaches Python) writes its threads' stacks to stderr and ends with
status 1: its job's heartbeat goes stale and the job is sent again, as when a worker is killed.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import time

import click
from celery import signals
from flask import Flask, current_app
from flask.cli import with_appcontext

from .embedded import run_embedded
from .runtime import Stopping
from .ticker import start_ticker

log = logging.getLogger(__name__)
STOP_SECONDS = 15  # a worker told to stop ends within this, whatever it is doing


@click.command("worker")
@click.option("--loglevel", "-l", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
@click.option("--queues", "-Q", default=None, help="Broker queues to consume (default JIXIAO_JOB_QUEUE).")
@with_appcontext
def worker_command(loglevel: str, queues: str | None) -> None:
    """Run a background-job worker (Celery on CELERY_BROKER_URL, else the database's job queue)."""
    run_worker(current_app._get_current_object(), loglevel, queues)


def run_worker(app: Flask, loglevel: str = "INFO", queues: str | None = None) -> None:
    if app.config.get("CELERY_BROKER_URL"):
        celery_worker(app, loglevel, queues or app.config["JIXIAO_JOB_QUEUE"])
    else:
        table_worker(app, loglevel)


def celery_worker(app: Flask, loglevel: str, queues: str) -> None:
    ticker: dict = {}

    def ready(**_kwargs) -> None:
        ticker["thread"] = start_ticker(app)

    def shutdown(**_kwargs) -> None:
        if ticker.get("thread"):
            ticker["thread"][1].set()

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)
    app.extensions["jixiao_jobs"].celery.worker_main([
        "worker", "-P", "solo", "-c", "1", "-Q", queues, "--without-gossip", "--without-mingle",
        "-n", f"jixiao-{os.getpid()}@%h", "-l", loglevel.upper(),
    ])


class StopFlag:
    """``stop`` for the runner loop, set by the signal handlers. No lock: a handler runs on the main
    thread between two of its bytecodes, maybe while that thread holds an Event's lock (inside
    ``Event.wait``, ``set`` or ``clear``: the runner's own wake-up Event, ten times a second), and taking
    that lock again there would wait for ever. So a handler sets this flag and wakes nobody; the loop sees
    it within its poll time."""

    def __init__(self) -> None:
        self.flag = False

    def set(self) -> None:
        self.flag = True

    def is_set(self) -> bool:
        return self.flag

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not self.flag and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
        return self.flag


def stop_within(seconds: float, fd: int = 2) -> None:
    """End this process with status 1 in ``seconds`` unless it has ended by then, every thread's stack
    written to the file descriptor ``fd`` first ("Timeout (…)!"): faulthandler's own native thread, which
    takes no Python lock and runs whatever the interpreter's threads are stuck in. Safe in a signal
    handler: given a descriptor, it flushes no Python stream (whose lock the interrupted code may hold)."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=fd)


def signal_handlers(jobs, stop: StopFlag, within: float, fd: int = 2):
    """The table worker's handlers: SIGTERM/SIGINT (stop now: Stopping when inside a task, and the
    process ends within ``within`` seconds whatever happens; 0: no such deadline) and SIGHUP (stop after
    the running task). They set flags and take no lock (see :class:`StopFlag`)."""
    def now_(signum, _frame) -> None:
        if not stop.is_set() and within > 0:
            stop_within(within, fd)
        stop.set()
        if jobs.busy.is_set():  # reads the flag, no lock
            raise Stopping(signal.Signals(signum).name)

    def after_this_job(_signum, _frame) -> None:
        stop.set()

    return now_, after_this_job


def table_worker(app: Flask, loglevel: str) -> None:
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs = app.extensions["jixiao_jobs"]
    app.config["JIXIAO_JOB_RUNNER"] = "process"  # this loop is the runner: no thread besides it
    stop = StopFlag()
    within = float(app.config.get("JIXIAO_JOB_STOP_SECONDS", STOP_SECONDS))  # 0: no deadline

    now_, after_this_job = signal_handlers(jobs, stop, within, sys.stderr.fileno())
    signal.signal(signal.SIGTERM, now_)
    signal.signal(signal.SIGINT, now_)
    signal.signal(signal.SIGHUP, after_this_job)
    log.info("job worker %s ready (database queue)", os.getpid())
    try:
        run_embedded(app, stop)
    except Stopping as reason:
        log.info("job worker %s: running job given back (%s)", os.getpid(), reason)
    log.info("job worker %s stopped", os.getpid())
    # Everything is given back or done and the log says so: the process ends here, without the
    # interpreter's shutdown, whose finalisers of the PDF renderer's native libraries have crashed it
    # (SIGSEGV) after a render.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
