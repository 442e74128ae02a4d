"""The table queue: jobs with no broker, through the same task code and the same claims.

A message (``job_message`` row) is taken with a conditional UPDATE and is then invisible until the
visibility timeout; acknowledging deletes it — Redis's semantics, on SQLite or PostgreSQL. A runner takes
one message at a time and runs its task with ``task.apply()``; every runner also ticks (app/jobs/ticker.py),
so a job whose runner vanished is sent again exactly as with a broker.

Runners are ``flask --app run worker`` processes, or one thread of the serving process
(``JIXIAO_JOB_RUNNER=thread``, the default: ``flask run``, tests), started on the first message it sends.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time

from flask import Flask
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import JobMessage
from .runtime import Stopping, now
from .ticker import tick

log = logging.getLogger(__name__)
MESSAGE = JobMessage.__table__


def visible(at: dt.datetime, visibility: float):
    return and_(MESSAGE.c.not_before <= at,
                or_(MESSAGE.c.claimed_at.is_(None),
                    MESSAGE.c.claimed_at < at - dt.timedelta(seconds=visibility)))


def claim_message(engine, me: str, visibility: float):
    """The oldest visible message, now claimed by ``me``; None when there is none."""
    for _ in range(5):  # another runner may win the row between the SELECT and the UPDATE
        at = now()
        with engine.begin() as conn:
            row = conn.execute(select(MESSAGE).where(visible(at, visibility))
                               .order_by(MESSAGE.c.id).limit(1)).first()
            if row is None:
                return None
            won = conn.execute(update(MESSAGE).where(MESSAGE.c.id == row.id, visible(at, visibility)).values(
                claimed_by=me[:64], claimed_at=at, attempts=MESSAGE.c.attempts + 1)).rowcount
        if won == 1:
            return row
    return None


def ack(engine, message_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(MESSAGE).where(MESSAGE.c.id == message_id))


def unclaim(engine, message_id: int) -> None:
    """Make the message visible again at once (its runner stops before finishing it)."""
    with engine.begin() as conn:
        conn.execute(update(MESSAGE).where(MESSAGE.c.id == message_id)
                     .values(claimed_by=None, claimed_at=None))


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_embedded(app: Flask, stop, *, drain: bool = False) -> None:
    """Take and run messages until ``stop`` is set (with ``drain``: until none is visible now). ``stop``:
    a ``threading.Event``, or what a signal handler may set (app/jobs/cli.py ``StopFlag``): it is only
    read (``is_set``, ``wait``), and seen within the poll time."""
    jobs = app.extensions["jixiao_jobs"]
    config = app.config
    poll = float(config["JIXIAO_JOB_POLL_SECONDS"])
    visibility = float(config["JIXIAO_JOB_VISIBILITY_TIMEOUT"])
    every = float(config["JIXIAO_JOB_TICK_SECONDS"])
    me = runner_name()
    last_tick, failures = float("-inf"), 0
    while not stop.is_set():
        try:
            with app.app_context():
                if every > 0 and time.monotonic() - last_tick >= every:
                    last_tick = time.monotonic()
                    tick(app)
                message = claim_message(db.engine, me, visibility)
        except OperationalError as exc:  # "database is locked", or the database restarts: wait and go on
            failures += 1
            log.warning("job runner: %s", exc)
            stop.wait(min(10.0, poll * 2 ** failures))
            continue
        failures = 0
        if message is None:
            if drain:
                return
            jobs.wakeup.wait(poll)
            jobs.wakeup.clear()
            continue
        execute(app, message, stop)


def execute(app: Flask, message, stop=None) -> None:
    """Run one message's task; acknowledge it afterwards, also when the task failed (its job row says
    so). A runner told to stop gives the message back instead, also one told between taking the message
    and starting its task (``stop`` set: the task is not started)."""
    jobs = app.extensions["jixiao_jobs"]
    task = jobs.celery.tasks.get(message.task)
    try:
        jobs.busy.set()  # from here a stop signal raises Stopping; before it, it only set ``stop``
        if stop is not None and stop.is_set():
            raise Stopping("stopped before the task started")
        if task is None:
            log.error("job runner: no task %s; message %s dropped", message.task, message.id)
        else:
            task.apply(args=list(message.args), task_id=message.task_id)
    except Stopping:
        with app.app_context():
            unclaim(db.engine, message.id)
        raise
    finally:
        jobs.busy.clear()
    with app.app_context():
        ack(db.engine, message.id)


class ThreadRunner:
    """The serving process's own runner: one daemon thread, started once."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="jixiao-job-runner", daemon=True)

    def start(self) -> ThreadRunner:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            run_embedded(self.app, self.stopping)
        except Stopping:  # stopped between taking a message and starting it: the message was given back
            log.info("job runner thread stopped")
        except Exception:  # noqa: BLE001 - a runner thread must say why it ended
            log.exception("job runner thread ended")

    def stop(self, timeout: float = 30) -> bool:
        """Stop after the current task; False when it is still running after ``timeout``."""
        self.stopping.set()
        self.app.extensions["jixiao_jobs"].wakeup.set()
        if self.thread.is_alive():
            self.thread.join(timeout)
        return not self.thread.is_alive()
