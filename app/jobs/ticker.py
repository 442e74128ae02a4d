"""The ticker every worker runs: the reaper, the outbox and the periodic jobs.

Every step is a conditional UPDATE or an INSERT on a unique key, so any number of workers may tick at
once: one of them wins each row. That is why there is no single beat process to forget or to double, and
why the same ticker serves the broker and the table queue.

A job done in parts (a cycle's PDF export, app/jobs/export.py) is running and held by nobody while its
parts render; a pending part's ``heartbeat_at`` says when its message was sent (NULL: not sent). The
ticker reaps stale parts, sends parts whose message was never sent or is presumed lost (pending longer
than the visibility timeout, or than the stale time with nothing waiting in the queue), and sends the
assembly of a job whose parts are all done when nobody assembled it (its worker vanished between the
last part and the assembly's message).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from flask import Flask
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import Job, JobKind, JobPart, JobState
from . import dispatch, outbox
from .runtime import now, seconds, stale_before

log = logging.getLogger(__name__)
JOB, PART = Job.__table__, JobPart.__table__

# Jobs the system starts by itself, and how often: one job per slot.
PERIODIC: dict[str, dt.timedelta] = {
    JobKind.CLEANUP: dt.timedelta(hours=1),
    JobKind.DEADLINES: dt.timedelta(minutes=15),  # reminders, escalations, the daily digest
}
# A job whose row was committed but whose message was not sent (the sender died, the broker was down).
UNSENT_AFTER = dt.timedelta(seconds=10)
PART_TASK = "jixiao.export_part"
ASSEMBLE_TASK = "jixiao.export_assemble"
RENDER = "render"  # the stage of a job whose parts render


def tick(app: Flask | None = None) -> dict[str, int]:  # noqa: ARG001 - run in the app's context
    """One round; how many rows each step touched."""
    at = now()
    return {"reaped": reap_jobs(at), "parts": reap_parts(at), "sent": send_unsent(at),
            "taken": send_taken(at), "parts_sent": send_waiting_parts(at), "assemble": assemble_ready(at),
            "opened": open_periodic(at), "outbox": outbox.wake_due(clock.now())}


def reap_jobs(at: dt.datetime) -> int:
    """Running jobs whose heartbeat went stale (their worker vanished): retrying, and sent again."""
    cutoff = stale_before(at)
    stale = db.session.execute(select(JOB.c.id, JOB.c.claim).where(
        JOB.c.state == JobState.RUNNING, JOB.c.claim.is_not(None), JOB.c.heartbeat_at < cutoff)).all()
    db.session.rollback()
    reaped = 0
    for job_id, claim in stale:
        with db.engine.begin() as conn:
            taken = conn.execute(update(JOB).where(
                JOB.c.id == job_id, JOB.c.claim == claim, JOB.c.state == JobState.RUNNING,
                JOB.c.heartbeat_at < cutoff,
            ).values(state=JobState.RETRYING, claim=None, celery_task_id=None)).rowcount
        if taken:
            log.warning("job %s: its worker vanished; sent again", job_id)
            dispatch.send_job(job_id)
            reaped += 1
    return reaped


def reap_parts(at: dt.datetime) -> int:
    """Parts whose worker vanished: pending again, and sent again."""
    cutoff = stale_before(at)
    stale = db.session.execute(select(PART.c.id, PART.c.job_id, PART.c.number, PART.c.claim).where(
        PART.c.state == "running", PART.c.heartbeat_at < cutoff)).all()
    db.session.rollback()
    reaped = 0
    for part_id, job_id, number, claim in stale:
        with db.engine.begin() as conn:
            taken = conn.execute(update(PART).where(
                PART.c.id == part_id, PART.c.state == "running", PART.c.heartbeat_at < cutoff,
                PART.c.claim.is_(None) if claim is None else PART.c.claim == claim,
            ).values(state="pending", claim=None, heartbeat_at=at)).rowcount
        if taken:
            log.warning("job %s: part %s lost its worker; sent again", job_id, number)
            send_parts(job_id, [number], stamped=True)
            reaped += 1
    return reaped


def send_parts(job_id: int, numbers: list[int], *, countdown: float = 0, stamped: bool = False) -> int:
    """Send the parts' messages (a group: workers take them in parallel) and stamp the pending ones as
    sent; a send that fails leaves them unstamped, for the next tick. How many were sent."""
    if not numbers:
        return 0
    chosen = (PART.c.job_id == job_id) & PART.c.number.in_(numbers) & (PART.c.state == "pending")
    try:
        dispatch.send_group(PART_TASK, [(job_id, number) for number in numbers], countdown=countdown)
    except Exception:  # noqa: BLE001 - the outbox: the ticker sends them later
        log.exception("job %s: could not send parts %s; the ticker will try again", job_id, numbers)
        with db.engine.begin() as conn:
            conn.execute(update(PART).where(chosen).values(heartbeat_at=None))
        return 0
    if not stamped:  # stamped with when a worker may start it (a countdown's message waits in a worker)
        with db.engine.begin() as conn:
            conn.execute(update(PART).where(chosen, PART.c.heartbeat_at.is_(None))
                         .values(heartbeat_at=now() + dt.timedelta(seconds=countdown)))
    return len(numbers)


def _rendering():
    """Jobs whose parts render: running, held by nobody, in the stage render."""
    return (JOB.c.state == JobState.RUNNING) & JOB.c.claim.is_(None) & (JOB.c.stage == RENDER)


def send_waiting_parts(at: dt.datetime) -> int:
    """Pending parts never sent (their sender died, the broker was down), and those whose message is
    presumed lost: sent (again). A message is presumed lost when its part waited longer than the
    visibility timeout, or longer than the stale time while no message waits in the queue (a worker took
    it and vanished before claiming the part; the broker would give it back only after the visibility
    timeout). A copy that finds the part taken does nothing."""
    lost, stale = at - seconds("JIXIAO_JOB_VISIBILITY_TIMEOUT"), stale_before(at)
    unsent = PART.c.heartbeat_at.is_(None) & (func.coalesce(JOB.c.heartbeat_at, JOB.c.created_at)
                                              < at - UNSENT_AFTER)
    waiting = db.session.execute(select(PART.c.id, PART.c.job_id, PART.c.number, PART.c.heartbeat_at,
                                        (PART.c.heartbeat_at < lost).label("timed_out"))
                                 .join(JOB, JOB.c.id == PART.c.job_id)
                                 .where(_rendering(), PART.c.state == "pending",
                                        unsent | (PART.c.heartbeat_at < lost) | (PART.c.heartbeat_at < stale))
                                 .order_by(PART.c.job_id, PART.c.number)).all()
    db.session.rollback()
    if any(sent is not None and not timed_out for *_, sent, timed_out in waiting):
        drained = dispatch.waiting_messages() == 0
        db.session.rollback()
        if not drained:  # the queue is busy: the messages are presumably in it, behind others
            waiting = [row for row in waiting if row.heartbeat_at is None or row.timed_out]
    won: dict[int, list[int]] = {}
    for part_id, job_id, number, sent, timed_out in waiting:
        before = lost if timed_out else stale
        with db.engine.begin() as conn:
            if conn.execute(update(PART).where(
                    PART.c.id == part_id, PART.c.state == "pending",
                    PART.c.heartbeat_at.is_(None) if sent is None else PART.c.heartbeat_at < before,
            ).values(heartbeat_at=at)).rowcount:
                won.setdefault(job_id, []).append(number)
    return sum(send_parts(job_id, numbers, stamped=True) for job_id, numbers in won.items())


def rendered():
    """Jobs ready to assemble: their parts render, nobody holds them, and every part is done (the
    assembler's claim, app/jobs/export.py)."""
    def parts(*where):
        return select(PART.c.id).where(PART.c.job_id == JOB.c.id, *where).exists()
    return _rendering() & parts() & ~parts(PART.c.state != "done")


def assemble_ready(at: dt.datetime) -> int:
    """Jobs whose parts are all done, that nobody has assembled for the stale time: the assembly is sent
    (again; its claim makes a second one harmless)."""
    cutoff = stale_before(at)
    ready = db.session.execute(select(JOB.c.id).where(
        rendered(), JOB.c.heartbeat_at.is_(None) | (JOB.c.heartbeat_at < cutoff))).all()
    db.session.rollback()
    sent = 0
    for (job_id,) in ready:
        with db.engine.begin() as conn:
            taken = conn.execute(update(JOB).where(
                JOB.c.id == job_id, _rendering(),
                JOB.c.heartbeat_at.is_(None) | (JOB.c.heartbeat_at < cutoff),
            ).values(heartbeat_at=at)).rowcount
        if taken:
            log.warning("job %s: its parts are rendered and nobody assembles them; sent the assembly", job_id)
            dispatch.send(ASSEMBLE_TASK, job_id)
            sent += 1
    return sent


def send_taken(at: dt.datetime) -> int:
    """Waiting jobs whose message went out longer than the stale time ago while nothing waits in the
    queue: a worker took the message and vanished before claiming the job (the broker would give it back
    only after the visibility timeout). Sent again; a copy that finds the job taken does nothing."""
    cutoff = stale_before(at)
    taken = db.session.execute(select(JOB.c.id, JOB.c.celery_task_id).where(
        JOB.c.state.in_([JobState.QUEUED, JobState.RETRYING]), JOB.c.celery_task_id.is_not(None),
        JOB.c.heartbeat_at < cutoff)).all()
    db.session.rollback()
    if not taken:
        return 0
    drained = dispatch.waiting_messages() == 0
    db.session.rollback()
    if not drained:  # the queue is busy: the messages are presumably in it, behind others
        return 0
    sent = 0
    for job_id, task_id in taken:
        with db.engine.begin() as conn:
            won = conn.execute(update(JOB).where(
                JOB.c.id == job_id, JOB.c.celery_task_id == task_id, JOB.c.heartbeat_at < cutoff,
                JOB.c.state.in_([JobState.QUEUED, JobState.RETRYING]),
            ).values(celery_task_id=None)).rowcount
        if won:
            log.warning("job %s: its message was taken and never acted on; sent again", job_id)
            sent += dispatch.send_job(job_id) is not None
    return sent


def send_unsent(at: dt.datetime) -> int:
    waiting = db.session.scalars(select(JOB.c.id).where(
        JOB.c.state.in_([JobState.QUEUED, JobState.RETRYING]), JOB.c.celery_task_id.is_(None),
        func.coalesce(JOB.c.heartbeat_at, JOB.c.created_at) < at - UNSENT_AFTER)).all()
    db.session.rollback()
    return sum(dispatch.send_job(job_id) is not None for job_id in waiting)


def slot_key(kind: str, period: dt.timedelta, at: dt.datetime) -> str:
    """The periodic slot ``at`` falls in, as a key (``cleanup:2026-12-03T14:00``)."""
    length = period.total_seconds()
    start = dt.datetime.fromtimestamp(at.timestamp() // length * length, dt.UTC)
    return f"{kind}:{start:%Y-%m-%dT%H:%M}"


def open_periodic(at: dt.datetime) -> int:
    opened = 0
    for kind, period in PERIODIC.items():
        try:
            with db.engine.begin() as conn:
                job_id = conn.execute(insert(JOB).values(
                    kind=kind, state=JobState.QUEUED, params={}, created_at=at,
                    dedupe_key=slot_key(kind, period, at),
                )).inserted_primary_key[0]
        except IntegrityError:
            continue  # this slot's job exists: another worker (or an earlier tick) opened it
        dispatch.send_job(job_id)
        opened += 1
    return opened


def start_ticker(app: Flask) -> tuple[threading.Thread, threading.Event] | None:
    """Tick every ``JIXIAO_JOB_TICK_SECONDS`` in a daemon thread (a Celery worker's); None when 0."""
    every = float(app.config["JIXIAO_JOB_TICK_SECONDS"])
    if every <= 0:
        return None
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                with app.app_context():
                    tick(app)
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("job ticker")
            if stop.wait(every):
                return

    thread = threading.Thread(target=loop, name="jixiao-job-ticker", daemon=True)
    thread.start()
    return thread, stop
