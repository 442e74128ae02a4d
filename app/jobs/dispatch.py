"""Sending a job's messages: to the broker when ``CELERY_BROKER_URL`` is set, else into the table queue
(``job_message``) that the embedded runner reads. A message only says "look at job N"; the job row says
what to do (app/jobs/runtime.py).

Call these after committing the job row: a worker may take the message at once and must find the row.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from celery import group
from flask import current_app
from kombu.exceptions import ChannelError
from sqlalchemy import and_, func, insert, or_, select, update

from ..extensions import db
from ..models import Job, JobKind, JobMessage, JobState

log = logging.getLogger(__name__)

# The task that starts (or resumes) a job of each kind.
ENTRY_TASKS: dict[str, str] = {
    JobKind.COMPUTE: "jixiao.compute_cycle",
    JobKind.EXPORT: "jixiao.export_cycle",
    JobKind.IMPORT: "jixiao.import_file",
    JobKind.CLEANUP: "jixiao.cleanup",
    JobKind.DEADLINES: "jixiao.deadlines",
    JobKind.WHATIF: "jixiao.whatif",
}


def uses_broker() -> bool:
    return bool(current_app.config.get("CELERY_BROKER_URL"))


def send(task: str, *args, countdown: float = 0, task_id: str | None = None) -> str:
    """One message for ``task(*args)``; its id."""
    return send_group(task, [args], countdown=countdown, task_ids=[task_id or _new_id()])[0]


def send_group(task: str, argsets, *, countdown: float = 0, task_ids: list[str] | None = None) -> list[str]:
    """One message per argument list (a Celery group with a broker: workers take them in parallel)."""
    argsets = [list(args) for args in argsets]
    task_ids = task_ids or [_new_id() for _ in argsets]
    jobs = current_app.extensions["jixiao_jobs"]
    if uses_broker():
        queue = current_app.config["JIXIAO_JOB_QUEUE"]
        signatures = [jobs.celery.signature(task, args=args, task_id=task_id, queue=queue,
                                            countdown=countdown or None)
                      for args, task_id in zip(argsets, task_ids, strict=True)]
        if len(signatures) == 1:
            signatures[0].apply_async()
        else:
            group(signatures).apply_async()
        return task_ids
    with db.engine.begin() as conn:
        _queue_rows(conn, task, argsets, task_ids, countdown)
    jobs.wake()
    return task_ids


def _queue_rows(conn, task: str, argsets: list[list], task_ids: list[str], countdown: float) -> None:
    not_before = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=countdown)
    rows = [{"task": task, "args": args, "task_id": task_id, "not_before": not_before, "attempts": 0}
            for args, task_id in zip(argsets, task_ids, strict=True)]
    if rows:
        conn.execute(insert(JobMessage.__table__), rows)


def send_job(job_id: int, *, countdown: float = 0) -> str | None:
    """Send the job's entry task, if nobody has since it last waited (``celery_task_id`` is NULL); the
    message's id, or None. A send that fails (the broker is down) leaves it NULL: the ticker tries again."""
    table = Job.__table__
    task_id = _new_id()
    broker = uses_broker()
    with db.engine.begin() as conn:
        kind = conn.scalar(select(table.c.kind).where(table.c.id == job_id))
        if kind not in ENTRY_TASKS:
            return None
        # Stamped with when a worker may start it (a countdown's message waits in a worker meanwhile).
        taken = conn.execute(update(table).where(
            table.c.id == job_id, table.c.celery_task_id.is_(None),
            table.c.state.in_([JobState.QUEUED, JobState.RETRYING]),
        ).values(celery_task_id=task_id,
                 heartbeat_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=countdown))).rowcount
        if taken and not broker:  # the row and its message in one transaction
            _queue_rows(conn, ENTRY_TASKS[kind], [[job_id]], [task_id], countdown)
    if not taken:
        return None
    if not broker:
        current_app.extensions["jixiao_jobs"].wake()
        return task_id
    try:
        send(ENTRY_TASKS[kind], job_id, countdown=countdown, task_id=task_id)
    except Exception:  # noqa: BLE001 - the outbox: the ticker sends it later
        log.exception("job %s: could not send its message; the ticker will try again", job_id)
        with db.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == job_id, table.c.celery_task_id == task_id)
                         .values(celery_task_id=None))
        return None
    return task_id


def waiting_messages() -> int | None:
    """How many messages wait in the queue for a worker to take them (those a worker has taken are not
    counted); None when the broker cannot be asked."""
    config = current_app.config
    if uses_broker():
        celery = current_app.extensions["jixiao_jobs"].celery
        try:
            with celery.connection_for_read() as conn:
                return conn.default_channel.queue_declare(queue=config["JIXIAO_JOB_QUEUE"],
                                                          passive=True).message_count
        except ChannelError:  # Redis keeps no key for an empty queue: "not found" is empty
            return 0
        except Exception:  # noqa: BLE001 - the broker is away: nothing is concluded from it
            log.warning("could not ask the broker how many messages wait", exc_info=True)
            return None
    table = JobMessage.__table__
    at = dt.datetime.now(dt.UTC)
    taken_until = at - dt.timedelta(seconds=float(config["JIXIAO_JOB_VISIBILITY_TIMEOUT"]))
    return db.session.scalar(select(func.count()).select_from(table).where(and_(
        table.c.not_before <= at, or_(table.c.claimed_at.is_(None), table.c.claimed_at < taken_until))))


def _new_id() -> str:
    return str(uuid.uuid4())
