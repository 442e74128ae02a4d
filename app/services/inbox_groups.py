"""The current appraisals grouped by what the inbox's decision reads of them (app.services.inbox): their
state, cycle and workflow, and how the caller's people relate to them. The groups are counted in the
order of the index on (current, state, cycle, workflow, employee, station, reviewer), which holds every
column they read, so the database neither reads a row nor sorts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import and_, case, func, or_, select

from ..models import Appraisal, Station
from ..workflow import State
from .appraisals import REVIEWER_ID
from .caller import Caller

SUPERVISOR_ID = REVIEWER_ID.element  # the reviewer of the appraisal, else the employee's supervisor


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


def grouped(session, within: Callable, read: list[Flag | None]) -> list[Group]:
    """The groups of the rows ``within(query)`` keeps, by state, cycle, workflow and the flags ``read``."""
    return _common_groups(session, within, read) + _personal_groups(session, within, read)


def _common_groups(session, within: Callable, read: list[Flag | None]) -> list[Group]:
    """The groups of the rows naming none of the caller's people: grouped by the index's own order
    (state, cycle, workflow), with a count and a first row for each value of the flags most rows may
    set (whether the employee has a supervisor, a station manager), so nothing is sorted."""
    shared = [i for i, f in enumerate(read) if f is not None and f.personal is None]
    nobody = [f.expr == 0 for f in read if f is not None and f.personal is not None]
    keys = [Appraisal.state, Appraisal.cycle_id, Appraisal.rule_set_version_id]
    values = list(itertools.product((0, 1), repeat=len(shared)))
    columns = []
    for n, value in enumerate(values):
        condition = [*(read[i].expr == v for i, v in zip(shared, value, strict=True)), *nobody]
        if not condition:
            columns += [func.count().label(f"n{n}"), func.min(Appraisal.id).label(f"m{n}")]
            continue
        columns += [func.sum(case((and_(*condition), 1), else_=0)).label(f"n{n}"),
                    func.min(case((and_(*condition), Appraisal.id))).label(f"m{n}")]
    out = []
    for row in session.execute(within(select(*keys, *columns)).group_by(*keys)):
        for n, value in enumerate(values):
            count = row._mapping[f"n{n}"]
            if count:
                set_ = dict(zip(shared, value, strict=True))
                flags = tuple(set_.get(i, 0) for i in range(len(read)))
                out.append(Group(row.cycle_id, _state(row.state), row.rule_set_version_id, flags, count,
                                 row._mapping[f"m{n}"]))
    return out


def _personal_groups(session, within: Callable, read: list[Flag | None]) -> list[Group]:
    """The groups of the few rows naming the actor or a principal, grouped by every flag read."""
    personal = [f.personal for f in read if f is not None and f.personal is not None]
    if not personal:
        return []
    flags = [f.expr.label(f"f{i}") for i, f in enumerate(read) if f is not None]
    keys = [Appraisal.state, Appraisal.cycle_id, Appraisal.rule_set_version_id, *flags]
    rows = session.execute(within(select(*keys, func.count().label("count"),
                                         func.min(Appraisal.id).label("first"))).where(or_(*personal))
                           .group_by(*keys))
    return [Group(r.cycle_id, _state(r.state), r.rule_set_version_id,
                  tuple(r._mapping[f"f{i}"] if f is not None else 0 for i, f in enumerate(read)), r.count,
                  r.first) for r in rows]
