"""Reading jobs: which a caller may see, the latest of a kind, and the shape screens and the API show."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, false, select

from .. import clock
from ..models import Job, JobPart
from .messages import message_for
from .runtime import aware, effective_state, now


def visible_jobs(caller) -> Select:
    """Newest first: every job for HR (the whole scope), else the caller's own."""
    query = select(Job).order_by(Job.id.desc())
    if not caller.scope.everything:
        user_id = caller.actor.user_id
        query = query.where(Job.owner_id == user_id) if user_id is not None else query.where(false())
    return query


def may_see(job: Job, caller) -> bool:
    """Whether ``visible_jobs(caller)`` holds ``job``."""
    return caller.scope.everything or (job.owner_id is not None and job.owner_id == caller.actor.user_id)


def latest_job(session, kind: str, subject_id: int) -> Job | None:
    return session.scalars(select(Job).where(Job.kind == kind, Job.subject_id == subject_id)
                           .order_by(Job.id.desc()).limit(1)).first()


def result_kept(job: Job, at: dt.datetime | None = None) -> bool:
    """Its result file is there to download (not yet expired)."""
    expires = aware(job.expires_at)
    return bool(job.result_path) and (expires is None or expires > (at or now()))


def job_dict(job: Job, locale: str | None = None, *, parts: list[JobPart] | None = None,
             at: dt.datetime | None = None) -> dict:
    """The job as the API and the screens show it: ``state`` (as the reader should see it: a vanished
    worker's job reads ``retrying``), ``progress``, ``message`` in the reader's language, ``result_url``."""
    done, total = job.progress_done, job.progress_total
    percent = None
    if total:
        percent = max(0, min(100, round(100 * (done or 0) / total)))
    return {
        "id": job.id, "kind": job.kind, "subject_id": job.subject_id,
        "state": effective_state(job, parts, at),
        "progress": {"done": done, "total": total, "stage": job.stage, "percent": percent},
        "message": message_for(job, locale),
        "result_url": f"/api/v1/job/{job.id}/result" if result_kept(job, at) else None,
        "result": job.result, "attempts": job.attempts,
        **{name: _iso(getattr(job, name))
           for name in ("created_at", "started_at", "finished_at", "expires_at")},
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return clock.local_iso(moment)
