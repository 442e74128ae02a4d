"""The periodic cleanup job: results past their keep time, leftovers of finished jobs, old job rows.

Every step may run twice (two cleanups, a redelivery) without harm: each removes what is still there.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time

from celery import shared_task
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import UNFINISHED, Job, JobKind, JobPart
from . import storage
from .messages import both
from .runtime import claimed, now

log = logging.getLogger(__name__)
JOB = Job.__table__
ORPHAN_TMP_AGE = dt.timedelta(days=1)
# The periodic jobs themselves (hourly cleanups, due-date rounds every 15 minutes) are not worth a long
# history.
CLEANUP_HISTORY = dt.timedelta(days=1)
SHORT_HISTORY = (JobKind.CLEANUP, JobKind.DEADLINES)


@shared_task(bind=True, name="jixiao.cleanup", acks_late=True, ignore_result=True)
def cleanup(self, job_id: int) -> None:  # noqa: ARG001 - bound task: ``self`` is the Celery task
    with claimed(job_id) as run:
        if run is None:
            return
        counts = remove_expired(now())
        run.finish_in(db.session, result=counts, message=both(_l(
            "Removed %(files)s expired files and %(jobs)s old jobs.",
            files=counts["files"], jobs=counts["jobs"])))
        db.session.commit()


def remove_expired(at: dt.datetime) -> dict[str, int]:
    """Delete what has outlived its keep time; the counts of files and job rows removed."""
    files = _expired_results(at) + _leftover_files(at)
    jobs = _old_jobs(at)
    return {"files": files, "jobs": jobs}


def _expired_results(at: dt.datetime) -> int:
    removed = 0
    expired = db.session.execute(select(JOB.c.id, JOB.c.result_path).where(
        JOB.c.expires_at < at, JOB.c.result_path.is_not(None))).all()
    for job_id, stored in expired:
        removed += _unlink(stored)
        db.session.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.result_path == stored)
                           .values(result_path=None))
    db.session.commit()
    return removed


def _leftover_files(at: dt.datetime) -> int:
    """Uploads and part folders no unfinished job needs, and half-written files of killed writers."""
    base = storage.job_dir()
    if not base.is_dir():
        return 0
    unfinished = db.session.execute(select(Job.id, Job.params).where(Job.state.in_(UNFINISHED))).all()
    db.session.rollback()
    wanted_uploads = {str((params or {}).get("upload") or "") for _, params in unfinished}
    active_parts = {storage.part_dir(job_id).name for job_id, _ in unfinished}
    keep = float(current_app.config["JIXIAO_JOB_KEEP_HOURS"]) * 3600
    removed = 0
    uploads = base / "uploads"
    for path in sorted(uploads.iterdir()) if uploads.is_dir() else ():
        if path.is_file() and storage.relative(path) not in wanted_uploads and _age(path) > keep:
            path.unlink(missing_ok=True)
            removed += 1
    parts = base / "parts"
    for folder in sorted(parts.iterdir()) if parts.is_dir() else ():
        if folder.is_dir() and folder.name not in active_parts:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    for path in sorted(base.rglob(f"*{storage.TMP_SUFFIX}")):
        if path.is_file() and _age(path) > ORPHAN_TMP_AGE.total_seconds():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _old_jobs(at: dt.datetime) -> int:
    history = dt.timedelta(days=float(current_app.config["JIXIAO_JOB_HISTORY_DAYS"]))
    old = select(Job.id).where(Job.state.not_in(UNFINISHED)).where(
        (Job.finished_at < at - history)
        | (Job.kind.in_(SHORT_HISTORY) & (Job.finished_at < at - CLEANUP_HISTORY)))
    ids = db.session.scalars(old).all()
    kept = select(Job.result_path).where(Job.id.in_(ids), Job.result_path.is_not(None))
    for path in db.session.scalars(kept):
        _unlink(path)
    # SQLite enforces no ON DELETE CASCADE without its pragma: the parts go first, by hand.
    db.session.execute(delete(JobPart).where(JobPart.job_id.in_(ids)))
    db.session.execute(delete(Job).where(Job.id.in_(ids)))
    db.session.commit()
    return len(ids)


def _unlink(stored: str) -> int:
    try:
        path = storage.absolute(stored)
    except ValueError:
        log.warning("job result %r is outside the job folder; left alone", stored)
        return 0
    if path.exists():
        path.unlink()
        return 1
    return 0


def _age(path) -> float:
    return time.time() - path.stat().st_mtime
