"""Who is told: the people who may move an appraisal on now, the employees whose results were published,
the owner of a finished job.

``next_actors`` asks the workflow (``waiting_for``) who is expected, turns those parties into users (with
their active substitutes), and keeps only the users for whom the appraisal really is in their inbox: the
same test as the inbox, ``allowed_actions`` without the loops, for the caller each user would be. The
appraised employee is told only of a result they can see (published, approved/signed/disputed).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from .. import clock
from .. import permissions as p
from ..models import Appraisal, Employee
from ..models.appraisal import VISIBLE_TO_SUBJECT
from ..services import appraisals, workflows
from ..services.caller import SYSTEM_CALLER, Caller, caller_for
from ..services.substitutes import active_substitutes
from ..workflow import Facts, WorkflowTable, allowed_actions, waiting_for

SELF, SUPERVISOR, STATION_MANAGER, HR = "self", "supervisor", "station_manager", "hr"
_CALLERS = "jixiao_notify_callers"  # session.info: the callers of this transaction, by user id


def load_fresh(session, appraisal_id: int) -> tuple[Appraisal, Facts, WorkflowTable]:
    """The appraisal as it is now in this transaction (a state changed by a core UPDATE is re-read),
    its facts and its workflow table."""
    held = session.identity_map.get(identity_key(Appraisal, int(appraisal_id)))
    if held is not None:
        session.expire(held)
    appraisal, facts = appraisals.load(session, appraisal_id, SYSTEM_CALLER)
    return appraisal, facts, workflows.workflow_table(session, appraisal.rule_set_version_id)


def hr_users(session) -> list[int]:
    """The active users holding HR; the administrators only when nobody does."""
    for role in (p.HR, p.ADMIN):
        found = session.scalars(select(User.id).join(User.roles)
                                .where(Role.name == role, User.active.is_(True))
                                .order_by(User.id)).all()
        if found:
            return list(dict.fromkeys(found))
    return []


def _users_of_employees(session, employee_ids: Iterable[int]) -> dict[int, int]:
    wanted = sorted({i for i in employee_ids if i is not None})
    if not wanted:
        return {}
    rows = session.execute(select(Employee.id, Employee.user_id).join(User, User.id == Employee.user_id)
                           .where(Employee.id.in_(wanted), User.active.is_(True))).all()
    return {employee_id: user_id for employee_id, user_id in rows}


def _caller(session, user_id: int) -> Caller | None:
    """The caller ``user_id`` would be, cached for this transaction."""
    real = session() if hasattr(session, "registry") else session  # a scoped session: its current one
    transaction = real.get_transaction()
    cached = session.info.get(_CALLERS)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_CALLERS] = cached
    callers = cached[1]
    if user_id not in callers:
        user = session.get(User, user_id)
        callers[user_id] = caller_for(session, user) if user is not None and user.active else None
    return callers[user_id]


def _may_act(session, table: WorkflowTable, facts: Facts, user_id: int) -> bool:
    """The inbox test: this user may take a step that moves the appraisal on."""
    caller = _caller(session, user_id)
    if caller is None:
        return False
    return bool([t for t in allowed_actions(table, facts, caller.actor) if not t.is_loop])


def subject_sees(facts: Facts) -> bool:
    """The appraised employee sees the result (Appraisal.subject_rule)."""
    return facts.published and facts.state in {s.value for s in VISIBLE_TO_SUBJECT}


def actors_of(session, appraisal: Appraisal, facts: Facts, table: WorkflowTable,
              exclude_user_id: int | None = None) -> dict[int, dict]:
    """User id → extra parameters (``acting_for``: whom a substitute stands in for) of the people who
    may move this appraisal on now; ``exclude_user_id`` (who just acted) is left out."""
    if not appraisal.is_current:
        return {}
    parties = waiting_for(table, facts)
    by_employee = _users_of_employees(session, [party.employee_id for party in parties]
                                      + [appraisal.employee_id])
    principals: dict[int, str] = {}  # user id → relation
    for party in parties:
        if party.relation == HR and party.employee_id is None:
            for user_id in hr_users(session):
                principals.setdefault(user_id, HR)
        elif party.employee_id in by_employee:
            principals.setdefault(by_employee[party.employee_id], party.relation)
    candidates: dict[int, dict] = {user_id: {} for user_id in principals}
    stand_ins = active_substitutes(session, list(principals), clock.local_today())
    for principal_id, substitutes in stand_ins.items():
        for substitute_id in substitutes:
            if substitute_id not in candidates:
                candidates[substitute_id] = {"acting_for": _name(session, principal_id)}
    subject = by_employee.get(appraisal.employee_id)
    out = {}
    for user_id, extra in candidates.items():
        if user_id == exclude_user_id:
            continue
        if user_id == subject and not subject_sees(facts):
            continue
        if _may_act(session, table, facts, user_id):
            out[user_id] = extra
    return out


def _name(session, user_id: int) -> str:
    caller = _caller(session, user_id)
    return caller.actor.name if caller is not None else ""


def next_actors(session, appraisal_id: int, exclude_user_id: int | None = None) -> dict[int, dict]:
    """User id → extra parameters of whoever may move the appraisal on now (see :func:`actors_of`)."""
    appraisal, facts, table = load_fresh(session, appraisal_id)
    return actors_of(session, appraisal, facts, table, exclude_user_id)


def subject_user(session, appraisal: Appraisal) -> int | None:
    """The appraised employee's active user, if any."""
    return _users_of_employees(session, [appraisal.employee_id]).get(appraisal.employee_id)


def published_subjects(session, cycle_id: int) -> dict[int, dict]:
    """User id → extra parameters of the employees whose current appraisal in the published cycle is a
    result they see (approved, signed, disputed)."""
    rows = session.execute(
        select(Employee.user_id, Appraisal.id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(User, User.id == Employee.user_id)
        .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True),
               Appraisal.state.in_(VISIBLE_TO_SUBJECT), User.active.is_(True))
    ).all()
    return {user_id: {"appraisal": appraisal_id} for user_id, appraisal_id in rows}
