"""A cycle's PDFs as one zip (HR's download), rendered in parts on every worker at once.

``jixiao.export_cycle`` (the entry task) plans the job once: the cycle's current appraisals, in id order,
become ``job_part`` rows of ``JIXIAO_EXPORT_PART_SIZE`` each, written in the transaction that moves the job
to the stage ``render`` and gives up its claim (the job stays running, held by nobody: its parts are held
instead). One ``jixiao.export_part`` message per part goes out as a group, so idle workers take them in
parallel. A part is claimed like a job (a conditional UPDATE storing a token, its own heartbeat), renders
its appraisals in the worker's own process into a file of its own, and lands it at its final name
(``storage.part_path``) under the lock of the fenced UPDATE that marks it done: of two deliveries of a
part, one file lands. The delivery that finishes the last part sends ``jixiao.export_assemble``, which
claims the job only while every part is done and nobody holds it, so the zip is assembled once; it is
written whole before it gets its name (``storage.atomic_file``), and the job ends with it in one commit.

A worker killed mid-part leaves a stale part: the ticker's reaper makes it pending and sends it again. A
worker killed between its part and the assemble message leaves a job whose parts are all done: the
ticker sends the assembly (``assemble_ready``). A redelivered entry task finds the parts planned and only
sends those still pending (or the assembly). An empty cycle ends done at once, with a sentence and no
zip.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import zipfile
from pathlib import Path

from celery import shared_task
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from ..extensions import db
from ..models import Cycle, Job, JobKind, JobPart, JobState
from ..services.errors import NotFound, ServiceError
from ..services.pdf_export import current_appraisal_ids, write_appraisals
from ..services.signoff import safe_file_name
from . import dispatch, storage, ticker
from .messages import both, message_columns
from .queries import job_dict, latest_job, result_kept
from .runtime import Beat, LostClaim, Run, Stopping, claimed, new_token, now, stale_before
from .signals import job_finished
from .start import start_job

log = logging.getLogger(__name__)
JOB, PART = Job.__table__, JobPart.__table__
PLAN, ASSEMBLE, RENDER = "plan", "assemble", ticker.RENDER
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
# The final zip is deflated (5% smaller, ~2 ms a PDF, once); the parts are stored as they are.
COMPRESSION = zipfile.ZIP_DEFLATED


def start_export(session, cycle: Cycle, caller, locale: str) -> Job:
    """Start exporting ``cycle``'s PDFs in ``locale`` for the caller; an export of the same cycle and
    language still unfinished is joined instead (a second click follows the first one's job)."""
    return start_job(session, JobKind.EXPORT, owner_id=caller.actor.user_id, subject_id=cycle.id,
                     params={"cycle_id": cycle.id, "locale": locale},
                     active_key=f"export:{cycle.id}:{locale}", reuse=True)


def finished_export(session, cycle_id: int, locale: str) -> Job | None:
    """The newest finished export of the cycle in ``locale`` whose zip is still kept; None without one."""
    jobs = session.scalars(select(Job).where(Job.kind == JobKind.EXPORT, Job.subject_id == cycle_id,
                                             Job.state == JobState.DONE, Job.result_path.is_not(None))
                           .order_by(Job.id.desc()).limit(20))
    return next((job for job in jobs
                 if (job.params or {}).get("locale") == locale and result_kept(job)), None)


def latest_export(session, cycle_id: int, locale: str | None = None) -> dict | None:
    """The cycle's latest export as screens show it (``job_dict``, its parts telling a stalled render
    from a running one), or None."""
    job = latest_job(session, JobKind.EXPORT, cycle_id)
    if job is None:
        return None
    parts = None
    if job.state == JobState.RUNNING and job.stage == RENDER:
        parts = list(session.scalars(select(JobPart).where(JobPart.job_id == job.id)))
    return job_dict(job, locale, parts=parts)


# -- the entry task: plan the parts once, send them ----------------------------------------------------------

@shared_task(bind=True, name="jixiao.export_cycle", acks_late=True, ignore_result=True)
def export_cycle(self, job_id: int) -> None:  # noqa: ARG001 - bound task: ``self`` is the Celery task
    planned = None
    with claimed(job_id, stage=PLAN) as run:
        if run is None:
            return
        planned = plan(run)
    if planned is None:
        return
    if planned:
        ticker.send_parts(job_id, planned)
    else:  # every part is rendered already (a redelivery after the assembly's worker vanished)
        dispatch.send(ticker.ASSEMBLE_TASK, job_id)


def plan(run: Run) -> list[int] | None:
    """Write the job's parts unless it has them, and hand the job over to them (stage render, no claim);
    the numbers of the parts to send (none: all are done), or None when the job ended here."""
    job_id = run.job_id
    if not db.session.scalar(select(func.count()).select_from(PART).where(PART.c.job_id == job_id)):
        cycle = db.session.get(Cycle, run.params.get("cycle_id"))
        if cycle is None:
            raise NotFound(_l("The cycle of this export no longer exists."))
        ids = current_appraisal_ids(db.session, cycle.id)
        if not ids:
            run.finish_in(db.session, result={"pdfs": 0}, message=both(_l(
                "The cycle %(cycle)s has no appraisals: there is nothing to export.", cycle=cycle.name)))
            db.session.commit()
            return None
        size = max(1, int(current_app.config["JIXIAO_EXPORT_PART_SIZE"]))
        db.session.execute(insert(PART), [
            {"job_id": job_id, "number": number, "appraisal_ids": ids[start:start + size], "state": PENDING,
             "attempts": 0}
            for number, start in enumerate(range(0, len(ids), size), 1)])
    parts = db.session.execute(select(PART.c.number, PART.c.state, PART.c.appraisal_ids)
                               .where(PART.c.job_id == job_id).order_by(PART.c.number)).all()
    total = sum(len(part.appraisal_ids) for part in parts)
    done = sum(len(part.appraisal_ids) for part in parts if part.state == DONE)
    pending = [part.number for part in parts if part.state == PENDING]
    release(run, total=total, done=done)
    # The pending parts are sent now: stamped so, and the ticker resends only when they wait too long.
    db.session.execute(update(PART).where(PART.c.job_id == job_id, PART.c.state == PENDING)
                       .values(heartbeat_at=now()))
    db.session.commit()
    return pending


def release(run: Run, **progress) -> None:
    """The job goes on in parts: running, stage render, held by nobody (in the caller's transaction)."""
    values = {"stage": RENDER, "claim": None, "heartbeat_at": now()}
    if "total" in progress:
        values.update(progress_total=progress["total"], progress_done=progress["done"])
    if db.session.execute(update(JOB).where(run.fenced()).values(values)).rowcount != 1:
        raise LostClaim(f"job {run.job_id} was taken over")


# -- one part -----------------------------------------------------------------------------------------------

class PartHold:
    """One delivery's hold on a part: what :class:`~app.jobs.runtime.Beat` needs to keep it alive."""

    table = PART

    def __init__(self, part_id: int, job_id: int, number: int, token: str, appraisal_ids: list[int],
                 attempts: int, params: dict, engine) -> None:
        self.part_id, self.job_id, self.number, self.token = part_id, job_id, number, token
        self.appraisal_ids, self.attempts, self.params, self.engine = appraisal_ids, attempts, params, engine
        self.lost = False

    def fenced(self):
        return and_(PART.c.id == self.part_id, PART.c.claim == self.token, PART.c.state == RUNNING)

    def progress_values(self) -> dict:
        return {}  # the job's progress moves a part at a time, when a part is done

    def check(self, _done: int = 0) -> None:
        if self.lost:
            raise LostClaim(f"part {self.number} of job {self.job_id} was taken over")


def claim_part(job_id: int, number: int) -> PartHold | None:
    """Claim a pending part (or a running one whose heartbeat went stale) of a job rendering its parts;
    None when it is not ours to render (done, held by a live delivery, or its job ended)."""
    at, token = now(), new_token()
    job_renders = exists(select(JOB.c.id).where(JOB.c.id == job_id, JOB.c.state == JobState.RUNNING,
                                                JOB.c.stage == RENDER))
    claimable = or_(PART.c.state == PENDING,
                    and_(PART.c.state == RUNNING, PART.c.heartbeat_at < stale_before(at)))
    engine = db.engine
    with engine.begin() as conn:
        taken = conn.execute(update(PART).where(PART.c.job_id == job_id, PART.c.number == number, claimable,
                                                job_renders)
                             .values(state=RUNNING, claim=token, heartbeat_at=at,
                                     attempts=PART.c.attempts + 1)).rowcount
        if taken != 1:
            return None
        part = conn.execute(select(PART.c.id, PART.c.appraisal_ids, PART.c.attempts)
                            .where(PART.c.job_id == job_id, PART.c.number == number)).one()
        params = conn.scalar(select(JOB.c.params).where(JOB.c.id == job_id)) or {}
    hold = PartHold(part.id, job_id, number, token, list(part.appraisal_ids), part.attempts, params, engine)
    if part.attempts > current_app.config["JIXIAO_JOB_MAX_ATTEMPTS"]:
        fail_part(hold, both(_l("Gave up after %(n)s attempts.", n=part.attempts - 1)))
        return None
    return hold


@shared_task(bind=True, name="jixiao.export_part", acks_late=True, ignore_result=True)
def export_part(self, job_id: int, number: int) -> None:  # noqa: ARG001 - bound task
    hold = claim_part(job_id, number)
    if hold is None:
        return
    beat = Beat(hold, float(current_app.config["JIXIAO_JOB_HEARTBEAT_SECONDS"]))
    beat.start()
    last = False
    try:
        last = render_part(hold)
    except LostClaim:
        db.session.rollback()
        log.info("job %s: part %s was taken over; this delivery's work is void", job_id, number)
    except Stopping:
        db.session.rollback()
        give_back(hold)
        raise
    except (OperationalError, DBAPIError) as exc:
        db.session.rollback()
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            log.warning("job %s: part %s met a database error; sent again later: %s", job_id, number, exc)
            if give_back(hold):
                countdown = float(current_app.config["JIXIAO_JOB_RETRY_SECONDS"]) * hold.attempts
                ticker.send_parts(job_id, [number], countdown=countdown)
        else:
            log.exception("job %s: part %s failed", job_id, number)
            fail_part(hold, both(_l("The job failed (%(error)s).", error=type(exc).__name__)))
    except ServiceError as exc:
        db.session.rollback()
        fail_part(hold, both(exc.message))
    except Exception as exc:  # noqa: BLE001 - the job shows it failed, the log says why
        db.session.rollback()
        log.exception("job %s: part %s failed", job_id, number)
        fail_part(hold, both(_l("The job failed (%(error)s).", error=type(exc).__name__)))
    finally:
        beat.stop()
    if last:
        dispatch.send(ticker.ASSEMBLE_TASK, job_id)


def render_part(hold: PartHold) -> bool:
    """Render the part into a file of this delivery's own, then land it and mark the part done in one
    transaction fenced on the claim; True when no part of the job is left to render."""
    final = storage.part_path(hold.job_id, hold.number)
    mine = final.with_name(f"{final.stem}.{hold.token}.zip")
    locale = hold.params.get("locale") or "zh_CN"
    try:
        with storage.atomic_file(mine) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as archive:
            write_appraisals(db.session, hold.appraisal_ids, archive, locale, progress=hold.check)
        db.session.rollback()  # the reads' transaction: the write below starts afresh
        at = now()
        # The fenced UPDATE locks the part's row until the commit: no other delivery of it passes its own
        # fence meanwhile, so the file that lands under the part's name is the one its "done" names.
        if db.session.execute(update(PART).where(hold.fenced())
                              .values(state=DONE, claim=None, heartbeat_at=at)).rowcount != 1:
            raise LostClaim(f"part {hold.number} of job {hold.job_id} was taken over")
        os.replace(mine, final)
        db.session.execute(update(JOB).where(JOB.c.id == hold.job_id, JOB.c.state == JobState.RUNNING).values(
            progress_done=func.coalesce(JOB.c.progress_done, 0) + len(hold.appraisal_ids), heartbeat_at=at))
        db.session.commit()
    finally:
        mine.unlink(missing_ok=True)
    left = db.session.scalar(select(func.count()).select_from(PART)
                             .where(PART.c.job_id == hold.job_id, PART.c.state != DONE))
    db.session.rollback()
    return left == 0


def give_back(hold: PartHold) -> bool:
    """Pending again at once (the worker stops, or the database went away for a moment)."""
    with hold.engine.begin() as conn:
        return conn.execute(update(PART).where(hold.fenced())
                            .values(state=PENDING, claim=None, heartbeat_at=None)).rowcount == 1


def fail_part(hold: PartHold, message: dict) -> None:
    """The part cannot be rendered: it fails, and its job with it (the other parts stop at their claim)."""
    at = now()
    keep = dt.timedelta(hours=float(current_app.config["JIXIAO_JOB_KEEP_HOURS"]))
    with hold.engine.begin() as conn:
        if conn.execute(update(PART).where(PART.c.id == hold.part_id, PART.c.state.in_([PENDING, RUNNING]))
                        .values(state=FAILED, claim=None)).rowcount != 1:
            return
        failed = conn.execute(update(JOB).where(JOB.c.id == hold.job_id, JOB.c.state == JobState.RUNNING)
                              .values(state=JobState.FAILED, claim=None, active_key=None, finished_at=at,
                                      expires_at=at + keep, **message_columns(message))).rowcount
    if failed:
        job_finished.send(current_app._get_current_object(), job_id=hold.job_id, state=JobState.FAILED)


# -- the assembly -------------------------------------------------------------------------------------------

@shared_task(bind=True, name="jixiao.export_assemble", acks_late=True, ignore_result=True)
def export_assemble(self, job_id: int) -> None:  # noqa: ARG001 - bound task
    again: list[int] = []
    with claimed(job_id, stage=ASSEMBLE, when=ticker.rendered()) as run:
        if run is None:
            return
        again = assemble(run)
    if again:
        ticker.send_parts(job_id, again)
    elif run.finished == JobState.DONE:
        shutil.rmtree(storage.part_dir(job_id), ignore_errors=True)


def assemble(run: Run) -> list[int]:
    """Concatenate the parts into the job's zip and end the job with it; the numbers of parts whose
    file is missing (rendered again first: the job goes back to rendering them)."""
    job_id = run.job_id
    parts = db.session.execute(select(PART.c.number, PART.c.appraisal_ids).where(PART.c.job_id == job_id)
                               .order_by(PART.c.number)).all()
    files = {part.number: storage.part_path(job_id, part.number) for part in parts}
    missing = [part for part in parts if not files[part.number].is_file()]
    if missing:
        return render_again(run, missing)
    cycle = db.session.get(Cycle, run.params.get("cycle_id"))
    cycle_name = cycle.name if cycle is not None else str(run.params.get("cycle_id"))
    target = storage.result_path(job_id, ".zip")
    count = concatenate([files[part.number] for part in parts], target, run)
    run.finish_in(db.session, result={"pdfs": count, "cycle_id": run.params.get("cycle_id")},
                  message=both(_l("%(n)s PDFs of the cycle %(cycle)s, in one zip.", n=count,
                                  cycle=cycle_name)),
                  path=storage.relative(target), name=f"{safe_file_name(cycle_name) or 'cycle'}.zip")
    db.session.commit()
    return []


def concatenate(sources: list[Path], target: Path, run: Run) -> int:
    """Every entry of the part zips, in order, into one zip written whole; entry names stay unique
    (``name-2.pdf``) as in the CLI's zip. How many entries."""
    used: set[str] = set()
    count = 0
    with storage.atomic_file(target) as fh, zipfile.ZipFile(fh, "w", COMPRESSION) as out:
        for source in sources:
            if run.lost:
                raise LostClaim(f"job {run.job_id} was taken over")
            with zipfile.ZipFile(source) as part:
                for info in part.infolist():
                    entry = zipfile.ZipInfo(unique_name(info.filename, used), date_time=info.date_time)
                    entry.compress_type, entry.file_size = COMPRESSION, info.file_size
                    with part.open(info) as src, out.open(entry, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    count += 1
    return count


def unique_name(name: str, used: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, f".{suffix}") if dot else (name, "")
    entry, n = name, 1
    while entry.lower() in used:
        n += 1
        entry = f"{stem}-{n}{suffix}"
    used.add(entry.lower())
    return entry


def render_again(run: Run, missing) -> list[int]:
    """Parts marked done whose files are gone (a folder not shared by every worker, or removed): pending
    again, and the job back to rendering them."""
    numbers = [part.number for part in missing]
    log.warning("job %s: the files of parts %s are missing; rendered again", run.job_id, numbers)
    at = now()
    db.session.execute(update(PART).where(PART.c.job_id == run.job_id, PART.c.number.in_(numbers))
                       .values(state=PENDING, claim=None, heartbeat_at=at))
    back = sum(len(part.appraisal_ids) for part in missing)
    done = case((JOB.c.progress_done > back, JOB.c.progress_done - back), else_=0)
    if db.session.execute(update(JOB).where(run.fenced()).values(
            stage=RENDER, claim=None, heartbeat_at=at, progress_done=done)).rowcount != 1:
        raise LostClaim(f"job {run.job_id} was taken over")
    db.session.commit()
    return numbers
