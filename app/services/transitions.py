"""Moving appraisals through the workflow: one transition, the same on many, and HR's amendment.

Each call is one database transaction. The state changes with a conditional
``UPDATE appraisal SET state = :to WHERE id = :id AND state = :expected`` (django-fsm's way): when it
touches no row somebody else won, and the caller gets :class:`Conflict` (HTTP 409) with nothing changed.
Every transition writes exactly one audit event in the same transaction.

A substitute's step is recorded as theirs, for the principal (``on_behalf_of``). A countersigned step
(会签) moves on with its last seat; each seat before it is a partial approval: one ``countersign`` event,
one ``countersign_approval`` row, the state unchanged (:func:`_countersign`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..metrics import compute_metrics
from ..models import Appraisal, AuditEvent, CountersignApproval, Employee
from ..workflow import (
    CALIBRATE,
    Facts,
    Principal,
    Refusal,
    Transition,
    TransitionRefused,
    check_amend,
    comment_visibility,
    decide,
    decide_as,
    progress,
    seat_for,
)
from . import incentives, workflows
from .appraisals import entered_events, facts_of, load
from .audit import AMEND, COUNTERSIGN, event_row, now
from .caller import Caller
from .compute import appraisal_row, bind_ruleset, insert_appraisals
from .errors import Conflict, NotFound, message_of
from .events import AMEND as AMENDED
from .events import COUNTERSIGN as COUNTERSIGNED
from .events import TRANSITION, Event, emit
from .scoring import Scorer, appraisees

# target state → functions run inside the transition's transaction, after the state change and the
# audit event (e.g. entering ``signed`` stores the PDF, whatever the workflow table names the action).
# One raising rolls the whole transition back.
Effect = Callable[..., None]
_EFFECTS: dict[str, list[Effect]] = {}


def register_effect(state: str, effect: Effect) -> None:
    """Run ``effect(session, appraisal, event)`` inside every transition into ``state``."""
    _EFFECTS.setdefault(state, [])
    if effect not in _EFFECTS[state]:
        _EFFECTS[state].append(effect)


def _was_possible_before(session, table, appraisal, facts, actor, action) -> bool:
    """Whether ``action`` was open to this actor before the latest state change, i.e. the state moved
    under them (409) rather than the action being wrong for them (403)."""
    last = session.scalar(
        select(AuditEvent).where(AuditEvent.appraisal_id == appraisal.id, AuditEvent.from_state.is_not(None),
                                 AuditEvent.from_state != AuditEvent.to_state)
        .order_by(AuditEvent.id.desc()).limit(1)
    )
    if last is None or last.to_state != facts.state:
        return False
    before = facts_of(session, appraisal, facts.supervisor_id, facts.station_manager_id, before_id=last.id,
                      state=last.from_state)
    try:
        decide(table, before, actor, action, comment="-")
    except Refusal:
        return False
    return True


def _calibration_elsewhere() -> TransitionRefused:
    return TransitionRefused(
        "USE_CALIBRATION",
        "校准须在校准页面（或校准接口）进行：它会生成考核的新版本，并写明校准后的总分或等级。",
        "Calibration is done on the calibration screen (or through its API): it writes a new version of "
        "the appraisal with the calibrated total or grade.",
    )


def transition(session, appraisal_id, caller: Caller, action: str, comment: str | None = None, *,
               expected_state: str | None = None, visibility: str | None = None) -> str:
    """Take ``action`` on the appraisal as ``caller``; returns the new state.

    ``visibility`` says who reads the comment ("shared": the employee too; "internal": reviewers and
    HR); None takes the table row's default. Raises NotFound (outside scope), TransitionRefused (may
    not; ``calibrate`` is taken through the calibration service), CommentRequired, BadVisibility,
    Conflict (the state is not ``expected_state``, or changed meanwhile). One transaction, one audit
    event.
    """
    try:
        appraisal, facts = load(session, appraisal_id, caller)
        if action == CALIBRATE:
            raise _calibration_elsewhere()
        if not appraisal.is_current or (expected_state and expected_state != facts.state):
            raise Conflict()
        table = workflows.workflow_table(session, appraisal.rule_set_version_id)
        try:
            row, principal = decide_as(table, facts, caller.actor, action, comment)
            target = row.target
        except TransitionRefused as exc:
            if exc.code == "SEPARATION_OF_DUTIES":
                # An approval that left the very state read here committed between reading the row and
                # reading its trail: the state moved (409). Otherwise the caller's own earlier step is
                # the reason, and the refusal says so (403), even on a repeated click.
                if any(step.source == facts.state for step in facts.approvals):
                    raise Conflict() from exc
                raise
            if expected_state is None and _was_possible_before(
                    session, table, appraisal, facts, caller.actor, action):
                raise Conflict() from exc
            raise
        shown_to = comment_visibility(row, visibility)
        if row.countersign:
            done, needed = progress(row, facts)
            if done + 1 < needed:
                _countersign(session, appraisal, facts, caller, row, principal, comment, shown_to)
                session.commit()
                return facts.state
        at = now()
        changed = session.execute(
            update(Appraisal)
            .where(Appraisal.id == appraisal.id, Appraisal.state == facts.state,
                   Appraisal.is_current.is_(True), Appraisal.snapshot_hash == appraisal.snapshot_hash)
            .values(state=target, updated_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise Conflict()
        event = event_row(appraisal.id, caller.actor, action, facts.state, target, comment,
                          appraisal.snapshot_hash, at, visibility=shown_to, on_behalf_of=principal)
        event_id = session.execute(insert(AuditEvent).returning(AuditEvent.id), [event]).scalar_one()
        cycle_id = appraisal.cycle_id
        for effect in _EFFECTS.get(target, ()):
            session.expire(appraisal)
            effect(session, appraisal, session.get(AuditEvent, event_id))
        emit(session, Event(TRANSITION, key=f"audit:{event_id}", appraisal_ids=(appraisal.id,),
                            cycle_id=cycle_id, action=action, source=str(facts.state), target=str(target),
                            actor_user_id=caller.actor.user_id,
                            on_behalf_of_user_id=principal.user_id if principal else None))
        session.commit()
        return target
    except BaseException:
        session.rollback()
        raise


def _later(at: dt.datetime, seen: dt.datetime | None) -> dt.datetime:
    """``at``, or just after ``seen`` when the clock has not moved past it (a test's clock stands still):
    the new ``updated_at`` always differs from the one read."""
    if seen is None:
        return at
    seen = seen if seen.tzinfo is not None else seen.replace(tzinfo=dt.UTC)
    return at if at > seen else seen + dt.timedelta(microseconds=1)


def _countersign(session, appraisal: Appraisal, facts: Facts, caller: Caller, row: Transition,
                 principal: Principal | None, comment: str | None, visibility: str) -> None:
    """A partial approval of a countersigned step, in the caller's transaction: the appraisal's
    ``updated_at`` moves only if nobody changed it since it was read (seats are taken one at a time: two at
    once give one 409, never two partial approvals that should have moved it on), then one
    ``countersign`` event, one seat row (the same seat twice is a 409), and the event's emit."""
    seat = seat_for(row, facts, caller.actor, principal)
    entered = entered_events(session, [appraisal.id]).get(appraisal.id)
    at = _later(now(), appraisal.updated_at)
    changed = session.execute(
        update(Appraisal)
        .where(Appraisal.id == appraisal.id, Appraisal.state == facts.state, Appraisal.is_current.is_(True),
               Appraisal.updated_at == appraisal.updated_at)
        .values(updated_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1 or entered is None:
        raise Conflict()
    event_id = session.execute(insert(AuditEvent).returning(AuditEvent.id), [
        event_row(appraisal.id, caller.actor, COUNTERSIGN, facts.state, facts.state, comment,
                  appraisal.snapshot_hash, at, visibility=visibility, on_behalf_of=principal),
    ]).scalar_one()
    principal_id = principal.user_id if principal else None
    try:  # the same seat of the same visit twice: the caller rolls the whole step back
        session.execute(insert(CountersignApproval), [{
            "appraisal_id": appraisal.id, "state": facts.state, "entered_event_id": entered, "seat": seat,
            "user_id": caller.actor.user_id, "on_behalf_of_user_id": principal_id,
            "audit_event_id": event_id, "at": at}])
    except IntegrityError as exc:
        raise Conflict() from exc
    emit(session, Event(COUNTERSIGNED, key=f"audit:{event_id}", appraisal_ids=(appraisal.id,),
                        cycle_id=appraisal.cycle_id, action=row.action, source=facts.state,
                        target=facts.state, actor_user_id=caller.actor.user_id,
                        on_behalf_of_user_id=principal_id))


@dataclass
class BulkOutcome:
    """One appraisal's outcome in a bulk transition: its new state, or the error that stopped it."""

    id: int | str
    state: str | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def refusal(self) -> Refusal | None:
        """The workflow's refusal, when that was the reason."""
        return self.error if isinstance(self.error, Refusal) else None

    def reason(self, locale: str | None) -> str | None:
        """Why it was not done, in the user's language; None when it was."""
        return None if self.error is None else message_of(self.error, locale)


def bulk_transition(session, ids: Iterable, caller: Caller, action: str = "approve",
                    comment: str | None = None, visibility: str | None = None) -> list[BulkOutcome]:
    """The same transition on many appraisals, each through every check in its own transaction."""
    out = []
    for ident in ids:
        try:
            out.append(BulkOutcome(ident, transition(session, ident, caller, action, comment,
                                                     visibility=visibility)))
        except (NotFound, Conflict, Refusal) as exc:
            out.append(BulkOutcome(ident, error=exc))
    return out


def amend_appraisal(session, appraisal_id, caller: Caller, reason: str) -> Appraisal:
    """HR's amendment of a locked appraisal: a new version, recomputed from today's data with the
    same manual values and adjustment, back to review. The old version stays as it was (not current)."""
    try:
        appraisal, facts = load(session, appraisal_id, caller)
        if not appraisal.is_current:
            raise Conflict()
        table = workflows.workflow_table(session, appraisal.rule_set_version_id)
        target = check_amend(table, facts, caller.actor, reason)
        cycle = appraisal.cycle
        version, ruleset = bind_ruleset(session, cycle, rebind=False)
        (appraisee,) = appraisees(session, Employee.id == appraisal.employee_id,
                                  station_of_appraisal=appraisal.station_id)
        metrics = compute_metrics(session, cycle.start, cycle.end, employee_ids=[appraisal.employee_id],
                                  station_ids=[appraisal.station_id], tag_words=sorted(ruleset.tag_words))
        scorer = Scorer.for_cycle(cycle, version, ruleset, metrics)
        scored = scorer.score(appraisee, appraisal.manual or {}, appraisal.adjustment,
                              appraisal.adjustment_reason)
        scored = incentives.settle_scored(session, cycle, appraisal.id, scored)
        at = now()
        retired = session.execute(
            update(Appraisal).where(Appraisal.id == appraisal.id, Appraisal.is_current.is_(True),
                                    Appraisal.state == facts.state)
            .values(is_current=False, updated_at=at).execution_options(synchronize_session=False)
        ).rowcount
        if retired != 1:
            raise Conflict()
        row = {**appraisal_row(cycle.id, version.id, appraisee, scored, at,
                               version=appraisal.version + 1, state=target, manual=appraisal.manual,
                               adjustment=appraisal.adjustment, reason=appraisal.adjustment_reason),
               "reviewer_id": appraisal.reviewer_id, "reviewer_reason": appraisal.reviewer_reason}
        ((new_id, _digest),) = insert_appraisals(session, [row])
        event_id = session.execute(insert(AuditEvent).returning(AuditEvent.id), [
            event_row(new_id, caller.actor, AMEND, facts.state, target, reason, scored.digest, at),
        ]).scalar_one()
        emit(session, Event(AMENDED, key=f"audit:{event_id}", appraisal_ids=(new_id,), cycle_id=cycle.id,
                            action=AMEND, source=str(facts.state), target=str(target),
                            actor_user_id=caller.actor.user_id))
        session.commit()
        return session.get(Appraisal, new_id)
    except BaseException:
        session.rollback()
        raise
