"""Who is expected to act next: the parties that may move an appraisal on from its state, and the states
in which a set of roles might (the inbox's pre-filter). The same rules as :mod:`.decide`."""

from __future__ import annotations

from collections.abc import Collection

from .countersign import filled_seats
from .decide import Facts, Party, _effective, step_identities
from .table import (
    APPROVAL_STATES,
    HR,
    REVIEW_STATES,
    SELF,
    STATION_MANAGER,
    SUPERVISOR,
    SUPERVISOR_STAND_INS,
    WorkflowTable,
)


def waiting_for(table: WorkflowTable, facts: Facts) -> tuple[Party, ...]:
    """Who may move the appraisal on from its state, by the same rules as :func:`decide`: the employee
    is left out while it is under review, the round's approvers (and whom they acted for) are left out of
    the next level, a countersign row's filled seats are left out, and a missing supervisor is stood in
    for. Empty in a final state."""
    out: dict[Party, None] = {}
    approvers: set[int] = set()
    for step in facts.approvals:
        approvers |= step_identities(step)[1]
    rows = [t for t in table.transitions_from(facts.state) if not t.is_loop]  # calibrating moves nothing on
    # whoever holds a filled countersign seat has done their part of this visit, on every row
    done = {_effective(w, facts).relation for t in rows for w in t.who if w.role in filled_seats(t, facts)}
    for t in rows:
        for who in t.who:
            if t.countersign and who.role not in t.countersign:
                continue
            relation = _effective(who, facts).relation  # a missing supervisor's stand-in
            if relation in done:
                continue
            person = {SELF: facts.employee_id, SUPERVISOR: facts.supervisor_id,
                      STATION_MANAGER: facts.station_manager_id}.get(relation)
            if relation != HR and person is None:
                continue
            if person is not None and facts.state in REVIEW_STATES and person == facts.employee_id:
                continue
            if person is not None and facts.state in APPROVAL_STATES and person in approvers:
                continue
            out.setdefault(Party(relation, person, relation != who.relation))
    return tuple(out)


def acting_states(table: WorkflowTable, roles: Collection[str]) -> frozenset[str]:
    """The states in which somebody holding ``roles`` might move an appraisal on, by role alone (a
    pre-filter for the inbox): a row naming the supervisor counts for the stand-ins' roles too; a row
    back to its own state (calibrate) moves nothing on."""
    states = set()
    for t in table.transitions:
        if t.is_loop:
            continue
        for who in t.who:
            needed = {who.role}
            if who.relation == SUPERVISOR:
                needed |= {w.role for w in SUPERVISOR_STAND_INS}
            if None in needed or needed & set(roles):
                states.add(t.source)
    return frozenset(states)
