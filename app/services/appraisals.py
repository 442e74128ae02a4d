"""One appraisal with its workflow facts: loading it within the caller's scope, the approval steps of
its current round, its publication (published, the window after it open), what the caller may do now,
who is expected to act next and whether the caller reads internal comments; the seats of a countersigned
step filled in the current visit of its state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..models import Appraisal, AuditEvent, CountersignApproval, Employee, Station
from ..scoping import scope_clause
from ..workflow import (
    Countersign,
    Facts,
    Party,
    Step,
    Transition,
    WorkflowTable,
    allowed_actions,
    progress,
    round_approvals,
    waiting_for,
    window_open,
)
from . import workflows
from .audit import REVIEW, now
from .caller import Caller
from .errors import NotFound

# Who reviews an appraisal where the table names the supervisor: the reviewer HR named (转交), else the
# employee's supervisor. Select it with ``Appraisal`` joined to its ``Employee``.
REVIEWER_ID = func.coalesce(Appraisal.reviewer_id, Employee.supervisor_id).label("supervisor_id")


def guard_values(row) -> dict:
    """The figures a guard formula may read."""
    return {"total": row.total, "subtotal": row.subtotal, "adjustment": row.adjustment,
            "grade": row.grade, "version": row.version}


def _history_query(ids, before_id=None):
    """The events of these appraisal versions that the workflow reasons about (state changes and review
    edits), each version's oldest first, with the acting user's employee record and the principal's, when
    a substitute took the step. Ordered by version, then event: the order of the index on the version, so
    that the database reads each version's events from it rather than the whole table in event order."""
    principal = aliased(Employee)
    query = (
        select(AuditEvent.id, AuditEvent.appraisal_id, AuditEvent.action, AuditEvent.from_state,
               AuditEvent.to_state, AuditEvent.user_id, Employee.id.label("employee_id"),
               AuditEvent.on_behalf_of_user_id, principal.id.label("principal_employee_id"))
        .outerjoin(Employee, Employee.user_id == AuditEvent.user_id)
        .outerjoin(principal, principal.user_id == AuditEvent.on_behalf_of_user_id)
        .where(AuditEvent.appraisal_id.in_(ids), AuditEvent.from_state.is_not(None),
               (AuditEvent.from_state != AuditEvent.to_state) | (AuditEvent.action == REVIEW))
        .order_by(AuditEvent.appraisal_id, AuditEvent.id)
    )
    return query if before_id is None else query.where(AuditEvent.id < before_id)


def round_facts(session, ids: Iterable[int], before_id: int | None = None) -> dict[int, tuple[tuple, int]]:
    """Per appraisal version: the approval steps of its current round and the review edits since it
    entered its current state (as of before the event ``before_id``, when given)."""
    ids = list(ids)
    out: dict[int, tuple[list[Step], int]] = {i: ([], 0) for i in ids}
    for start in range(0, len(ids), 500):
        for row in session.execute(_history_query(ids[start:start + 500], before_id)):
            changes, edits = out[row.appraisal_id]
            if row.from_state == row.to_state:
                out[row.appraisal_id] = (changes, edits + 1)
            else:
                changes.append(Step(row.from_state, row.to_state, row.user_id, row.employee_id,
                                    row.on_behalf_of_user_id, row.principal_employee_id))
                out[row.appraisal_id] = (changes, 0)
    return {i: (round_approvals(changes), edits) for i, (changes, edits) in out.items()}


def entered_events(session, ids: Iterable[int], before_id: int | None = None) -> dict[int, int]:
    """Per appraisal version: the audit event that brought it into its current state (this visit), as
    of before the event ``before_id`` when given."""
    ids = list(ids)
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        query = (select(AuditEvent.appraisal_id, func.max(AuditEvent.id))
                 .where(AuditEvent.appraisal_id.in_(ids[start:start + 500]),
                        AuditEvent.from_state.is_(None) | (AuditEvent.from_state != AuditEvent.to_state))
                 .group_by(AuditEvent.appraisal_id))
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        out.update(dict(session.execute(query).all()))
    return out


def countersign_facts(session, ids: Iterable[int], before_id: int | None = None
                      ) -> dict[int, tuple[Countersign, ...]]:
    """Per appraisal version: the seats of a countersigned step filled since it entered its current state
    (``Facts.countersigns``); versions with none are left out."""
    entered = entered_events(session, ids, before_id)
    if not entered:
        return {}
    out: dict[int, list[Countersign]] = {}
    actor, principal = aliased(Employee), aliased(Employee)
    pairs = sorted(entered.items())
    for start in range(0, len(pairs), 500):
        chunk = dict(pairs[start:start + 500])
        query = (
            select(CountersignApproval.appraisal_id, CountersignApproval.entered_event_id,
                   CountersignApproval.seat, CountersignApproval.user_id, actor.id,
                   principal.id, CountersignApproval.on_behalf_of_user_id)
            .outerjoin(actor, actor.user_id == CountersignApproval.user_id)
            .outerjoin(principal, principal.user_id == CountersignApproval.on_behalf_of_user_id)
            .where(CountersignApproval.appraisal_id.in_(list(chunk)),
                   CountersignApproval.entered_event_id.in_(list(chunk.values())))
            .order_by(CountersignApproval.id)
        )
        if before_id is not None:
            query = query.where(CountersignApproval.audit_event_id < before_id)
        for appraisal_id, entered_id, seat, user_id, employee_id, principal_id, principal_user in (
                session.execute(query)):
            if chunk.get(appraisal_id) == entered_id:
                out.setdefault(appraisal_id, []).append(
                    Countersign(seat, user_id, employee_id, principal_id, principal_user))
    return {i: tuple(seats) for i, seats in out.items()}


def countersign_status(table: WorkflowTable, facts: Facts) -> tuple[int, int] | None:
    """``(done, needed)`` of the countersigned step out of the appraisal's state (the first such row
    whose guard holds), for "1 / 2 人已会签"; None when its state has no countersigned step."""
    for row in table.transitions_from(facts.state):
        if row.countersign and (row.guard is None or row.guard.holds(facts.values)):
            return progress(row, facts)
    return None


def publication_facts(table: WorkflowTable, published_at) -> dict:
    """The ``published`` and ``window_open`` facts of an appraisal whose cycle was published at
    ``published_at`` (None: not published)."""
    return {"published": published_at is not None, "window_open": window_open(table, published_at, now())}


def facts_of(session, appraisal: Appraisal, supervisor_id, manager_id, before_id=None, state=None) -> Facts:
    """The workflow facts of an appraisal version (as of before the event ``before_id``, when given)."""
    approvals, edits = round_facts(session, [appraisal.id], before_id)[appraisal.id]
    table = workflows.workflow_table(session, appraisal.rule_set_version_id)
    state = state or appraisal.state.value
    # the seats matter only to a countersigned row out of this state (none in the shipped table)
    seats = (countersign_facts(session, [appraisal.id], before_id).get(appraisal.id, ())
             if any(t.countersign for t in table.transitions_from(state)) else ())
    return Facts(state=state, employee_id=appraisal.employee_id,
                 supervisor_id=supervisor_id, station_manager_id=manager_id, values=guard_values(appraisal),
                 approvals=approvals, edits=edits, **publication_facts(table, appraisal.cycle.published_at),
                 countersigns=seats)


def sees_internal(caller: Caller, appraisal: Appraisal) -> bool:
    """Whether ``caller`` reads the internal comments of this appraisal (loaded within their scope):
    everyone who may see it but the appraised employee, i.e. its reviewers and HR."""
    return caller.actor.employee_id is None or caller.actor.employee_id != appraisal.employee_id


def load(session, appraisal_id, caller: Caller) -> tuple[Appraisal, Facts]:
    """The appraisal (any version) with its workflow facts, or NotFound outside the caller's scope."""
    try:
        ident = int(appraisal_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < ident < 2**31:
        raise NotFound()
    row = session.execute(
        select(Appraisal, REVIEWER_ID, Station.manager_id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .where(Appraisal.id == ident, scope_clause(Appraisal, caller.scope))
    ).first()
    if row is None:
        raise NotFound()
    appraisal, supervisor_id, manager_id = row
    return appraisal, facts_of(session, appraisal, supervisor_id, manager_id)


def actions_for(session, appraisal_id, caller: Caller) -> tuple[Appraisal, WorkflowTable, list[Transition],
                                                                 list[dict]]:
    """What ``caller`` may do to this appraisal now (nothing on a superseded version), and who may
    move it on (:func:`expected_next`)."""
    appraisal, facts = load(session, appraisal_id, caller)
    table = workflows.workflow_table(session, appraisal.rule_set_version_id)
    allowed = allowed_actions(table, facts, caller.actor) if appraisal.is_current else []
    return appraisal, table, allowed, expected_next(session, appraisal, facts, caller)


# --- who is expected to act -------------------------------------------------------------------


def names_of(session, employee_ids: Iterable[int | None]) -> dict[int, str]:
    """Employee names by id (the ids that are None are left out)."""
    wanted = [i for i in employee_ids if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(Employee.id, Employee.name).where(Employee.id.in_(wanted))).all())


def waiting_labels(table: WorkflowTable, parties: Iterable[Party], locale: str,
                   names: Mapping[int, str]) -> list[dict]:
    """Who is expected to act next, for a screen or an API answer: relation, its label, the person's
    name (when one person holds it) and whether they stand in for a missing supervisor."""
    out = []
    for party in parties:
        label = table.relation_label(party.relation, locale)
        name = names.get(party.employee_id) if party.employee_id is not None else None
        text = f"{label} {name}" if name else label
        if party.stands_in:
            text = _("%(who)s (standing in: the employee has no supervisor)", who=text)
        out.append({"relation": party.relation, "label": label, "name": name, "stands_in": party.stands_in,
                    "text": text})
    return out


def expected_next(session, appraisal: Appraisal, facts: Facts, caller: Caller) -> list[dict]:
    """Who may move this appraisal on now (nobody on a superseded version or in a final state)."""
    if not appraisal.is_current:
        return []
    table = workflows.workflow_table(session, appraisal.rule_set_version_id)
    parties = waiting_for(table, facts)
    return waiting_labels(table, parties, caller.locale, names_of(session, {p.employee_id for p in parties}))
