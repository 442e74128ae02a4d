"""Countersign (会签): a row of the table with ``countersign = ["StationManager", "HR"]`` moves the
appraisal on only once every seat (a role of the row's ``who``) is filled, each by a different person.

Each approval but the last is a partial approval: the service records the seat and leaves the state as it
is. The seats count for one visit of the state (since the appraisal last entered it); a return, by any
holder, sends it back and the next visit starts with every seat empty. The caller gives the seats filled
in this visit in ``Facts.countersigns``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .decide import (
    Actor,
    Facts,
    Principal,
    TransitionRefused,
    _effective,
    _matches,
    identities,
    relations,
    step_identities,
)
from .table import Transition


@dataclass(frozen=True)
class Countersign:
    """One filled seat of the current visit: the seat (a role name), who filled it and whom for."""

    seat: str
    user_id: int | None
    employee_id: int | None = None
    principal_employee_id: int | None = None
    principal_user_id: int | None = None


def filled_seats(row: Transition, facts: Facts) -> frozenset[str]:
    """The seats of ``row`` filled in this visit (none for a row without countersign)."""
    if not row.countersign:
        return frozenset()
    return frozenset(c.seat for c in facts.countersigns) & frozenset(row.countersign)


def progress(row: Transition, facts: Facts) -> tuple[int, int]:
    """``(done, needed)``: the seats filled in this visit and the seats the row needs ((0, 0) without
    countersign)."""
    return len(filled_seats(row, facts)), len(row.countersign)


def seat_for(row: Transition, facts: Facts, actor: Actor, principal: Principal | None = None) -> str:
    """The seat this person fills by approving now: the first unfilled one whose ``who`` they match
    (as the principal, when they act as a substitute). Raises TransitionRefused when they, or the person
    they act for, already filled a seat in this visit (``ALREADY_COUNTERSIGNED``), or when the seats
    they could fill are taken (``SEAT_TAKEN``)."""
    users, employees = identities(actor, principal)
    for done in facts.countersigns:
        done_users, done_employees = step_identities(done)
        if users & done_users or employees & done_employees:
            raise TransitionRefused(
                "ALREADY_COUNTERSIGNED",
                "您已会签过这一步：会签的每一席须由不同的人签。",
                "You already countersigned this step: each seat of a countersign is another person's.",
            )
    acting = principal.as_actor() if principal is not None else actor
    related = relations(facts, acting)
    filled = filled_seats(row, facts)
    for seat in row.countersign:
        if seat in filled:
            continue
        if any(_matches(_effective(w, facts), related, acting) for w in row.who if w.role == seat):
            return seat
    raise TransitionRefused(
        "SEAT_TAKEN",
        "这一步需要会签，您可签的一席已由他人签过：请等待其余的人会签。",
        "This step needs a countersign and the seat you could take is taken: the others still have to sign.",
    )
