"""The inbox: the current appraisals on which the caller may act now, i.e. move them on (a step back to
the same state, such as HR's calibration, waits for nobody), in their own right or for somebody they
stand in for; searched, filtered and sorted, each with its step's due date."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select

from .. import clock
from ..models import Appraisal, Cycle, Employee, Station
from ..scoping import scope_clause
from ..workflow import (
    APPROVAL_STATES,
    Facts,
    Refusal,
    State,
    Transition,
    WorkflowTable,
    acting_states,
    allowed_actions,
    decide_as,
    waiting_for,
)
from . import workflows
from .appraisals import (
    REVIEWER_ID,
    countersign_facts,
    countersign_status,
    guard_values,
    names_of,
    publication_facts,
    round_facts,
    waiting_labels,
)
from .caller import Caller
from .deadlines import OVERDUE, SOON, due_map, due_status
from .errors import Kind, ServiceError
from .likes import escape_like

SORTS = ("due", "employee", "cycle", "total", "state")
DUES = (OVERDUE, SOON)
# The longest search text (characters): a name or an employee number.
MAX_QUERY = 100
# The order of the steps when sorting by state.
STATE_ORDER = tuple(s.value for s in (State.draft, State.pending_review, State.pending_second_review,
                                      State.approved, State.disputed, State.signed))


class BadInboxFilter(ServiceError):
    """A filter or sort the inbox does not know (HTTP 422)."""

    kind = Kind.INVALID
    default_message = _l("The inbox cannot be filtered or sorted that way.")


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
    cycle_id: int | None = None
    due_at: dt.datetime | None = None  # by when the appraisal should leave its step (the cycle's due date)
    due_status: str | None = None  # "overdue", "soon" or None
    acting_for: str | None = None  # the principal's name when only standing in for them allows it
    countersign: tuple[int, int] | None = None  # (seats filled, seats needed) of a countersigned step


def check_filters(*, state: str | None = None, due: str | None = None, sort: str = "due",
                  q: str | None = None) -> None:
    """Raises BadInboxFilter (naming what it knows) for a state, due filter, sort or search it cannot use."""
    if state is not None and state not in STATE_ORDER:
        raise BadInboxFilter(_l("There is no state “%(state)s”.", state=str(state)[:40]), code="BAD_STATE")
    if due is not None and due not in DUES:
        raise BadInboxFilter(_l("The due filter is “overdue” or “soon”."), code="BAD_DUE")
    if sort.removeprefix("-") not in SORTS:
        raise BadInboxFilter(_l("Sort by one of %(sorts)s (a leading “-”: descending).",
                                sorts=", ".join(SORTS)), code="BAD_SORT")
    if q is not None and len(q) > MAX_QUERY:
        raise BadInboxFilter(_l("Search for at most %(n)d characters.", n=MAX_QUERY), code="BAD_QUERY")


def parse_filters(args: Mapping[str, str]) -> dict:
    """A request's inbox filters (``cycle``, ``station``: ids; ``state``, ``q``, ``due``, ``sort``) as the
    keyword arguments of :func:`inbox`; empty ones are left out. Raises BadInboxFilter for a value it
    cannot use."""
    out: dict = {}
    for name, key in (("cycle", "cycle_id"), ("station", "station_id")):
        value = (args.get(name) or "").strip()
        if not value:
            continue
        if not value.isdigit() or len(value) > 9:
            raise BadInboxFilter(_l("Choose the cycle and the station from the lists."), code="BAD_ID")
        out[key] = int(value)
    for name in ("state", "q", "due", "sort"):
        value = (args.get(name) or "").strip()
        if value:
            out[name] = value
    check_filters(**{k: v for k, v in out.items() if k in ("state", "due", "sort", "q")})
    return out


def _like(text: str) -> str:
    """``%text%`` for LIKE, with the text's own wildcards escaped (``\\`` is the escape character)."""
    return f"%{escape_like(text)}%"


def _order(sort: str) -> list:
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    columns = {
        "employee": [Employee.employee_no],
        "cycle": [Cycle.id],
        "total": [Appraisal.total.is_(None), Appraisal.total],
        "state": [case({s: i for i, s in enumerate(STATE_ORDER)}, value=Appraisal.state, else_=99)],
        "due": [Cycle.id],
    }[key]
    if key == "cycle":
        descending = not descending  # "cycle" lists the newest cycle first
    if descending:  # those without a total stay last
        columns = [c if key == "total" and i == 0 else c.desc() for i, c in enumerate(columns)]
    return [*columns, Employee.employee_no, Appraisal.id]


def inbox(session, caller: Caller, *, cycle_id: int | None = None, station_id: int | None = None,
          state: str | None = None, q: str | None = None, due: str | None = None, sort: str = "due",
          limit: int = 1000, at: dt.datetime | None = None) -> list[InboxItem]:
    """The current appraisals waiting for this caller: those on which they may act now, at most ``limit``.

    ``q`` finds an employee number or name (a part of it, any case); ``due`` keeps those whose step is
    ``"overdue"`` or due ``"soon"`` at ``at`` (default: now); ``sort`` is one of :data:`SORTS`, a leading
    ``-`` for descending (``due``: the earliest due date first, those without one last). Raises
    BadInboxFilter for a filter it does not know."""
    check_filters(state=state, due=due, sort=sort, q=q)
    in_order = sort.removeprefix("-") != "due"  # the query's order is the answer's: stop at the limit
    items = []
    for row, table, facts, allowed, due_at, status in _waiting(
            session, caller, at or clock.now(), sort=sort, cycle_id=cycle_id, station_id=station_id,
            state=state, q=q):
        if due is not None and status != due:
            continue
        items.append(InboxItem(
            row.id, row.cycle_name, row.employee_no, row.employee_name, row.code, row.state.value, row.total,
            row.grade, allowed, table, list(waiting_for(table, facts)), cycle_id=row.cycle_id, due_at=due_at,
            due_status=status, acting_for=_acting_for(table, facts, caller, allowed),
            countersign=countersign_status(table, facts)))
        if in_order and len(items) >= limit:
            break
    if not in_order:
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        items.sort(key=lambda i: i.due_at or far, reverse=sort.startswith("-"))
        if sort.startswith("-"):  # those without a due date stay last
            items.sort(key=lambda i: i.due_at is None)
        del items[limit:]
    names = names_of(session, {p.employee_id for i in items for p in i.waiting})
    for item in items:
        item.waiting = waiting_labels(item.table, item.waiting, caller.locale, names)
    return items


def tally(session, caller: Caller, at: dt.datetime | None = None) -> dict[str, tuple[int, int]]:
    """The caller's inbox counted by state: ``state -> (how many, how many of them overdue at at)``; the
    same test as :func:`inbox`, without building its items."""
    out: dict[str, tuple[int, int]] = {}
    for row, _table, _facts, _allowed, _due_at, status in _waiting(session, caller, at or clock.now()):
        count, overdue = out.get(row.state.value, (0, 0))
        out[row.state.value] = (count + 1, overdue + (status == OVERDUE))
    return out


def _waiting(session, caller: Caller, at: dt.datetime, *, sort: str = "cycle", cycle_id: int | None = None,
             station_id: int | None = None, state: str | None = None, q: str | None = None):
    """The caller's current appraisals in the query's order, each that they may move on now as
    ``(row, table, facts, allowed, due_at, due_status)``."""
    actor = caller.actor
    # the roles whose items the caller may take: their own and those of whom they stand in for
    roles = set(actor.roles).union(*(p.roles for p in actor.acting_for))
    tables: dict[int, WorkflowTable] = {}
    query = (
        select(Appraisal.id, Appraisal.rule_set_version_id, Appraisal.state, Appraisal.employee_id,
               Appraisal.total, Appraisal.subtotal, Appraisal.adjustment, Appraisal.grade, Appraisal.version,
               REVIEWER_ID, Station.manager_id, Cycle.name.label("cycle_name"),
               Employee.employee_no, Employee.name.label("employee_name"), Station.code, Cycle.published_at,
               Appraisal.cycle_id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.is_current.is_(True), scope_clause(Appraisal, caller.scope))
        .order_by(*_order(sort))
    )
    if cycle_id is not None:
        query = query.where(Appraisal.cycle_id == cycle_id)
    if station_id is not None:
        query = query.where(Appraisal.station_id == station_id)
    if q and q.strip():
        pattern = _like(q.strip())
        query = query.where(Employee.employee_no.ilike(pattern, escape="\\")
                            | Employee.name.ilike(pattern, escape="\\"))
    # Only states where some transition could be this actor's, by role, reach Python.
    versions = session.scalars(select(Appraisal.rule_set_version_id).distinct()).all()
    states: set[str] = set()
    for version in versions:
        tables[version] = table = workflows.workflow_table(session, version)
        states |= acting_states(table, roles)
    if state is not None:
        states &= {state}
    if not states:
        return
    rows = session.execute(query.where(Appraisal.state.in_(sorted(states)))).all()
    dues = due_map(session, {r.cycle_id for r in rows})
    # Who approved in the current round matters in the approval states only.
    in_approval = [r.id for r in rows if r.state.value in APPROVAL_STATES]
    rounds = round_facts(session, in_approval)
    seats = countersign_facts(session, in_approval)
    for row in rows:
        due_at = dues.get((row.cycle_id, row.state.value))
        approvals, edits = rounds.get(row.id, ((), 0))
        table = tables[row.rule_set_version_id]
        facts = Facts(row.state.value, row.employee_id, row.supervisor_id, row.manager_id, guard_values(row),
                      approvals=approvals, edits=edits, **publication_facts(table, row.published_at),
                      countersigns=seats.get(row.id, ()))
        allowed = [t for t in allowed_actions(table, facts, actor) if not t.is_loop]
        if allowed:
            yield row, table, facts, allowed, due_at, due_status(due_at, at)


def _acting_for(table: WorkflowTable, facts: Facts, caller: Caller, allowed: list[Transition]) -> str | None:
    """The name of the principal the caller stands in for, when none of ``allowed`` is theirs in their own
    right (None when one is, or when they stand in for nobody)."""
    actor = caller.actor
    if not actor.acting_for:
        return None
    if allowed_actions(table, facts, dataclasses.replace(actor, acting_for=())):
        return None
    try:
        principal = decide_as(table, facts, actor, allowed[0].action, "-")[1]
    except Refusal:  # only means no label
        return None
    return principal.name if principal is not None else None
