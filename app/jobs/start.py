"""Starting a job: its row committed first, then its message (a worker may take the message at once and
must find the row). A job that must not run twice at once (a cycle's compute) carries an ``active_key``
while unfinished; starting a second one finds the first.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..models import Job, JobState
from ..services.errors import Conflict
from . import dispatch
from .runtime import now


class JobRunning(Conflict):
    """An unfinished job with the same ``active_key`` exists; ``job_id`` names it."""

    default_message = _l("This job is running already.")

    def __init__(self, job_id: int | None, message=None) -> None:
        super().__init__(message, code="JOB_RUNNING", job_id=job_id)
        self.job_id = job_id


def start_job(session, kind: str, *, owner_id: int | None, subject_id: int | None = None,
              params: dict | None = None, active_key: str | None = None, reuse: bool = False,
              running_message=None) -> Job:
    """Create and send a job; commits ``session``. With ``active_key`` and an unfinished job holding it:
    that job when ``reuse``, else :class:`JobRunning` (``running_message`` its sentence)."""
    job = Job(kind=kind, owner_id=owner_id, subject_id=subject_id, params=params or {},
              state=JobState.QUEUED, active_key=active_key, created_at=now())
    session.add(job)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        holder = session.scalars(select(Job).where(Job.active_key == active_key)).first()
        if holder is None:  # it finished between our INSERT and this SELECT: start ours again
            return start_job(session, kind, owner_id=owner_id, subject_id=subject_id, params=params,
                             active_key=active_key, reuse=reuse, running_message=running_message)
        if reuse:
            return holder
        raise JobRunning(holder.id, running_message) from None
    dispatch.send_job(job.id)
    return job
