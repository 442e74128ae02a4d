"""A cycle's due dates: by when its appraisals should have left a step (review by, sign by, ...).

HR sets a date per step; it is kept as the end of that local day (``JIXIAO_TIMEZONE``) in UTC, so "by
10 December" lasts until 23:59:59 in Shanghai. Everything else compares moments in UTC:
:func:`due_status` says whether a due date is near (within ``JIXIAO_REMIND_BEFORE_HOURS``) or past. The
reminders and escalations that follow from the dates are the periodic job's (``app/notify/deadlines.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .. import clock
from .. import permissions as p
from ..models import Cycle, CycleDeadline
from ..workflow import State
from .caller import Caller
from .errors import Kind, NotFound, ServiceError

# The steps that may have a due date, in the order of the workflow.
STATES = (State.draft.value, State.pending_review.value, State.pending_second_review.value,
          State.approved.value, State.disputed.value)
# What a due date of each step means, for the form.
LABELS = {
    State.draft.value: _l("Submitted for review by"),
    State.pending_review.value: _l("Reviewed by"),
    State.pending_second_review.value: _l("Second review by"),
    State.approved.value: _l("Signed or disputed by"),
    State.disputed.value: _l("Dispute settled by"),
}
# How far after the end of a cycle's period a due date may lie.
LATEST_AFTER_END = dt.timedelta(days=366)
SOON, OVERDUE = "soon", "overdue"


class NotDeadlineSetter(ServiceError):
    """Only HR sets due dates (HTTP 403)."""

    kind = Kind.REFUSED
    default_message = _l("Only HR sets a cycle's due dates.")


class BadDeadline(ServiceError):
    """A due date that cannot be used (HTTP 422); nothing was changed."""

    kind = Kind.INVALID


def remind_before() -> dt.timedelta:
    """How long before a due date it counts as near, and its reminder goes out."""
    hours = current_app.config.get("JIXIAO_REMIND_BEFORE_HOURS", 24) if has_app_context() else 24
    return dt.timedelta(hours=float(hours))


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored moment as aware UTC (SQLite gives it back naive)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def due_status(due_at: dt.datetime | None, at: dt.datetime) -> str | None:
    """``"overdue"`` once ``due_at`` has passed, ``"soon"`` within the reminder time before it, else None."""
    if due_at is None:
        return None
    due_at = aware(due_at)
    if at > due_at:
        return OVERDUE
    if at >= due_at - remind_before():
        return SOON
    return None


def due_map(session, cycle_ids: Iterable[int]) -> dict[tuple[int, str], dt.datetime]:
    """The due dates of these cycles: ``(cycle_id, state) -> due_at`` (aware UTC)."""
    ids = sorted({int(i) for i in cycle_ids})
    if not ids:
        return {}
    rows = session.execute(select(CycleDeadline.cycle_id, CycleDeadline.state, CycleDeadline.due_at)
                           .where(CycleDeadline.cycle_id.in_(ids))).all()
    return {(cycle_id, state): aware(due_at) for cycle_id, state, due_at in rows}


def parse(data: Mapping) -> dict[str, dt.date | None]:
    """A request's due dates, ``{state: "YYYY-MM-DD" or "" or None}``, as ``{state: date or None}`` (None or
    an empty text removes the date). Raises BadDeadline naming the first step it cannot use."""
    if not isinstance(data, Mapping):
        raise BadDeadline(_l("Send the due dates as an object: step → YYYY-MM-DD."))
    out: dict[str, dt.date | None] = {}
    for state, value in data.items():
        if state not in STATES:
            raise BadDeadline(_l("“%(state)s” is not a step that takes a due date; the steps are %(states)s.",
                                 state=str(state)[:40], states=", ".join(STATES)), code="UNKNOWN_STATE")
        if value is None or (isinstance(value, str) and not value.strip()):
            out[state] = None
            continue
        try:
            if not isinstance(value, str) or len(value.strip()) != 10:
                raise ValueError(value)
            out[state] = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise BadDeadline(_l("%(state)s: write the date as YYYY-MM-DD.", state=LABELS[state]),
                              code="BAD_DATE") from None
    return out


def _insert(session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def set_deadlines(session, cycle_id, caller: Caller, dates: Mapping[str, dt.date | None]
                  ) -> dict[tuple[int, str], dt.datetime]:
    """Set (a date) or remove (None) the due dates of ``cycle_id``'s steps as ``caller``; the steps not
    named keep theirs. HR only (NotDeadlineSetter, 403); NotFound; BadDeadline (422) for an unknown step or
    a day before the cycle's start or more than a year after its end. One transaction: the cycle's due
    dates afterwards (:func:`due_map`)."""
    try:
        if not caller.actor.roles & {p.HR, p.ADMIN}:
            raise NotDeadlineSetter()
        try:
            ident = int(cycle_id)
        except (TypeError, ValueError):
            raise NotFound() from None
        cycle = session.get(Cycle, ident) if 0 < ident < 2**31 else None
        if cycle is None:
            raise NotFound()
        latest = cycle.end + LATEST_AFTER_END
        for state, day in dates.items():
            if state not in STATES:
                raise BadDeadline(code="UNKNOWN_STATE")
            if day is not None and not cycle.start <= day <= latest:
                raise BadDeadline(_l("%(state)s: the date must lie between %(first)s and %(last)s.",
                                     state=LABELS[state], first=cycle.start.isoformat(),
                                     last=latest.isoformat()), code="OUT_OF_RANGE")
        at = clock.now()
        rows = [{"cycle_id": cycle.id, "state": state, "due_at": clock.end_of_local_day(day),
                 "set_by": caller.actor.name, "set_at": at}
                for state, day in sorted(dates.items()) if day is not None]
        removed = sorted(state for state, day in dates.items() if day is None)
        if rows:
            statement = _insert(session)(CycleDeadline.__table__)
            session.execute(statement.on_conflict_do_update(
                index_elements=["cycle_id", "state"],
                set_={"due_at": statement.excluded.due_at, "set_by": statement.excluded.set_by,
                      "set_at": statement.excluded.set_at}), rows)
        if removed:
            session.execute(delete(CycleDeadline).where(CycleDeadline.cycle_id == cycle.id,
                                                        CycleDeadline.state.in_(removed)))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return due_map(session, [cycle.id])
