"""Reminders before a cycle's due dates and escalations after them (the periodic job calls :func:`run`).

For each due date whose reminder time has come, the cycle's current appraisals still in that step are
counted per person to tell, at a *level*:

* level 0, from ``due - JIXIAO_REMIND_BEFORE_HOURS`` until the due date: a reminder to whoever may move
  them on now (``recipients.next_actors``: the workflow's answer, with substitutes);
* level 1, once the due date has passed, and level 2, ``JIXIAO_ESCALATE_AFTER_HOURS`` later: an escalation
  one and two levels up from each late party (:func:`escalate`: the employee → the supervisor → the station
  manager → HR, capped at HR). A level with nobody in it (no supervisor, no station manager, or the late
  person themself) falls through to the next one, as ``supervisor_stand_in`` does. Whoever stands in for
  one of the people told (代理, on the local date of the run) is told too, once, named as standing in;
  not a substitute who is the appraised employee or late with it.

Each person gets one notification per cycle, step, level and due date (key
``remind:<cycle>:<step>:<level>:<due>``) with the count: running the job twice, or two workers at once,
tells nobody twice (``record.notify_users`` inserts on the unique ``(user, key)``). A new due date is a new
key. Escalations also queue the stations' group robot summaries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from .. import clock
from ..models import Appraisal, Cycle, CycleDeadline, Employee, Station
from ..services import workflows
from ..services.appraisals import (
    REVIEWER_ID,
    countersign_facts,
    guard_values,
    names_of,
    publication_facts,
    round_facts,
)
from ..services.deadlines import aware, remind_before
from ..services.substitutes import active_substitutes
from ..workflow import APPROVAL_STATES, Facts, State, waiting_for
from ..workflow.table import HR, SELF, STATION_MANAGER, SUPERVISOR
from . import robots
from .messages import ESCALATION as ESCALATION_KIND
from .messages import REMINDER, bilingual
from .recipients import hr_users, next_actors
from .record import notify_users

# Who is told when the late party does not act: each level one step further up, capped at HR.
ESCALATION = (SELF, SUPERVISOR, STATION_MANAGER, HR)
REMINDER_LEVEL = 0
LATE_NAMES = 5  # at most this many late people named in one escalation


def escalate(relation: str, level: int) -> str:
    """The relation told at ``level`` about a late ``relation`` (level 0: the late party itself)."""
    start = ESCALATION.index(relation) if relation in ESCALATION else len(ESCALATION) - 1
    return ESCALATION[min(start + max(level, 0), len(ESCALATION) - 1)]


def escalate_after() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config.get("JIXIAO_ESCALATE_AFTER_HOURS", 48)))


def levels_at(due_at: dt.datetime, at: dt.datetime) -> tuple[int, ...]:
    """The levels reached at ``at``: none before the reminder time, the reminder until the due date, then
    the first escalation, and both once ``JIXIAO_ESCALATE_AFTER_HOURS`` have passed too."""
    due_at = aware(due_at)
    if at < due_at - remind_before():
        return ()
    if at <= due_at:
        return (REMINDER_LEVEL,)
    return (1, 2) if at >= due_at + escalate_after() else (1,)


@dataclass
class _Told:
    """What one person is told at one level: how many appraisals, who is late with them, and the names of
    those they are told for as a substitute (none when told in their own right of every appraisal)."""

    count: int = 0
    late: dict[tuple[str, int | None], None] = field(default_factory=dict)
    standing_in_for: dict[str, None] = field(default_factory=dict)


@dataclass
class _Late:
    """One late appraisal: its facts, its station and its workflow table."""

    id: int
    station_id: int
    facts: Facts
    table: object


def run(session, at: dt.datetime) -> dict[str, int]:
    """Remind and escalate for every due date whose reminder time has come; in the caller's transaction
    (the caller commits). How many notifications were new, per kind."""
    counts = {"reminders": 0, "escalations": 0}
    deadlines = session.execute(
        select(CycleDeadline.cycle_id, CycleDeadline.state, CycleDeadline.due_at, Cycle.name)
        .join(Cycle, Cycle.id == CycleDeadline.cycle_id)
        .where(CycleDeadline.due_at <= at + remind_before())
        .order_by(CycleDeadline.cycle_id, CycleDeadline.state)).all()
    for cycle_id, state, due_at, cycle_name in deadlines:
        due_at = aware(due_at)
        levels = levels_at(due_at, at)
        late = _late_appraisals(session, cycle_id, state) if levels else []
        if not late:
            continue
        base = {"cycle": cycle_name, "due": due_at.isoformat(timespec="seconds"),
                "state": bilingual(late[0].table.state_label(state, "zh_CN"),
                                   late[0].table.state_label(state, "en"))}
        for level in levels:
            told = (_reminded(session, late) if level == REMINDER_LEVEL
                    else _escalated(session, late, level, clock.local_today(at)))
            if not told:
                continue
            names = names_of(session, {e for t in told.values() for _, e in t.late})
            users = {user_id: {"count": t.count, **_late_label(late[0].table, t, names), **_acting_for(t)}
                     for user_id, t in told.items()}
            key = f"remind:{cycle_id}:{state}:{level}:{base['due']}"
            kind = REMINDER if level == REMINDER_LEVEL else ESCALATION_KIND
            link = _link(cycle_id, state, level)
            added = notify_users(session, key=key, kind=kind, users=users, params={**base, "level": level},
                                 link=link, cycle_id=cycle_id)
            counts["reminders" if level == REMINDER_LEVEL else "escalations"] += added
            if added and level > REMINDER_LEVEL:
                robots.queue_summaries(session, {a.station_id for a in late}, at)
    return counts


def _link(cycle_id: int, state: str, level: int) -> str:
    """Where the notification leads: the reminded find their items in the inbox (an employee their own
    result), the people above them the cycle's page with its counts."""
    if level > REMINDER_LEVEL:
        return f"/cycles/{cycle_id}"
    if state == State.approved.value:  # only the employees sign or dispute
        return "/appraisal/mine/"
    return f"/appraisal/inbox/?cycle={cycle_id}&state={state}"


def _late_appraisals(session, cycle_id: int, state: str) -> list[_Late]:
    """The cycle's current appraisals in ``state``, with the workflow facts who acts next depends on."""
    rows = session.execute(
        select(Appraisal.id, Appraisal.rule_set_version_id, Appraisal.state, Appraisal.employee_id,
               Appraisal.station_id, Appraisal.total, Appraisal.subtotal, Appraisal.adjustment,
               Appraisal.grade, Appraisal.version,
               REVIEWER_ID, Station.manager_id, Cycle.published_at)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.cycle_id == cycle_id, Appraisal.state == state, Appraisal.is_current.is_(True))
        .order_by(Appraisal.id)).all()
    in_approval = [r.id for r in rows] if state in APPROVAL_STATES else []
    rounds = round_facts(session, in_approval) if in_approval else {}
    seats = countersign_facts(session, in_approval) if in_approval else {}
    tables: dict[int, object] = {}
    late = []
    for row in rows:
        version = row.rule_set_version_id
        table = tables.get(version) or tables.setdefault(version, workflows.workflow_table(session, version))
        approvals, edits = rounds.get(row.id, ((), 0))
        facts = Facts(row.state.value, row.employee_id, row.supervisor_id, row.manager_id, guard_values(row),
                      approvals=approvals, edits=edits, countersigns=seats.get(row.id, ()),
                      **publication_facts(table, row.published_at))
        late.append(_Late(row.id, row.station_id, facts, table))
    return late


def _reminded(session, late: list[_Late]) -> dict[int, _Told]:
    """Level 0: whoever may move each appraisal on now (a substitute named as standing in), counted per
    person."""
    told: dict[int, _Told] = defaultdict(_Told)
    for appraisal in late:
        for user_id, extra in next_actors(session, appraisal.id, None).items():
            told[user_id].count += 1
            if extra.get("acting_for"):
                told[user_id].standing_in_for.setdefault(extra["acting_for"])
    return dict(told)


def _escalated(session, late: list[_Late], level: int, day: dt.date) -> dict[int, _Told]:
    """Level ``level``: for each late party of each appraisal, the people ``level`` steps above it, and
    whoever stands in for one of them on the local date ``day`` (代理) — each person once per appraisal,
    whether told in their own right, as a substitute or both; never a substitute who is the appraised
    employee or one of the late people (the escalation is about them, and goes above them)."""
    told: dict[int, _Told] = defaultdict(_Told)
    users = _UserMap(session, late, day)
    for appraisal in late:
        facts = appraisal.facts
        parties = [party for party in waiting_for(appraisal.table, facts)
                   if party.relation != SELF or facts.published]  # nobody waits on an unpublished result
        late_people = {party.employee_id for party in parties if party.employee_id is not None}
        recipients: set[int] = set()
        for party in parties:
            recipients |= users.of(escalate(party.relation, level), facts, late_people)
        stand_ins: dict[int, list[int]] = {}  # substitute → the recipients they stand in for
        for principal_id in sorted(recipients):
            for substitute_id in users.substitutes.get(principal_id, ()):
                if substitute_id not in recipients and users.may_stand_in(substitute_id, facts, late_people):
                    stand_ins.setdefault(substitute_id, []).append(principal_id)
        for user_id in recipients | set(stand_ins):
            told[user_id].count += 1
            for principal_id in stand_ins.get(user_id, ()):
                told[user_id].standing_in_for.setdefault(users.names.get(principal_id, ""))
            for party in parties:
                told[user_id].late.setdefault((party.relation, party.employee_id))
    return dict(told)


class _UserMap:
    """People to users: an employee's account (active), and every active HR account (Admin when there
    is no HR account); the active substitutes of those users on the local date ``day``, and the
    substitutes' own employee records."""

    def __init__(self, session, late: list[_Late], day: dt.date) -> None:
        people = {a.facts.supervisor_id for a in late} | {a.facts.station_manager_id for a in late}
        people.discard(None)
        self.accounts: dict[int, int] = dict(session.execute(
            select(Employee.id, Employee.user_id).join(User, User.id == Employee.user_id)
            .where(Employee.id.in_(sorted(people)), User.active.is_(True))).all()) if people else {}
        self.hr = frozenset(hr_users(session))
        self.substitutes = active_substitutes(session, {*self.accounts.values(), *self.hr}, day)
        standing_in = sorted({u for found in self.substitutes.values() for u in found})
        self.employee_of: dict[int, int] = dict(session.execute(
            select(Employee.user_id, Employee.id).where(Employee.user_id.in_(standing_in))).all()
        ) if standing_in else {}
        self.names = _user_names(session, set(self.substitutes))  # the principals, for "you stand in for"

    def may_stand_in(self, user_id: int, facts: Facts, late_people: set[int]) -> bool:
        """Whether a substitute is told of this appraisal: not when they are its employee or late with it."""
        person = self.employee_of.get(user_id)
        return person is None or (person != facts.employee_id and person not in late_people)

    def of(self, relation: str, facts: Facts, late_people: set[int]) -> frozenset[int]:
        """The users holding ``relation`` to the appraisal, walking further up while the level is empty
        or held by the employee or by one of the late people."""
        for step in ESCALATION[ESCALATION.index(relation):] if relation in ESCALATION else (HR,):
            if step == HR:
                return self.hr
            person = {SUPERVISOR: facts.supervisor_id, STATION_MANAGER: facts.station_manager_id}.get(step)
            user_id = self.accounts.get(person) if person is not None else None
            if user_id is not None and person != facts.employee_id and person not in late_people:
                return frozenset({user_id})
        return self.hr


def _user_names(session, user_ids: set[int]) -> dict[int, str]:
    """User id → the person's name (their employee record's, else the account's), for "you stand in for"."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(User.id, Employee.name, User.first_name, User.last_name, User.username)
        .outerjoin(Employee, Employee.user_id == User.id).where(User.id.in_(sorted(user_ids)))).all()
    return {ident: name or f"{first or ''} {last or ''}".strip() or username
            for ident, name, first, last, username in rows}


def _acting_for(told: _Told) -> dict:
    """``acting_for``: the people a substitute is told for, named in both languages (none when the
    person is told in their own right only)."""
    people = [name for name in told.standing_in_for if name]
    return {"acting_for": bilingual("、".join(people), ", ".join(people))} if people else {}


def _late_label(table, told: _Told, names: dict[int, str]) -> dict:
    """``late_party``: who is late, as the relation's label and the person's name, in both languages."""
    if not told.late:
        return {}
    parts = {"zh": [], "en": []}
    for relation, employee_id in list(told.late)[:LATE_NAMES]:
        name = names.get(employee_id) if employee_id is not None else None
        for lang, locale in (("zh", "zh_CN"), ("en", "en")):
            label = table.relation_label(relation, locale)
            parts[lang].append(f"{label} {name}" if name else label)
    more = len(told.late) > LATE_NAMES
    return {"late_party": bilingual("、".join(parts["zh"]) + ("等" if more else ""),
                                    ", ".join(parts["en"]) + (", …" if more else ""))}
