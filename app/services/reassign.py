"""HR's reassignment (转交): another reviewer takes an appraisal instead of the employee's supervisor,
for a reason. The workflow then treats the reviewer as the supervisor (``appraisals.REVIEWER_ID``): the new
reviewer acts, the old supervisor no longer can."""

from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from .. import permissions as p
from ..models import Appraisal, AuditEvent, Employee
from ..workflow import Refusal, State, check_comment
from .appraisals import load
from .audit import INTERNAL, REASSIGN, event_row, now
from .caller import Caller
from .errors import Conflict, Kind, ServiceError
from .events import REASSIGN as REASSIGNED
from .events import Event, emit

# The states in which a reviewer may be reassigned: before or during the first review, and a dispute.
REASSIGNABLE = (State.draft.value, State.pending_review.value, State.disputed.value)


class NotReassigner(ServiceError):
    """Only HR reassigns a reviewer (HTTP 403)."""

    kind = Kind.REFUSED
    default_message = _l("Only HR reassigns an appraisal's reviewer.")


class ReassignInvalid(ServiceError):
    """The reassignment cannot be done as given (HTTP 422); ``errors`` maps a field to its message."""

    kind = Kind.INVALID
    default_message = _l("Please correct the reassignment.")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors=errors)
        self.args = ("; ".join(f"{k}: {v}" for k, v in errors.items()),)
        self.errors = errors


class NotReassignable(Conflict):
    """The appraisal's state allows no reassignment (HTTP 409)."""

    default_message = _l("The reviewer can be reassigned only while the appraisal is a draft, pending "
                         "review or disputed.")


def _reviewer(session, value) -> Employee | None:
    try:
        ident = int(value)
    except (TypeError, ValueError):
        return None
    return session.get(Employee, ident) if 0 < ident < 2**31 else None


def reviewer_by_number(session, employee_no: str | None) -> int | None:
    """The employee id of an employee number (the API's ``reviewer_employee_no``); None if unknown."""
    if not (employee_no or "").strip():
        return None
    return session.scalar(select(Employee.id).where(Employee.employee_no == employee_no.strip()))


def reassign_reviewer(session, appraisal_id, caller: Caller, reviewer_employee_id, reason: str | None
                      ) -> Appraisal:
    """Make ``reviewer_employee_id`` the appraisal's reviewer instead of the supervisor, for ``reason``.
    HR only; the reviewer holds Supervisor or StationManager and is not the employee; the appraisal is
    current and a draft, pending review or disputed. One transaction: one conditional UPDATE, one internal
    audit event ``reassign`` and its event."""
    try:
        if p.HR not in caller.actor.roles:
            raise NotReassigner()
        appraisal, facts = load(session, appraisal_id, caller)
        if not appraisal.is_current:
            raise Conflict()
        if facts.state not in REASSIGNABLE:
            raise NotReassignable()
        errors: dict[str, str] = {}
        reviewer = _reviewer(session, reviewer_employee_id)
        if reviewer is None:
            errors["reviewer"] = _("Choose the employee who reviews instead.")
        elif reviewer.id == appraisal.employee_id:
            errors["reviewer"] = _("Nobody reviews their own appraisal.")
        else:
            user = session.get(User, reviewer.user_id) if reviewer.user_id is not None else None
            roles = {role.name for role in user.roles} if user is not None and user.active else set()
            if not roles & {p.SUPERVISOR, p.STATION_MANAGER}:
                errors["reviewer"] = _("The reviewer must be a supervisor or a station manager "
                                       "with an account.")
        if not (reason or "").strip():
            errors["reason"] = _("Give the reason for the reassignment.")
        else:
            try:
                check_comment(reason)
            except Refusal as exc:
                errors["reason"] = exc.reason(caller.locale)
        if errors:
            raise ReassignInvalid(errors)
        at = now()
        changed = session.execute(
            update(Appraisal)
            .where(Appraisal.id == appraisal.id, Appraisal.state == facts.state,
                   Appraisal.is_current.is_(True))
            .values(reviewer_id=reviewer.id, reviewer_reason=reason.strip(), updated_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise Conflict()
        event_id = session.execute(insert(AuditEvent).returning(AuditEvent.id), [
            event_row(appraisal.id, caller.actor, REASSIGN, facts.state, facts.state, reason,
                      appraisal.snapshot_hash, at, visibility=INTERNAL),
        ]).scalar_one()
        emit(session, Event(REASSIGNED, key=f"audit:{event_id}", appraisal_ids=(appraisal.id,),
                            cycle_id=appraisal.cycle_id, action=REASSIGN, source=facts.state,
                            target=facts.state, actor_user_id=caller.actor.user_id))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire(appraisal)
    return appraisal
