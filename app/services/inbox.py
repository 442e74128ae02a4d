"""The inbox: the current appraisals on which the caller may act now, i.e. move them on (a step back to
the same state, such as HR's calibration, waits for nobody), in their own right or for somebody they
stand in for; searched, filtered and sorted, each with its step's due date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, case, false, literal, or_, select

from .. import clock
from ..models import Appraisal, Cycle, Employee, RuleSetVersion, Station
from ..scoping import scope_clause
from ..workflow import (
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
from .appraisals import countersign_status, names_of, waiting_labels
from .caller import Caller
from .deadlines import OVERDUE, SOON, due_map, due_status
from .errors import Kind, ServiceError
from .inbox_facts import (
    LEFT_APPROVAL_COLUMN,
    ROW,
    ROWS_BY_ID,
    decision_key,
    moves_on,
    reads_relations,
    relaxed,
    row_dependent,
    row_facts_of,
    rows_facts,
)
from .inbox_groups import Group, built, grouped, read_flags, relation_flags
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
          limit: int = 1000, offset: int = 0, at: dt.datetime | None = None) -> list[InboxItem]:
    """The current appraisals waiting for this caller: those on which they may act now, at most ``limit``
    of them from the ``offset``-th on.

    ``q`` finds an employee number or name (a part of it, any case); ``due`` keeps those whose step is
    ``"overdue"`` or due ``"soon"`` at ``at`` (default: now); ``sort`` is one of :data:`SORTS`, a leading
    ``-`` for descending (``due``: the earliest due date first, those without one last). Raises
    BadInboxFilter for a filter it does not know."""
    check_filters(state=state, due=due, sort=sort, q=q)
    return Waiting(session, caller, at or clock.now(), cycle_id=cycle_id, station_id=station_id, state=state,
                   q=q, due=due).items(sort, offset, limit)


def inbox_page(session, caller: Caller, *, page: int = 1, per_page: int = 50, cycle_id: int | None = None,
               station_id: int | None = None, state: str | None = None, q: str | None = None,
               due: str | None = None, sort: str = "due", at: dt.datetime | None = None
               ) -> tuple[list[InboxItem], int, int]:
    """One page of :func:`inbox`: its items, how many wait in all and the page shown (``page`` past the
    last one shows the last)."""
    check_filters(state=state, due=due, sort=sort, q=q)
    waiting = Waiting(session, caller, at or clock.now(), cycle_id=cycle_id, station_id=station_id,
                      state=state, q=q, due=due)
    page = max(1, min(page, -(-waiting.count // per_page)))
    return waiting.items(sort, (page - 1) * per_page, per_page), waiting.count, page


def tally(session, caller: Caller, at: dt.datetime | None = None) -> dict[str, tuple[int, int]]:
    """The caller's inbox counted by state: ``state -> (how many, how many of them overdue at at)``; the
    same test as :func:`inbox`, without building its items."""
    return Waiting(session, caller, at or clock.now()).per_state


# -- which appraisals wait: decided a group at a time ----------------------------------------------
#
# Whether somebody may act on an appraisal depends on its workflow (rule-set version), its state, its
# cycle (published, the window after it), how the actor and whom they stand in for relate to it (the
# employee, the supervisor, the station's manager, whether those exist) and, only in some states, on the
# row itself: its figures (a guard), the approval steps of its round (approval states) or the seats of a
# countersign. The database groups the current appraisals by the first ones; one appraisal per group is
# decided for the whole group, and the rows of a group are decided one by one only where the state
# depends on the row and the group passes the decision with the row's own facts left out.

ALL, NONE, PER_ROW = "all", "none", "per_row"
# The cycle in the groups' conditions, as an expression: the rows are found by their state (indexed) and
# tested against the groups, rather than each group reading its whole cycle through the cycle's index.
_CYCLE = Appraisal.cycle_id + 0


# the workflows appraisals are computed with: the published rule-set versions and the cycles' ones (a small
# table each, where the appraisals are a large one)
_VERSIONS = select(RuleSetVersion.id).where(RuleSetVersion.published_at.is_not(None)
                                            | RuleSetVersion.id.in_(select(Cycle.rule_set_version_id)))
# Past this many accepted rows the items are found by their groups' conditions rather than by their ids.
MAX_IDS = 500


class Waiting:
    """The caller's current appraisals (within the filters) on which they may act now at ``at``: how many
    (:attr:`count`, :attr:`per_state`), as a SQL condition, and any slice of them as inbox items."""

    def __init__(self, session, caller: Caller, at: dt.datetime, *, cycle_id: int | None = None,
                 station_id: int | None = None, state: str | None = None, q: str | None = None,
                 due: str | None = None) -> None:
        self.session, self.caller, self.at = session, caller, at
        actor = caller.actor
        self.flags = relation_flags(caller)
        self.people = tuple(i for i in (actor.employee_id, *(p.employee_id for p in actor.acting_for)))
        self.decisions: dict[tuple, list[Transition]] = {}
        self.guards: dict[tuple, tuple] = {}  # each workflow's guards out of a state (decision_key)
        self.tables: dict[int, WorkflowTable] = {}
        self.searched = bool(q and q.strip())
        # what the statements are built from besides the people: the scope and the filters
        self.where_key = (caller.scope, cycle_id, station_id, q.strip() if self.searched else None)
        self.where = built(("where", *self.where_key), functools.partial(_where, *self.where_key))
        # Only states where some transition could be this actor's, by role, reach the groups.
        roles = set(actor.roles).union(*(p.roles for p in actor.acting_for))
        states: set[str] = set()
        for version in session.scalars(_VERSIONS).all():
            self.tables[version] = table = workflows.workflow_table(session, version)
            states |= acting_states(table, roles)
        # the states where the employee's supervisor and station matter (the others need no join)
        self.related = {s for s in states if any(reads_relations(t, s) for t in self.tables.values())}
        if state is not None:
            states &= {state}
        self.groups: list[Group] = self._groups(states) if states else []
        self.dues = due_map(session, {g.cycle_id for g in self.groups})
        if due is not None:
            self.groups = [g for g in self.groups if self.status(g.cycle_id, g.state) == due]
        self.verdicts = self._decide_groups()
        self.refused, self.accepted, self.decided = self._decide_rows()
        self.per_state: dict[str, tuple[int, int]] = {}
        for g in self.groups:
            verdict = self.verdicts[g]
            if verdict == NONE:
                continue
            n = g.count if verdict == ALL else self.accepted.get(g, 0)
            if not n:
                continue
            count, overdue = self.per_state.get(g.state, (0, 0))
            self.per_state[g.state] = (count + n, overdue + n * (self.status(g.cycle_id, g.state) == OVERDUE))
        self.count = sum(n for n, _ in self.per_state.values())

    def _moves(self, table: WorkflowTable, facts: Facts) -> list[Transition]:
        """:func:`moves_on` for the caller, decided once per :func:`decision_key`."""
        key = decision_key(table, facts, self.people, self.guards)
        if key is None:
            return moves_on(table, facts, self.caller.actor)
        if key not in self.decisions:
            self.decisions[key] = moves_on(table, facts, self.caller.actor)
        return self.decisions[key]

    def status(self, cycle_id: int, state: str) -> str | None:
        return due_status(self.dues.get((cycle_id, state)), self.at)

    def _joined(self, query, people: bool = True):
        if not people:  # the appraisal alone (and the employee's name and number for a search)
            return query.join(Employee, Employee.id == Appraisal.employee_id) if self.searched else query
        return (query.join(Employee, Employee.id == Appraisal.employee_id)
                .join(Station, Station.id == Appraisal.station_id)
                .join(Cycle, Cycle.id == Appraisal.cycle_id))

    def _flags_of(self, state: str) -> list:
        """The flags read in ``state``: None for one that it does not read (always 0 in its groups)."""
        return [f.expr if f is not None else None for f in read_flags(self.flags, state in self.related)]

    def _rows(self, condition):
        """The full rows (what an item and its facts need) meeting ``condition`` within the filters."""
        return ROW.where(*self.where, condition)

    def _groups(self, states: set[str]) -> list[Group]:
        out = []
        for related in (False, True):
            chosen = sorted(s for s in states if (s in self.related) == related)
            if chosen:
                out += grouped(self.session, functools.partial(self._within, states=chosen, related=related),
                               read_flags(self.flags, related),
                               key=(self.where_key, self.people, tuple(chosen), related))
        return sorted(out, key=lambda g: (g.cycle_id, g.state, g.version, g.flags))

    def _within(self, query, *, states: list[str], related: bool):
        """``query`` over the rows in ``states`` within the filters (joined to the people if ``related``)."""
        return self._joined(query, people=related).where(*self.where, Appraisal.state.in_(states))

    def _condition(self, group: Group):
        return and_(_CYCLE == group.cycle_id, Appraisal.state == group.state,
                    Appraisal.rule_set_version_id == group.version,
                    *(f == v for f, v in zip(self._flags_of(group.state), group.flags, strict=True)
                      if f is not None))

    def _decide_groups(self) -> dict[Group, str]:
        """Each group's verdict, from its first appraisal: all wait, none does, or per row."""
        if not self.groups:
            return {}
        for version in {g.version for g in self.groups} - set(self.tables):  # not expected: see __init__
            self.tables[version] = workflows.workflow_table(self.session, version)
        # the groups' first rows, by their ids alone
        firsts = {r.id: r for r in self.session.execute(ROWS_BY_ID, {"ids": [g.first for g in self.groups]})}
        loosened: dict[int, WorkflowTable] = {}
        published: dict = {}
        out = {}
        for g in self.groups:
            table = self.tables[g.version]
            facts = row_facts_of(table, firsts[g.first], published=published)
            if not row_dependent(table, g.state):
                out[g] = ALL if moves_on(table, facts, self.caller.actor) else NONE
                continue
            if g.version not in loosened:
                loosened[g.version] = relaxed(table)
            out[g] = PER_ROW if moves_on(loosened[g.version], facts, self.caller.actor) else NONE
        return out

    def _decide_rows(self) -> tuple[list[int], dict[Group, int], dict[int, tuple[Facts, list[Transition]]]]:
        """The appraisals refused in the groups decided per row, how many of each such group wait, and the
        facts and moves of those that wait (an item of theirs needs them again)."""
        groups = [g for g in self.groups if self.verdicts[g] == PER_ROW]
        if not groups:
            return [], {}, {}
        by_key = {(g.cycle_id, g.state, g.version, g.flags): g for g in groups}
        # the rows of the groups' states, cycles and workflows (one statement whatever the groups, built
        # once per worker for a scope, filters and people), of which those of the groups are kept
        statement = built(("per row", self.where_key, self.people), self._per_row_statement)
        rows = []
        width = len(self.flags)
        # which flags each state reads: 1 for a flag read, 0 for one left out (0 in its groups)
        read = {s: tuple(int(f is not None) for f in self._flags_of(s)) for s in {g.state for g in groups}}
        for row in self.session.execute(statement, {
                "states": sorted(read), "cycles": sorted({g.cycle_id for g in groups}),
                "versions": sorted({g.version for g in groups})}):
            state = row.state.value
            key = tuple(v * r for r, v in zip(read[state], row[-width:], strict=True))
            group = by_key.get((row.cycle_id, state, row.rule_set_version_id, key))
            if group is not None:
                rows.append((row, group))
        facts = rows_facts(self.session, [row for row, _ in rows], self.tables, checked=True)
        refused, accepted, decided = [], {}, {}
        for row, group in rows:
            moves = self._moves(self.tables[row.rule_set_version_id], facts[row.id])
            if moves:
                accepted[group] = accepted.get(group, 0) + 1
                decided[row.id] = (facts[row.id], moves)
            else:
                refused.append(row.id)
        return refused, accepted, decided

    def _per_row_statement(self):
        flags = [f.expr.label(f"f{i}") for i, f in enumerate(self.flags)]
        return self._rows(and_(Appraisal.state.in_(bindparam("states", expanding=True)),
                               _CYCLE.in_(bindparam("cycles", expanding=True)),
                               Appraisal.rule_set_version_id.in_(bindparam("versions", expanding=True)))
                          ).add_columns(LEFT_APPROVAL_COLUMN, *flags)

    def condition(self):
        """SQL: the appraisals that wait (within the filters, which :meth:`_rows` adds): those of the groups
        that wait whole, and those of the groups decided per row that were accepted, by their ids (or, past
        :data:`MAX_IDS` of them, by their groups' conditions less the refused rows)."""
        waiting = [g for g in self.groups if self.verdicts[g] != NONE]
        if not waiting:
            return false()
        by_ids = len(self.decided) <= MAX_IDS
        chosen = {g for g in waiting if not (by_ids and self.verdicts[g] == PER_ROW)}
        # a state and workflow whose groups all wait needs no relation test
        whole: dict[tuple[str, int], set[int]] = {}
        partial = []
        for key in sorted({(g.state, g.version) for g in chosen}):
            mine = [g for g in self.groups if (g.state, g.version) == key]
            if all(g in chosen for g in mine):
                whole[key] = {g.cycle_id for g in mine}
            else:
                partial += [g for g in mine if g in chosen]
        parts = [and_(Appraisal.state == s, Appraisal.rule_set_version_id == v,
                      _CYCLE.in_(sorted(cycles))) for (s, v), cycles in sorted(whole.items())]
        parts += [self._condition(g) for g in partial]
        if by_ids and self.decided:
            parts.append(_among(Appraisal.id, sorted(self.decided), self.session))
        # the states first: an index on the state narrows the rows before the groups' test
        condition = and_(Appraisal.state.in_(sorted({g.state for g in waiting})), or_(*parts))
        if not by_ids and self.refused:
            condition = condition & Appraisal.id.not_in(self.refused)
        return condition

    def _items_statement(self, sort: str, offset: int, limit: int):
        order = _order(sort)
        if sort.removeprefix("-") == "due":
            order = [self._due_rank(sort.startswith("-")), *order]
        return self._rows(self.condition()).order_by(*order).offset(max(0, offset)).limit(limit)

    def _due_rank(self, descending: bool):
        """The order of the due dates of the (cycle, state) pairs that wait, those without one last."""
        pairs = {(g.cycle_id, g.state) for g in self.groups if self.verdicts[g] != NONE}
        dated = sorted({d for d in (self.dues.get(p) for p in pairs) if d is not None}, reverse=descending)
        rank = {d: i for i, d in enumerate(dated)}
        whens = [((Appraisal.cycle_id == c) & (Appraisal.state == s), rank[self.dues[(c, s)]])
                 for c, s in sorted(pairs) if self.dues.get((c, s)) is not None]
        return case(*whens, else_=len(dated)) if whens else literal(0)

    def items(self, sort: str = "due", offset: int = 0, limit: int = 1000) -> list[InboxItem]:
        """The items from the ``offset``-th on, at most ``limit``, in the order ``sort``."""
        if not self.count or limit <= 0:
            return []
        # built once per worker for what it is built from: the filters, people, groups and their verdicts,
        # the rows decided one by one, the due dates, the order and the slice
        key = ("items", self.where_key, self.people, frozenset(self.related),
               tuple((g, self.verdicts[g]) for g in self.groups),
               tuple(sorted(self.decided)), tuple(self.refused), tuple(sorted(self.dues.items())), sort,
               max(0, offset), limit)
        rows = self.session.execute(built(key, functools.partial(self._items_statement, sort, offset,
                                                                 limit))).all()
        facts = rows_facts(self.session, [r for r in rows if r.id not in self.decided], self.tables)
        caller, items = self.caller, []
        for row in rows:
            table = self.tables[row.rule_set_version_id]
            known, allowed = self.decided.get(row.id) or (facts[row.id], None)
            if allowed is None:
                allowed = self._moves(table, known)
            due_at = self.dues.get((row.cycle_id, row.state.value))
            items.append(InboxItem(
                row.id, row.cycle_name, row.employee_no, row.employee_name, row.code, row.state.value,
                row.total, row.grade, allowed, table, list(waiting_for(table, known)), cycle_id=row.cycle_id,
                due_at=due_at, due_status=due_status(due_at, self.at),
                acting_for=_acting_for(table, known, caller, allowed) if allowed else None,
                countersign=countersign_status(table, known)))
        # the caller's own name is at hand (read with the caller this request): the others are read
        actor = caller.actor
        names = {actor.employee_id: actor.name} if actor.employee_id is not None else {}
        names.update(names_of(self.session, {p.employee_id for i in items for p in i.waiting} - set(names)))
        for item in items:
            item.waiting = waiting_labels(item.table, item.waiting, caller.locale, names)
        return items


def _where(scope, cycle_id: int | None, station_id: int | None, q: str | None) -> list:
    """The conditions of the rows within the caller's scope and the filters (``q``: a search), shared by
    the views of a worker (never changed)."""
    where = [Appraisal.is_current.is_(True), scope_clause(Appraisal, scope)]
    if cycle_id is not None:
        where.append(Appraisal.cycle_id == cycle_id)
    if station_id is not None:
        where.append(Appraisal.station_id == station_id)
    if q is not None:
        pattern = _like(q)
        where.append(Employee.employee_no.ilike(pattern, escape="\\")
                     | Employee.name.ilike(pattern, escape="\\"))
    return tuple(where)


def _among(column, ids: list[int], session):
    """``column`` among ``ids``: on PostgreSQL as one array (``= ANY``), a statement of one text and one
    parameter however many they are, which the driver and the server parse and plan once; elsewhere as a
    list (``IN``)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)


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
