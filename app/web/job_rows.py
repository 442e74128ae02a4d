"""The jobs a caller may see, as the jobs API and the "My jobs" screen read them.

Visibility is app.jobs.visible_jobs (HR and administrators every job, anyone else their own); a job
rendering in parts is read with its parts, so a vanished worker's part shows the job as retrying.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..hardening import MAX_KEY
from ..jobs import Job, job_dict, visible_jobs
from ..models import JobPart
from ..services.caller import Caller


def visible_job(session, caller: Caller, pk) -> Job | None:
    """The job ``pk`` when the caller may see it; None when it is absent or not theirs."""
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= MAX_KEY:
        return None
    return session.scalars(visible_jobs(caller).where(Job.id == pk)).first()


def count_visible(session, caller: Caller) -> int:
    return session.scalar(select(func.count()).select_from(visible_jobs(caller).order_by(None).subquery()))


def page_of_jobs(session, caller: Caller, page: int, page_size: int) -> list[Job]:
    """One page (0-based) of the caller's visible jobs, newest first."""
    return list(session.scalars(visible_jobs(caller).offset(page * page_size).limit(page_size)))


def job_dicts(session, jobs: list[Job], locale: str | None) -> list[dict]:
    """``job_dict`` of each job, in the reader's language, with the parts of those rendering in parts."""
    rendering = [job.id for job in jobs if job.stage == "render"]
    parts: dict[int, list[JobPart]] = {job_id: [] for job_id in rendering}
    if rendering:
        for part in session.scalars(select(JobPart).where(JobPart.job_id.in_(rendering))):
            parts[part.job_id].append(part)
    return [job_dict(job, locale, parts=parts.get(job.id)) for job in jobs]

