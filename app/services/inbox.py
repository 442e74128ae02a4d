"""The inbox: the current appraisals on which the caller may act now, i.e. move them on (a step back to
the same state, such as HR's calibration, waits for nobody)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..models import Appraisal, Cycle, Employee, Station
from ..scoping import scope_clause
from ..workflow import (
    APPROVAL_STATES,
    Facts,
    Transition,
    WorkflowTable,
    acting_states,
    allowed_actions,
    waiting_for,
)
from . import workflows
from .appraisals import guard_values, names_of, publication_facts, round_facts, waiting_labels
from .caller import Caller


@dataclass
class InboxItem:
    id: int
    cycle: str
    employee_no: str
    employee_name: str
    station: str
    state: str
    total: float | None
    grade: str | None
    actions: list[Transition] = field(default_factory=list)
    table: WorkflowTable | None = None  # the workflow of the appraisal's rule-set version (its labels)
    waiting: list[dict] = field(default_factory=list)  # who may act next (waiting_labels)


def inbox(session, caller: Caller, *, cycle_id: int | None = None, limit: int = 1000) -> list[InboxItem]:
    """The current appraisals waiting for this caller: those on which they may act now."""
    actor = caller.actor
    tables: dict[int, WorkflowTable] = {}
    query = (
        select(Appraisal.id, Appraisal.rule_set_version_id, Appraisal.state, Appraisal.employee_id,
               Appraisal.total, Appraisal.subtotal, Appraisal.adjustment, Appraisal.grade, Appraisal.version,
               Employee.supervisor_id, Station.manager_id, Cycle.name, Employee.employee_no, Employee.name,
               Station.code, Cycle.published_at)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.is_current.is_(True), scope_clause(Appraisal, caller.scope))
        .order_by(Cycle.id.desc(), Employee.employee_no)
    )
    if cycle_id is not None:
        query = query.where(Appraisal.cycle_id == cycle_id)
    # Only states where some transition could be this actor's, by role, reach Python.
    versions = session.scalars(select(Appraisal.rule_set_version_id).distinct()).all()
    states: set[str] = set()
    for version in versions:
        tables[version] = table = workflows.workflow_table(session, version)
        states |= acting_states(table, actor.roles)
    if not states:
        return []
    rows = session.execute(query.where(Appraisal.state.in_(sorted(states)))).all()
    # Who approved in the current round matters in the approval states only.
    rounds = round_facts(session, [r.id for r in rows if r.state.value in APPROVAL_STATES])
    items = []
    for row in rows:
        approvals, edits = rounds.get(row.id, ((), 0))
        table = tables[row.rule_set_version_id]
        facts = Facts(row.state.value, row.employee_id, row.supervisor_id, row.manager_id, guard_values(row),
                      approvals=approvals, edits=edits, **publication_facts(table, row.published_at))
        allowed = [t for t in allowed_actions(table, facts, actor) if not t.is_loop]
        if allowed:
            items.append(InboxItem(row.id, row[11], row.employee_no, row[13], row.code, row.state.value,
                                   row.total, row.grade, allowed, table, list(waiting_for(table, facts))))
            if len(items) >= limit:
                break
    names = names_of(session, {p.employee_id for i in items for p in i.waiting})
    for item in items:
        item.waiting = waiting_labels(item.table, item.waiting, caller.locale, names)
    return items
