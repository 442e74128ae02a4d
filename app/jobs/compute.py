"""A cycle scored as a background job: its compute (started by the screens and the API, answering at
once with the job), and the rules editor's what-if (a past cycle scored again with another rule-set
version, changing nothing: the answer is the job's ``result``). Run by a worker, progress on the job row.

The job ends inside the compute's own transaction (``compute_cycle(before_commit=…)``): the appraisals
and the job's "done" are committed together or not at all. A worker killed mid-compute leaves nothing
(the compute never committed); the reaper sends the job again and the rerun gives what an uninterrupted
compute gives, as a rerun of any compute does.
"""

from __future__ import annotations

from celery import shared_task
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import UNFINISHED, Cycle, Job, JobKind, JobState
from ..services import compute as service
from ..services import rules as rules_service
from ..services.compute import ComputeResult, CycleError
from ..services.errors import NotFound, ServiceError
from ..services.progress import progress_of
from ..workflow import Actor
from .messages import both, message_for
from .queries import job_dict, latest_job, may_see
from .runtime import Run, claimed, effective_state
from .start import start_job

WHATIF = JobKind.WHATIF  # a job kind of its own: a what-if's answer is its job's result
# The compute's own stage names as the job's bar names them (templates/jobs/_progress.html).
STAGES = {"rules": "rules", "metrics": "inputs", "appraise": "score", "write": "write"}
RESULT_CHANGES = 200  # changes listed on the job's result (as on the cycle's last result)


def actor_params(actor: Actor) -> dict:
    """The person who started the compute, as the job's params keep it (the audit trail names them)."""
    return {"user_id": actor.user_id, "roles": sorted(actor.roles), "employee_id": actor.employee_id,
            "name": actor.name}


def actor_from(params: dict | None) -> Actor | None:
    if not params:
        return None
    return Actor(params.get("user_id"), frozenset(params.get("roles") or ()), params.get("employee_id"),
                 params.get("name") or "")


def start_compute(session, cycle: Cycle, caller, rebind: bool = False) -> Job:
    """Start computing ``cycle`` in the caller's name; :class:`JobRunning` (409, naming the job) while a
    compute of that cycle is unfinished."""
    actor = caller.actor
    return start_job(session, JobKind.COMPUTE, owner_id=actor.user_id, subject_id=cycle.id,
                     params={"cycle_id": cycle.id, "rebind": bool(rebind), "actor": actor_params(actor)},
                     active_key=f"compute:{cycle.id}",
                     running_message=_l("This cycle is being computed already."))


def summary(result: dict):
    return _l("Computed: %(created)s created, %(changed)s changed, %(unchanged)s unchanged, %(locked)s "
              "locked.", created=result["created"], changed=result["updated"],
              unchanged=result["unchanged"], locked=result["locked"])


def run_compute(run: Run) -> ComputeResult:
    """The job's work: the compute, its progress on the job, the job's end in its transaction."""
    params = run.params
    cycle = db.session.get(Cycle, params.get("cycle_id"))
    if cycle is None:
        raise NotFound(_l("The cycle no longer exists."))

    def progress(stage: str, done: int, total: int) -> None:
        run.progress(STAGES.get(stage, stage), done, total)

    def finish(session, result: ComputeResult) -> None:
        shown = result.to_dict(limit=RESULT_CHANGES)
        run.finish_in(session, result=shown, message=both(summary(shown)))

    try:
        return service.compute_cycle(db.session, cycle, progress, actor=actor_from(params.get("actor")),
                                     rebind=params.get("rebind") is True, before_commit=finish)
    except CycleError as exc:  # the service's refusal, kept in both languages
        raise ServiceError(exc.sentence, code=exc.code) from exc


@shared_task(bind=True, name="jixiao.compute_cycle", acks_late=True, ignore_result=True)
def compute_cycle_task(self, job_id: int) -> None:  # noqa: ARG001 - bound task: ``self`` is the Celery task
    with claimed(job_id, stage="rules") as run:
        if run is None:
            return
        run_compute(run)


def busy_cycles(session) -> set[int]:
    """The cycles with an unfinished compute job."""
    return set(session.scalars(select(Job.subject_id).where(Job.kind == JobKind.COMPUTE,
                                                            Job.state.in_(UNFINISHED))))


def compute_progress(session, cycle: Cycle, caller, locale: str | None = None) -> dict:
    """A cycle's compute as the progress API reports it: from its latest compute job (``job`` shown to
    its owner and HR), or from the cycle row while a command-line compute runs."""
    job = latest_job(session, JobKind.COMPUTE, cycle.id)
    # The cycle row read after the job (each statement sees the latest commit): a job seen finished has
    # its compute's commit before it, so the status shown is the computed one.
    session.refresh(cycle)
    row = progress_of(cycle)
    if job is None or (job.state not in UNFINISHED and row["running"]):
        return {**row, "job_id": None, "job": None}
    state = effective_state(job)
    unfinished = state in UNFINISHED
    failed = state == JobState.FAILED
    return {
        "status": row["status"], "computed_at": row["computed_at"],
        "running": unfinished, "state": state, "stage": job.stage if unfinished else None,
        "done": job.progress_done, "total": job.progress_total,
        "error": message_for(job, locale) if failed else None,
        "interrupted": state == JobState.RETRYING,
        "job_id": job.id, "job": job_dict(job, locale) if may_see(job, caller) else None,
    }


def start_whatif(session, version_id: int, cycle_name: str, caller, locale: str) -> Job:
    """Start scoring the cycle ``cycle_name`` again with the rule-set version ``version_id``, answered in
    ``locale``; the caller's unfinished what-if of the same version and cycle when there is one."""
    cycle_id = session.scalar(select(Cycle.id).where(Cycle.name == cycle_name))
    if cycle_id is None:
        raise NotFound(_l("There is no cycle named “%(name)s”.", name=cycle_name))
    owner = caller.actor.user_id
    return start_job(session, WHATIF, owner_id=owner, subject_id=cycle_id, reuse=True,
                     params={"version_id": version_id, "cycle": cycle_name, "locale": locale},
                     active_key=f"whatif:{version_id}:{cycle_id}:{owner}")


def whatif_jobs(session, caller, version_id: int, cycle_name: str, limit: int = 20) -> list[Job]:
    """The caller's latest what-ifs of that version and cycle, newest first."""
    query = select(Job).where(Job.kind == WHATIF, Job.owner_id == caller.actor.user_id) \
        .order_by(Job.id.desc()).limit(limit)
    wanted = {"version_id": version_id, "cycle": cycle_name}
    return [job for job in session.scalars(query)
            if {key: (job.params or {}).get(key) for key in wanted} == wanted]


@shared_task(bind=True, name="jixiao.whatif", acks_late=True, ignore_result=True)
def whatif_task(self, job_id: int) -> None:  # noqa: ARG001 - bound task: ``self`` is the Celery task
    with claimed(job_id, stage="inputs") as run:
        if run is None:
            return
        params = run.params
        result = rules_service.whatif(db.session, int(params["version_id"]), str(params["cycle"]),
                                      locale=params.get("locale") or "zh_CN", progress=run.progress)
        db.session.rollback()  # the what-if changes nothing; only the job's end is written
        run.finish_in(db.session, result=result, message=both(_l(
            "%(n)s of %(total)s changed", n=result["changed"], total=len(result["employees"]))))
        db.session.commit()
