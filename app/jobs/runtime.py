"""Claim, fence, heartbeat: how a delivery of a task owns its job, and why a result is written once.

A delivery starts by *claiming* the job row: a conditional UPDATE that only a queued or retrying job (or a
running one whose heartbeat went stale) passes, storing a fresh token in ``claim``. Every later write of the
delivery is fenced on that token (``… WHERE claim = :token``): the finishing UPDATE runs inside the same
transaction as the job's work, so when another delivery took the job over meanwhile the work rolls back
(:class:`LostClaim`). A delivery that cannot claim — the job is done, failed, or running with a fresh
heartbeat — does nothing, so a message delivered twice is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from ..extensions import db
from ..models import Job, JobState
from ..services.errors import ServiceError
from . import dispatch
from .messages import both, message_columns
from .signals import job_finished

log = logging.getLogger(__name__)
JOB: Table = Job.__table__


class LostClaim(Exception):
    """A fenced write matched no row: another delivery owns the job now; this one's work is void."""


class Stopping(BaseException):
    """The worker was told to stop now: the job is given back (retrying) and its message unclaimed.
    A BaseException, so that no task's ``except Exception`` mistakes it for the job's failure."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive UTC, PostgreSQL aware: both as aware UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def seconds(name: str) -> dt.timedelta:
    return dt.timedelta(seconds=float(current_app.config[name]))


def stale_before(at: dt.datetime) -> dt.datetime:
    return at - seconds("JIXIAO_JOB_STALE_SECONDS")


def claimable(at: dt.datetime):
    """Waiting jobs, and running ones whose delivery vanished (no heartbeat for the stale time)."""
    return or_(JOB.c.state.in_([JobState.QUEUED, JobState.RETRYING]),
               and_(JOB.c.state == JobState.RUNNING, JOB.c.claim.is_not(None),
                    JOB.c.heartbeat_at < stale_before(at)))


def new_token() -> str:
    """A claim's token: the claiming process's id (which worker holds a job, for whoever reads the
    table), then a random part that makes it unique."""
    return f"{os.getpid()}-{uuid.uuid4().hex}"


def claim_job(job_id: int, *, stage: str | None = None, when=None) -> Run | None:
    """Claim the job for this delivery (its own transaction); None when it is not to be run by us.
    ``when`` replaces the usual test (:func:`claimable`), e.g. "running, unclaimed, in stage render and no
    part left" for the task that assembles a job done in parts. A job claimed more than
    ``JIXIAO_JOB_MAX_ATTEMPTS`` times fails instead (a job that kills its worker every time must not loop
    for ever)."""
    at, token = now(), new_token()
    values = {"state": JobState.RUNNING, "claim": token, "attempts": JOB.c.attempts + 1, "heartbeat_at": at,
              "started_at": func.coalesce(JOB.c.started_at, at)}
    if stage is not None:
        values["stage"] = stage
    engine = db.engine
    with engine.begin() as conn:
        test = claimable(at) if when is None else when
        if conn.execute(update(JOB).where(JOB.c.id == job_id, test).values(values)).rowcount != 1:
            return None
        row = conn.execute(select(JOB.c.kind, JOB.c.params, JOB.c.attempts).where(JOB.c.id == job_id)).one()
    run = Run(job_id, token, row.kind, row.params or {}, row.attempts, engine)
    if row.attempts > current_app.config["JIXIAO_JOB_MAX_ATTEMPTS"]:
        run.fail(both(_l("Gave up after %(n)s attempts.", n=row.attempts - 1)))
        return None
    return run


class Run:
    """One delivery's hold on its job: the token its writes are fenced on, and its progress."""

    table = JOB  # what the heartbeat writes (a part's hold has its own table and fence)

    def __init__(self, job_id: int, token: str, kind: str, params: dict, attempts: int, engine) -> None:
        self.job_id, self.token, self.kind, self.params, self.attempts = job_id, token, kind, params, attempts
        self.engine = engine
        self.lost = False  # the heartbeat found the claim gone
        self.finished: JobState | None = None
        self._lock = threading.Lock()
        self._progress: tuple[str | None, int, int] | None = None

    def fenced(self):
        return and_(JOB.c.id == self.job_id, JOB.c.claim == self.token, JOB.c.state == JobState.RUNNING)

    def progress(self, stage: str | None, done: int, total: int) -> None:
        """Kept in memory; the heartbeat writes it. Raises LostClaim once the job is somebody else's."""
        if self.lost:
            raise LostClaim(f"job {self.job_id} was taken over")
        with self._lock:
            self._progress = (stage, done, total)

    def progress_values(self) -> dict:
        with self._lock:
            if self._progress is None:
                return {}
            stage, done, total = self._progress
        return {"stage": stage, "progress_done": done, "progress_total": total}

    def finish_in(self, session, *, result: dict | None, message: dict | None, path: str | None = None,
                  name: str | None = None) -> None:
        """Mark the job done in the caller's transaction (commit it with the work). LostClaim when the
        job is no longer ours: the caller's transaction must then roll back."""
        at = now()
        values = {"state": JobState.DONE, "claim": None, "active_key": None, "finished_at": at,
                  "expires_at": at + dt.timedelta(hours=float(current_app.config["JIXIAO_JOB_KEEP_HOURS"])),
                  "heartbeat_at": at, "result": result, "result_path": path, "result_name": name,
                  **self.progress_values(), **message_columns(message)}
        # A finished job's bar is full.
        values["progress_done"] = values.get("progress_total", func.coalesce(JOB.c.progress_total,
                                                                               JOB.c.progress_done))
        if session.execute(update(JOB).where(self.fenced()).values(values)).rowcount != 1:
            raise LostClaim(f"job {self.job_id} was taken over")
        self.finished = JobState.DONE

    def fail(self, message: dict | None, result: dict | None = None, path: str | None = None,
             name: str | None = None) -> None:
        """Mark the job failed (its own transaction). Not retried: HR may retry it by hand. ``path`` and
        ``name``: a file explaining the failure (an import's problems), downloadable like a result."""
        at = now()
        values = {"state": JobState.FAILED, "claim": None, "active_key": None, "finished_at": at,
                  "expires_at": at + dt.timedelta(hours=float(current_app.config["JIXIAO_JOB_KEEP_HOURS"])),
                  "result": result, "result_path": path, "result_name": name, **message_columns(message)}
        if self._write(values):
            self.finished = JobState.FAILED

    def retry_later(self, message: dict | None) -> None:
        """A transient error (the database went away): give the job back and send it again later."""
        if self._write({"state": JobState.RETRYING, "claim": None, "celery_task_id": None,
                        "heartbeat_at": now(), **message_columns(message)}):
            countdown = float(current_app.config["JIXIAO_JOB_RETRY_SECONDS"]) * self.attempts
            dispatch.send_job(self.job_id, countdown=countdown)

    def release(self) -> None:
        """The worker stops: give the job back at once (its message is unclaimed by the runner)."""
        self._write({"state": JobState.RETRYING, "claim": None})

    def _write(self, values: dict) -> bool:
        with self.engine.begin() as conn:
            if conn.execute(update(JOB).where(self.fenced()).values(values)).rowcount == 1:
                return True
        log.info("job %s: claim %s was taken over; nothing written", self.job_id, self.token)
        return False


class Beat(threading.Thread):
    """Every ``interval`` seconds: the job's heartbeat and progress, fenced on the claim (its own
    connection). Zero rows means the claim is gone: ``run.lost``, and the work stops at its next progress
    call. A locked SQLite database (the job's own write holds it) skips one beat.

    ``run`` is anything with ``table``, ``fenced()``, ``progress_values()``, ``engine``, ``job_id`` and
    ``lost`` (a :class:`Run`, or a part's hold)."""

    def __init__(self, run: Run, interval: float) -> None:
        super().__init__(name=f"job-{run.job_id}-heartbeat", daemon=True)
        self.job_run, self.interval = run, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        job = self.job_run
        try:
            with job.engine.begin() as conn:
                matched = conn.execute(update(job.table).where(job.fenced()).values(
                    heartbeat_at=now(), **job.progress_values())).rowcount
        except OperationalError as exc:
            log.debug("job %s: heartbeat skipped (%s)", job.job_id, exc)
            return
        if matched == 0:
            job.lost = True
            self.stopped.set()

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=self.interval + 5)


@contextmanager
def claimed(job_id: int, *, stage: str | None = None, when=None) -> Iterator[Run | None]:
    """Claim the job and keep its heartbeat while the block runs; None when it is not ours to run.

    The block finishes the job (``run.finish_in`` + commit, or ``run.fail``). What it raises is mapped
    once here: a service's refusal fails the job with its message; a lost database connection gives it
    back to be sent again; a lost claim rolls back quietly; anything else fails it with the error's name.
    """
    run = claim_job(job_id, stage=stage, when=when)
    if run is None:
        yield None
        return
    beat = Beat(run, float(current_app.config["JIXIAO_JOB_HEARTBEAT_SECONDS"]))
    beat.start()
    try:
        yield run
    except LostClaim:
        db.session.rollback()
        log.info("job %s: taken over by another delivery; this one's work rolled back", job_id)
    except Stopping:
        db.session.rollback()
        run.release()
        raise
    except ServiceError as exc:
        db.session.rollback()
        run.fail(both(exc.message))
    except (OperationalError, DBAPIError) as exc:
        db.session.rollback()
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            log.warning("job %s: database error, sent again later: %s", job_id, exc)
            run.retry_later(both(_l("Waiting for the database; the job will be tried again.")))
        else:
            log.exception("job %s failed", job_id)
            run.fail(both(_l("The job failed (%(error)s).", error=type(exc).__name__)))
    except Exception as exc:  # noqa: BLE001 - the job shows it failed, the log says why
        db.session.rollback()
        log.exception("job %s failed", job_id)
        run.fail(both(_l("The job failed (%(error)s).", error=type(exc).__name__)))
    finally:
        beat.stop()
    if run.finished is not None:
        job_finished.send(current_app._get_current_object(), job_id=job_id, state=run.finished)


def effective_state(job: Job, parts=None, at: dt.datetime | None = None, stale: float | None = None) -> str:
    """The state a reader should see: a running job whose heartbeat went stale is ``retrying`` (its
    worker vanished; the reaper sends it again). For a job rendering in parts (``stage == "render"``),
    a stale running part reads as ``retrying``, and no part running as ``queued``."""
    at = at or now()
    if stale is None:
        stale = float(current_app.config["JIXIAO_JOB_STALE_SECONDS"]) if has_app_context() else 60.0
    cutoff = at - dt.timedelta(seconds=stale)
    state = JobState(job.state).value
    if state != JobState.RUNNING:
        return state
    if parts is not None and job.stage == "render":
        running = [part for part in parts if part.state == "running"]
        if any(part.claim and (aware(part.heartbeat_at) or cutoff) <= cutoff for part in running):
            return JobState.RETRYING.value
        if not running and any(part.state == "pending" for part in parts):
            return JobState.QUEUED.value
        return state
    if job.claim and (aware(job.heartbeat_at) or cutoff) <= cutoff:
        return JobState.RETRYING.value
    return state
