"""What the inbox (app.services.inbox) reads of an appraisal to decide whether the caller may move it on:
its row, its workflow facts (the round of an approval state, the seats of a countersign, the publication) and
what a decision depends on, so that rows alike are decided once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sqlalchemy import bindparam, exists, select

from ..models import Appraisal, AuditEvent, Cycle, Employee, Station
from ..workflow import (
    APPROVAL_STATES,
    STATION_MANAGER,
    SUPERVISOR,
    Facts,
    Transition,
    WorkflowTable,
    allowed_actions,
)
from .appraisals import REVIEWER_ID, countersign_facts, guard_values, publication_facts, round_facts

# What an item and its facts need of an appraisal, its employee, station and cycle.
ROW = (select(Appraisal.id, Appraisal.rule_set_version_id, Appraisal.state, Appraisal.employee_id,
               Appraisal.total, Appraisal.subtotal, Appraisal.adjustment, Appraisal.grade, Appraisal.version,
               REVIEWER_ID, Station.manager_id, Cycle.name.label("cycle_name"), Employee.employee_no,
               Employee.name.label("employee_name"), Station.code, Cycle.published_at, Appraisal.cycle_id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id))
# The rows of some ids, by their ids alone: with the filters too, the database would rather scan the
# current appraisals by their state than look a few ids up.
ROWS_BY_ID = ROW.where(Appraisal.id.in_(bindparam("ids", expanding=True)))
# Those of some appraisals that ever left an approval state (on the events' appraisal index).
_LEFT = (AuditEvent.from_state.in_(sorted(s.value for s in APPROVAL_STATES)),
         AuditEvent.to_state != AuditEvent.from_state)
LEFT_APPROVAL = select(AuditEvent.appraisal_id).distinct().where(
    AuditEvent.appraisal_id.in_(bindparam("ids", expanding=True)), *_LEFT)
# The same of the row itself, as a column of ROW's (named ``left_approval``): read with the rows, it saves
# the statement above.
LEFT_APPROVAL_COLUMN = exists().where(AuditEvent.appraisal_id == Appraisal.id, *_LEFT).label("left_approval")


def reads_relations(table: WorkflowTable, state: str) -> bool:
    """Whether a row out of ``state`` names the supervisor or the station's manager (else only whether the
    actor is the employee matters, besides their roles)."""
    return any(w.relation in (SUPERVISOR, STATION_MANAGER) for t in table.transitions_from(state)
               for w in t.who)


def row_dependent(table: WorkflowTable, state: str) -> bool:
    """Whether the decision in ``state`` reads the row itself: a guard, a countersign, the round."""
    return state in APPROVAL_STATES or any(t.guard is not None or t.countersign
                                           for t in table.transitions_from(state))


def relaxed(table: WorkflowTable) -> WorkflowTable:
    """The table without guards and countersigns: it allows whatever the real one may allow for some
    figures, round and seats (with no approval step and no seat taken)."""
    return dataclasses.replace(table, transitions=tuple(
        dataclasses.replace(t, guard=None, countersign=()) for t in table.transitions))


def moves_on(table: WorkflowTable, facts: Facts, actor) -> list[Transition]:
    return [t for t in allowed_actions(table, facts, actor) if not t.is_loop]


def decision_key(table: WorkflowTable, facts: Facts, people: tuple[int, ...], known: dict | None = None):
    """What a decision on ``facts`` reads, for rows with no approval step and no countersign seat taken:
    the state, how the employee, supervisor and station manager relate to the actor and their
    principals (``people``) and to each other, the outcome of each guard out of the state, the edits and
    the publication. Rows with equal keys get the same moves; None for a row decided on its own.
    ``known`` keeps each workflow's guards out of a state over the rows of one view."""
    if facts.approvals or facts.countersigns:
        return None
    ids = (facts.employee_id, facts.supervisor_id, facts.station_manager_id)
    relation = tuple(None if i is None else people.index(i) if i in people else -1 for i in ids)
    out = (known.get((id(table), facts.state)) if known is not None else None)
    if out is None:
        out = tuple(t.guard for t in table.transitions_from(facts.state) if t.guard is not None)
        if known is not None:
            known[(id(table), facts.state)] = out
    guards = tuple(guard.holds(facts.values) for guard in out)
    return (id(table), facts.state, relation, ids[0] == ids[1], ids[0] == ids[2], ids[1] == ids[2], guards,
            facts.edits, facts.published, facts.window_open)


def row_facts_of(table: WorkflowTable, row, rounds: Mapping | None = None, seats: Mapping | None = None,
                 published: dict | None = None) -> Facts:
    """The workflow facts of ``row``; ``published`` keeps the publication facts per workflow and cycle
    publication over the rows of one view."""
    approvals, edits = (rounds or {}).get(row.id, ((), 0))
    if published is None:
        publication = publication_facts(table, row.published_at)
    else:
        key = (id(table), row.published_at)
        publication = published.get(key)
        if publication is None:
            publication = published[key] = publication_facts(table, row.published_at)
    return Facts(row.state.value, row.employee_id, row.supervisor_id, row.manager_id, guard_values(row),
                 approvals=approvals, edits=edits, **publication, countersigns=(seats or {}).get(row.id, ()))


def left_an_approval_state(session, ids: list[int]) -> list[int]:
    """Those of ``ids`` that ever left an approval state: the others have taken no approval step, so
    their round has none (one statement per 500, each on the events' appraisal index)."""
    out: list[int] = []
    for start in range(0, len(ids), 500):
        out += session.scalars(LEFT_APPROVAL, {"ids": ids[start:start + 500]}).all()
    return out


def rows_facts(session, rows, tables: Mapping[int, WorkflowTable], *, checked: bool = False
               ) -> dict[int, Facts]:
    """The exact workflow facts of these rows (their round in an approval state, their countersign seats
    where their state has a countersigned row); ``checked``: the rows carry :data:`LEFT_APPROVAL_COLUMN`."""
    approving = [r for r in rows if r.state in APPROVAL_STATES]
    in_approval = ([r.id for r in approving if r.left_approval] if checked
                   else left_an_approval_state(session, [r.id for r in approving]))
    rounds = round_facts(session, in_approval) if in_approval else {}
    countersigned = [r.id for r in rows if any(t.countersign for t in
                                               tables[r.rule_set_version_id].transitions_from(r.state.value))]
    seats = countersign_facts(session, countersigned) if countersigned else {}
    published: dict = {}
    return {r.id: row_facts_of(tables[r.rule_set_version_id], r, rounds, seats, published) for r in rows}
