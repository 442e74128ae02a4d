"""The current appraisals grouped by what the inbox's decision reads of them (app.services.inbox): their
state, cycle and workflow, and how the caller's people relate to them. The groups are counted in the
order of the index on (current, state, cycle, workflow, employee, station, reviewer), which holds every
column they read, so the database neither reads a row nor sorts.

Counting still passes over every current appraisal of those states (about 100,000 drafts on a network's
HR home page), so a worker keeps the counts of a statement over the appraisals alone per cycle
(:func:`per_cycle`), with the cycle's fingerprint: the latest ``updated_at`` of its appraisals (one descent
of the index on (cycle, updated_at)). Every write to an appraisal stamps ``updated_at`` with the time of the
write (new rows too; appraisals are never deleted, a deleted cycle leaves the list), so a cycle whose
fingerprint moved is counted again. Only cycles whose latest write is older than ``SETTLE`` are kept: two
writes in flight at once could commit the earlier stamp last, and a clock standing still could stamp two
writes alike; a cycle written to within ``SETTLE`` is counted on every view. A statement reading another
table (the people, a scope through the employees) is never kept: a change there moves no stamp. The key is
the statement with its parameters, which hold the caller's scope and people, so callers share counts only
where they count the very same rows."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from flask import current_app, has_app_context
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.selectable import Join, SelectBase, TableClause

from ..clock import now
from ..kept import Kept
from ..models import Appraisal, Station
from ..workflow import State
from .appraisals import REVIEWER_ID
from .caller import Caller
from .latest_writes import SETTLE, latest_writes

SUPERVISOR_ID = REVIEWER_ID.element  # the reviewer of the appraisal, else the employee's supervisor
# Longer than any write transaction takes from stamping ``updated_at`` to its commit.
# The statements whose counts a worker keeps (the least recently used are dropped first).
KEPT_STATEMENTS = 256
# The statements a worker keeps built (the least recently used are dropped first), by what they are built
# from: each caller's own and each filter's, but one object for every view asking for the same.
BUILT_STATEMENTS = 512
_BUILT: Kept[tuple, object] = Kept(BUILT_STATEMENTS)


def built(key: tuple, build: Callable):
    """``build()``, kept by the worker under ``key`` (which names everything the result is built from: a
    statement with its values, its scope, its people), so that a view asking again reuses the very object
    SQLAlchemy has compiled and keyed before, rather than coercing hundreds of expressions anew."""
    return _BUILT.get_or_build(key, build)


@dataclass(frozen=True)
class Group:
    cycle_id: int
    state: str
    version: int
    flags: tuple[int, ...]
    count: int
    first: int  # the smallest appraisal id of the group


class Flag(NamedTuple):
    """A 0/1 column the decision reads of an appraisal's people: whether it needs the employee's
    supervisor or station (else it reads the appraisal alone), and for a flag naming one person the
    condition itself (few rows meet it), None for one that most rows may meet."""

    expr: object
    people: bool
    personal: object = None


def _flag(condition):
    return case((condition, 1), else_=0)


def _state(value) -> str:
    return value.value if isinstance(value, State) else State(value).value


def relation_flags(caller: Caller) -> list[Flag]:
    """What the decision reads of an appraisal's people: for the actor and each principal they stand in
    for whether they are the employee, then whether the employee has a supervisor and a station manager
    other than themselves, and for each of those people whether they are the supervisor, the station's
    manager."""
    actor = caller.actor
    supervisor, manager, employee = SUPERVISOR_ID, Station.manager_id, Appraisal.employee_id
    people = list(dict.fromkeys(i for i in (actor.employee_id, *(p.employee_id for p in actor.acting_for))
                                if i is not None))
    flags = [Flag(_flag(employee == person), False, employee == person) for person in people]
    flags += [Flag(_flag(supervisor.is_not(None) & (supervisor != employee)), True),
              Flag(_flag(manager.is_not(None) & (manager != employee)), True)]
    for person in people:
        flags += [Flag(_flag(supervisor == person), True, supervisor == person),
                  Flag(_flag(manager == person), True, manager == person)]
    return flags


def read_flags(flags: list[Flag], related: bool) -> list[Flag | None]:
    """The flags read in the states naming the supervisor or the station's manager (``related``) or in
    the others (None: a flag not read, 0 in every group)."""
    return [f if related or not f.people else None for f in flags]


def grouped(session, within: Callable, read: list[Flag | None], key: tuple | None = None) -> list[Group]:
    """The groups of the rows ``within(query)`` keeps, by state, cycle, workflow and the flags ``read``;
    ``key`` names everything ``within`` and ``read`` are built from (their statements are then built once
    per worker, see :func:`built`)."""
    return _common_groups(session, within, read, key) + _personal_groups(session, within, read, key)


def _built_or_not(key: tuple | None, build: Callable):
    return build() if key is None else built(key, build)


def _common_groups(session, within: Callable, read: list[Flag | None], key: tuple | None) -> list[Group]:
    """The groups of the rows naming none of the caller's people: grouped by the index's own order
    (state, cycle, workflow), with a count and a first row for each value of the flags most rows may
    set (whether the employee has a supervisor, a station manager), so nothing is sorted."""
    shared = [i for i, f in enumerate(read) if f is not None and f.personal is None]
    nobody = [f.expr == 0 for f in read if f is not None and f.personal is not None]
    keys = [Appraisal.state, Appraisal.cycle_id, Appraisal.rule_set_version_id]
    values = list(itertools.product((0, 1), repeat=len(shared)))

    def build():
        columns = []
        for n, value in enumerate(values):
            condition = [*(read[i].expr == v for i, v in zip(shared, value, strict=True)), *nobody]
            if not condition:
                columns += [func.count().label(f"n{n}"), func.min(Appraisal.id).label(f"m{n}")]
                continue
            columns += [func.sum(case((and_(*condition), 1), else_=0)).label(f"n{n}"),
                        func.min(case((and_(*condition), Appraisal.id))).label(f"m{n}")]
        return within(select(*keys, *columns)).group_by(*keys)

    out = []
    for row in per_cycle(session, _built_or_not(key and ("common", *key), build)):
        for n, value in enumerate(values):
            count = row[f"n{n}"]
            if count:
                set_ = dict(zip(shared, value, strict=True))
                flags = tuple(set_.get(i, 0) for i in range(len(read)))
                out.append(Group(row["cycle_id"], _state(row["state"]), row["rule_set_version_id"], flags,
                                 count, row[f"m{n}"]))
    return out


def _personal_groups(session, within: Callable, read: list[Flag | None], key: tuple | None) -> list[Group]:
    """The groups of the few rows naming the actor or a principal, grouped by every flag read."""
    personal = [f.personal for f in read if f is not None and f.personal is not None]
    if not personal:
        return []

    def build():
        flags = [f.expr.label(f"f{i}") for i, f in enumerate(read) if f is not None]
        keys = [Appraisal.state, Appraisal.cycle_id, Appraisal.rule_set_version_id, *flags]
        return (within(select(*keys, func.count().label("count"), func.min(Appraisal.id).label("first")))
                .where(or_(*personal)).group_by(*keys))

    rows = session.execute(_built_or_not(key and ("personal", *key), build))
    return [Group(r.cycle_id, _state(r.state), r.rule_set_version_id,
                  tuple(r._mapping[f"f{i}"] if f is not None else 0 for i, f in enumerate(read)), r.count,
                  r.first) for r in rows]


# -- counts kept per cycle ----------------------------------------------------------------------------------

def per_cycle(session, statement) -> list[dict]:
    """The rows of ``statement`` (grouped by ``appraisal.cycle_id``, which it selects as ``cycle_id``) as
    dicts: those of the settled cycles whose fingerprint has not moved from the worker's copy, the
    others read (see the module's docstring). Ordered by cycle, each cycle's rows as the database gave."""
    kept = _kept(session, statement)
    if kept is None:
        return [dict(row._mapping) for row in session.execute(statement)]
    store, key = kept
    moments = fingerprints(session)
    settled_before = now() - SETTLE
    copies = store.get(key) or {}
    rows: dict[int, list[dict]] = {}
    stale = []
    for cycle_id, moment in moments.items():
        copy = copies.get(cycle_id)
        if copy is not None and copy[0] == moment and moment <= settled_before:
            rows[cycle_id] = copy[1]
        else:
            stale.append(cycle_id)
    if stale:
        fresh: dict[int, list[dict]] = {c: [] for c in stale}
        read = statement if len(stale) == len(moments) else statement.where(Appraisal.cycle_id.in_(stale))
        for row in session.execute(read):
            fresh.setdefault(row.cycle_id, []).append(dict(row._mapping))
        rows.update(fresh)
        keep = {c: (moments[c], fresh[c]) for c in stale if moments[c] <= settled_before}
        if keep:  # merged with what another thread kept meanwhile, the cycles gone dropped
            store.update(key, lambda copies: {c: copy for c, copy in {**(copies or {}), **keep}.items()
                                              if c in moments})
    return [row for cycle_id in sorted(rows) for row in rows[cycle_id]]


def fingerprints(session) -> dict[int, dt.datetime]:
    """Cycle id → the latest ``updated_at`` of its appraisals (aware, UTC), for every cycle with some: one
    descent of the index on (cycle, updated_at) per cycle."""
    return latest_writes(session)


def _kept(session, statement):
    """The worker's store and the key of ``statement``, when its rows may be kept: it reads the appraisals
    alone, within an application (None otherwise). The key is the statement's own cache key with its
    parameters' values (worked out once per statement object: a built one is asked again and again)."""
    if not has_app_context():
        return None
    known = _KEYS.get(id(statement))
    if known is None or known[0] is not statement:
        known = (statement, _statement_key(statement))
        _KEYS.put(id(statement), known)
    if known[1] is None:
        return None
    store = current_app.extensions.setdefault("jixiao_kept_counts", Kept(KEPT_STATEMENTS))
    return store, (str(session.get_bind().url), *known[1])


# id of a statement → (the statement, held so that its id is not reused while listed; its key or None)
_KEYS: Kept[int, tuple] = Kept(BUILT_STATEMENTS)


def _statement_key(statement) -> tuple | None:
    appraisal = Appraisal.__table__
    for element in visitors.iterate(statement):
        if isinstance(element, (TableClause, Join)) and element is not appraisal:
            return None
        if isinstance(element, ColumnClause) and element.table is not None and element.table is not appraisal:
            return None
        if isinstance(element, SelectBase) and element is not statement:
            return None
    cache_key = statement._generate_cache_key()
    if cache_key is None:
        return None
    return cache_key.key, tuple(repr(b.effective_value) for b in cache_key.bindparams)
