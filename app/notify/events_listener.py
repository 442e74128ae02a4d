"""The listener of the services' events: who is told what, written in the event's own transaction.

A step taken (submit, approve, return, dispute, resolve, uphold, sign; an amendment; a countersign seat;
a reassignment) tells whoever may move the appraisal on now; a result the employee can now see tells the
employee; a publication tells every employee with a visible result; a finished job tells its owner.
The event's key makes each notification once per user, however often the event is seen.
"""

from __future__ import annotations

from sqlalchemy import select

from ..models import Appraisal, AuditEvent, Cycle, CycleDeadline, Job
from ..services import appraisals, workflows
from ..services import events as ev
from ..workflow import window_closes
from . import messages, recipients
from .record import notify_users

# What a finished job is called, in both languages (app/models/jobs.py JobKind).
JOB_NAMES = {
    "compute": messages.bilingual("周期计算", "Cycle compute"),
    "export": messages.bilingual("PDF 导出", "PDF export"),
    "import": messages.bilingual("导入", "Import"),
}
MINE = "/appraisal/mine/"
# Steps the workflow table does not name among its actions.
OTHER_ACTIONS = {
    "amend": messages.bilingual("更正", "Amend"),
    "countersign": messages.bilingual("会签", "Countersign"),
    "reassign": messages.bilingual("转交", "Reassign"),
}


def on_event(session, event: ev.Event) -> None:
    """Registered with ``services.events``; runs in the caller's transaction and never commits."""
    if event.kind in (ev.TRANSITION, ev.AMEND, ev.COUNTERSIGN, ev.REASSIGN):
        for appraisal_id in event.appraisal_ids:
            _appraisal_moved(session, event, appraisal_id)
    elif event.kind == ev.PUBLISH and event.cycle_id is not None:
        _published(session, event)
    elif event.kind == ev.JOB_FINISHED and event.job_id is not None:
        _job_finished(session, event)


def _due(session, cycle_id: int, state: str) -> str | None:
    due = session.scalar(select(CycleDeadline.due_at).where(CycleDeadline.cycle_id == cycle_id,
                                                            CycleDeadline.state == state))
    return due.isoformat() if due is not None else None


def _audit(session, key: str) -> AuditEvent | None:
    kind, _, ident = key.partition(":")
    return session.get(AuditEvent, int(ident)) if kind == "audit" and ident.isdigit() else None


def _appraisal_moved(session, event: ev.Event, appraisal_id: int) -> None:
    appraisal, facts, table = recipients.load_fresh(session, appraisal_id)
    users = recipients.actors_of(session, appraisal, facts, table, event.actor_user_id)
    if not users:
        return
    employee = appraisal.employee
    cycle = session.get(Cycle, appraisal.cycle_id)
    audit = _audit(session, event.key)
    state = facts.state
    params = {"cycle": cycle.name, "employee_no": employee.employee_no, "employee": employee.name,
              "state": messages.bilingual(table.state_label(state, "zh_CN"), table.state_label(state, "en")),
              "due": _due(session, cycle.id, state)}
    if event.action:
        zh, en = table.action_label(event.action, "zh_CN"), table.action_label(event.action, "en")
        params["action"] = OTHER_ACTIONS.get(event.action) if zh == en == event.action else None
        params["action"] = params["action"] or messages.bilingual(zh, en)
    if audit is not None:
        params["by"] = audit.who
        if audit.on_behalf_of:
            params["by_for"] = audit.on_behalf_of
    subject = recipients.subject_user(session, appraisal)
    if subject in users:  # a result the employee sees now: theirs to sign or dispute
        own = {subject: users.pop(subject)}
        notify_users(session, key=event.key, kind=messages.RESULT_PUBLISHED, users=own,
                     params={"cycle": cycle.name, "due": _sign_by(session, cycle, table)}, link=MINE,
                     appraisal_id=appraisal.id, cycle_id=cycle.id)
    if not users:
        return
    kind, link = messages.ACT, f"/appraisal/show/{appraisal.id}"
    if event.kind == ev.COUNTERSIGN:
        kind = messages.COUNTERSIGN
        status = appraisals.countersign_status(table, facts)
        params["done"], params["needed"] = status or (0, 0)
    elif event.kind == ev.REASSIGN:
        kind = messages.REASSIGNED
        params["reason"] = audit.comment if audit is not None else None
    notify_users(session, key=event.key, kind=kind, users=users, params=params, link=link,
                 appraisal_id=appraisal.id, cycle_id=cycle.id, station_ids=(appraisal.station_id,),
                 robots=event.kind in (ev.TRANSITION, ev.AMEND))


def _sign_by(session, cycle: Cycle, table) -> str | None:
    """When a published result is to be signed or disputed by: the cycle's due date for it, else the
    end of the window after publication."""
    due = _due(session, cycle.id, "approved")
    if due is None and cycle.published_at is not None:
        closes = window_closes(table, cycle.published_at)
        due = closes.isoformat() if closes is not None else None
    return due


def _published(session, event: ev.Event) -> None:
    users = recipients.published_subjects(session, event.cycle_id)
    cycle = session.get(Cycle, event.cycle_id)
    session.refresh(cycle, ["published_at"])  # set by a core UPDATE in this transaction
    first = session.scalar(select(Appraisal).where(Appraisal.cycle_id == cycle.id).limit(1))
    if first is None:
        return
    table = workflows.workflow_table(session, first.rule_set_version_id)
    stations = session.scalars(select(Appraisal.station_id).where(Appraisal.cycle_id == cycle.id)
                               .distinct()).all()
    notify_users(session, key=event.key, kind=messages.RESULT_PUBLISHED, users=users,
                 params={"cycle": cycle.name, "due": _sign_by(session, cycle, table)}, link=MINE,
                 cycle_id=cycle.id, station_ids=stations, robots=True)


def _job_finished(session, event: ev.Event) -> None:
    job = session.get(Job, event.job_id)
    if job is None or job.owner_id is None:  # the system's own jobs tell nobody
        return
    owner = job.owner_id
    state = event.key.rsplit(":", 1)[-1]
    notify_users(session, key=event.key, kind=messages.JOB_FINISHED, users={owner: {}},
                 params={"job": JOB_NAMES.get(job.kind, job.kind), "state": state}, link="/jobs/",
                 job_id=event.job_id, cycle_id=job.subject_id if job.kind in ("compute", "export") else None)
