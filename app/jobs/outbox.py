"""Sending the outbox (mails and group robot messages, ``app/notify/outbox.py``) off the web workers.

``jixiao.send_outbox`` takes no arguments and is not a job row: the outbox rows are the truth, and any
number of deliveries of the message may drain them at once (each row is claimed by a conditional
UPDATE). Three things send the message:

- a commit whose session queued rows (``session.info["jixiao_outbox"]``, set by app/notify): after the
  commit, never inside the request's transaction; a broker that is down only delays it to the next tick;
- the ticker's step :func:`wake_due`, when a row is due (a retry's time came, a robot's window ended, a
  sender vanished and its lease ran out);
- nothing else: without a broker, a message already waiting in the table queue is not doubled.

A job's end (``signals.job_finished``, after the commit that ended it) is told to the notifications here
too, in a short transaction of its own.
"""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy import event, exists, select

from .. import clock
from ..extensions import db
from ..models import JobMessage
from ..notify.outbox import BATCH, due, send_due
from ..services.events import JOB_FINISHED, Event, emit
from . import dispatch
from .signals import job_finished

log = logging.getLogger(__name__)
SEND_TASK = "jixiao.send_outbox"
MESSAGE = JobMessage.__table__
# Rounds of one delivery: a full batch may leave more due rows (a submit of 500 mails).
MAX_ROUNDS = 50


@shared_task(name=SEND_TASK, acks_late=True, ignore_result=True)
def send_outbox() -> None:
    """Send the outbox rows that are due, a batch at a time, until a batch is not full."""
    for _ in range(MAX_ROUNDS):
        counts = send_due(clock.now())
        if sum(counts.values()) < BATCH:
            return


def wake() -> bool:
    """Send one ``SEND_TASK`` message, unless one already waits unclaimed in the table queue; whether
    one was sent."""
    if not dispatch.uses_broker():
        with db.engine.connect() as conn:
            waiting = exists().where(MESSAGE.c.task == SEND_TASK, MESSAGE.c.claimed_at.is_(None))
            if conn.scalar(select(waiting)):
                return False
    dispatch.send(SEND_TASK)
    return True


def wake_due(at) -> int:
    """The ticker's step: one message when a row is due at ``at``; how many were sent (0 or 1)."""
    waiting = db.session.scalar(select(exists().where(due(at))))
    db.session.rollback()
    return int(bool(waiting) and wake())


@event.listens_for(db.session, "after_commit")
def _wake_after_commit(session) -> None:
    if session.info.pop("jixiao_outbox", False):
        try:
            wake()
        except Exception:  # noqa: BLE001 - the broker is down: the ticker's wake_due catches up
            log.exception("outbox: could not wake the sender; the ticker will")


@event.listens_for(db.session, "after_rollback")
def _forget_on_rollback(session) -> None:
    session.info.pop("jixiao_outbox", None)


@job_finished.connect
def _tell_job_finished(sender, job_id: int, state: str, **_) -> None:  # noqa: ARG001 - blinker's sender
    try:
        emit(db.session, Event(JOB_FINISHED, key=f"job:{job_id}:{state}", job_id=job_id))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the job is over whatever its notification does
        db.session.rollback()
        log.exception("job %s: its end could not be notified", job_id)
