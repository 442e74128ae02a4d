"""The home page as a to-do list: what waits for the caller (counted from the inbox, by step, with how
many are overdue), their background jobs still running, the recent cycles' progress by step (HR and
station managers) and an employee's newest visible result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import permissions as p
from ..models import UNFINISHED, Appraisal, Cycle, Job
from ..scoping import scope_clause
from ..workflow import State
from .caller import Caller
from .deadlines import due_map
from .inbox import tally
from .inbox_groups import per_cycle as kept_per_cycle

# The cards, in the order of the workflow: key, the inbox state it counts, its label.
CARDS = (
    ("submit", State.draft.value, _l("To submit")),
    ("review", State.pending_review.value, _l("To review")),
    ("second_review", State.pending_second_review.value, _l("Second review")),
    ("sign", State.approved.value, _l("To sign")),
    ("dispute", State.disputed.value, _l("Disputes")),
)
# The steps of a cycle's progress bar, in the order of the workflow.
STEPS = tuple(s.value for s in (State.draft, State.pending_review, State.pending_second_review,
                                State.approved, State.disputed, State.signed))
# How many recent cycles the home page follows.
RECENT_CYCLES = 3


@dataclass(frozen=True)
class Count:
    """One card: what waits (``key``), its label, how many, how many of them are overdue, the inbox link."""

    key: str
    label: str
    count: int
    overdue: int
    url: str


@dataclass(frozen=True)
class CycleProgress:
    """A recent cycle within the caller's scope: appraisals per step and the steps' due dates."""

    id: int
    name: str
    published: bool
    total: int
    counts: dict[str, int]
    due: dict[str, dt.datetime]


@dataclass
class Todo:
    counts: list[Count] = field(default_factory=list)
    jobs_running: int = 0
    cycles: list[CycleProgress] = field(default_factory=list)
    latest: tuple[Appraisal, Cycle] | None = None

    @property
    def waiting(self) -> int:
        return sum(c.count for c in self.counts)


def inbox_url(state: str) -> str:
    return f"/appraisal/inbox/?state={state}"


def counts(session, caller: Caller, at: dt.datetime) -> list[Count]:
    """The cards with something in them: the caller's inbox grouped by step (and how many of each are
    past their cycle's due date for that step at ``at``)."""
    per_state = tally(session, caller, at)
    return [Count(key, str(label), per_state[state][0], per_state[state][1], inbox_url(state))
            for key, state, label in CARDS if state in per_state]


def jobs_running(session, caller: Caller) -> int:
    """The caller's own background jobs not finished yet (queued, running or retrying)."""
    if caller.actor.user_id is None:
        return 0
    return session.scalar(select(func.count()).select_from(Job).where(
        Job.owner_id == caller.actor.user_id, Job.state.in_(UNFINISHED))) or 0


def recent_cycles(session, caller: Caller, limit: int = RECENT_CYCLES) -> list[CycleProgress]:
    """HR's and station managers' recent cycles (newest period first) with their appraisals per step
    within the caller's scope, and the steps' due dates."""
    if not caller.actor.roles & {p.HR, p.ADMIN, p.STATION_MANAGER}:
        return []
    cycles = session.execute(
        select(Cycle.id, Cycle.name, Cycle.published_at)
        .order_by(Cycle.end.desc(), Cycle.start.desc(), Cycle.id.desc()).limit(limit)).all()
    dues = due_map(session, [c.id for c in cycles])
    # one statement for the cycles, naming every step: an index on (current, state, cycle) answers it
    per_cycle: dict[int, dict[str, int]] = {c.id: {} for c in cycles}
    if cycles:
        # (kept by the worker per cycle while the cycle's appraisals stay as they were)
        for row in kept_per_cycle(session, (
                select(Appraisal.cycle_id, Appraisal.state, func.count().label("count"))
                .where(Appraisal.is_current.is_(True), Appraisal.state.in_(STEPS),
                       Appraisal.cycle_id.in_(list(per_cycle)), scope_clause(Appraisal, caller.scope))
                .group_by(Appraisal.cycle_id, Appraisal.state))):
            per_cycle[row["cycle_id"]][State(row["state"]).value] = row["count"]
    out = []
    for cycle in cycles:
        per_state = per_cycle[cycle.id]
        out.append(CycleProgress(
            cycle.id, cycle.name, cycle.published_at is not None, sum(per_state.values()),
            {s: per_state.get(s, 0) for s in STEPS},
            {s: due for (c, s), due in dues.items() if c == cycle.id}))
    return out


def latest_result(session, caller: Caller) -> tuple[Appraisal, Cycle] | None:
    """The caller's own newest appraisal they may see (approved, signed or disputed in a published
    cycle: the scope decides), with its cycle."""
    if caller.actor.employee_id is None:
        return None
    row = session.execute(
        select(Appraisal, Cycle).join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.employee_id == caller.actor.employee_id, Appraisal.is_current.is_(True),
               scope_clause(Appraisal, caller.scope))
        .order_by(Cycle.end.desc(), Cycle.start.desc(), Cycle.id.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def todo(session, caller: Caller, at: dt.datetime) -> Todo:
    """Everything the home page shows the caller at ``at`` (nothing for nobody)."""
    if caller.actor.user_id is None:
        return Todo()
    return Todo(counts(session, caller, at), jobs_running(session, caller), recent_cycles(session, caller),
                latest_result(session, caller))
