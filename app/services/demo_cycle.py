"""The demo's cycles: one cycle over the months of demo data that are over (not the current one, so
that its figures are the same whatever the day of seeding), its appraisals moved through the real
transition service into several states (draft, pending_review, pending_second_review, approved,
disputed) and its results published, so that every screen has something to show and the supervisors
have work waiting, with a due date for each step a few days ahead; and an earlier monthly cycle over
the first month, every appraisal approved and published, so that each demo employee sees a result of
their own (an employee sees a published, approved result only)."""

from __future__ import annotations

import calendar
import datetime as dt

from flask import current_app
from sqlalchemy import func, select

from .. import clock
from ..models import Appraisal, Cycle, CycleDeadline, Employee
from ..models.source import WorkOrder
from ..workflow import Refusal, State
from .caller import Caller, caller_for
from .compute import compute_cycle
from .cycles import create_cycle
from .errors import Conflict, NotFound
from .publication import PolicyBreached, publish
from .review import review
from .rules import NoRuleSet, published_ruleset
from .transitions import transition

# Published over the distribution policy when the demo's handful of people breaks it.
DEMO_OVERRIDE = "演示数据：每站人数少，强制分布仅作参考，先行公示。"
# The demo cycle's due dates: days after the day of seeding, per step (the end of that local day).
DEMO_DUE_DAYS = {State.draft: 2, State.pending_review: 3, State.pending_second_review: 5,
                 State.disputed: 7, State.approved: 10}


def _period(session) -> tuple[dt.date, dt.date]:
    """The whole months covered by the demo's completed orders that are over (the month of today is
    left out, so that the cycle's figures do not follow the day of seeding); the whole months covered
    when all of them fall in this month; the last quarter without data."""
    try:
        first, last = session.execute(
            select(func.min(WorkOrder.completed_at), func.max(WorkOrder.completed_at))).one()
    except Exception:  # noqa: BLE001 - no source data rows readable: fall back to a calendar quarter
        session.rollback()
        first = last = None
    today = clock.local_today()
    if first is None or last is None:
        quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        last_day = quarter_start - dt.timedelta(days=1)
        return dt.date(last_day.year, last_day.month - 2, 1), last_day
    first, last = first.date(), last.date()
    start = dt.date(first.year, first.month, 1)
    end = dt.date(last.year, last.month, calendar.monthrange(last.year, last.month)[1])
    before_this_month = today.replace(day=1) - dt.timedelta(days=1)
    if start <= before_this_month:
        end = min(end, before_this_month)
    return start, end


def _caller(session, username: str) -> Caller:
    user = current_app.appbuilder.sm.find_user(username=username)
    return caller_for(session, user)


def _set_due_dates(session, cycle_id: int, hr: Caller) -> None:
    """Due dates for each step of the demo cycle, a few days ahead (HR sets them on the cycle page)."""
    today, at = clock.local_today(), clock.now()
    session.add_all(CycleDeadline(cycle_id=cycle_id, state=state.value, set_by=hr.actor.name, set_at=at,
                                  due_at=clock.end_of_local_day(today + dt.timedelta(days=days)))
                    for state, days in DEMO_DUE_DAYS.items())
    session.commit()


def _approve_fully(session, appraisal_id: int, supervisor: Caller, second: Caller) -> None:
    """Approve as the supervisor; when the guard asks for a second review, approve that too."""
    state = transition(session, appraisal_id, supervisor, "approve", "同意。")
    if state == State.pending_second_review:
        transition(session, appraisal_id, second, "approve", "复核同意。")


def _publish(session, cycle_id: int, hr: Caller) -> None:
    try:
        publish(session, cycle_id, hr)
    except PolicyBreached:
        publish(session, cycle_id, hr, DEMO_OVERRIDE)


def _approve_by_anyone(session, appraisal_id: int, people: list[Caller], comment: str) -> None:
    """Approve up to ``approved`` as whoever may take each step (the supervisor, their stand-in, the
    second review's station manager or HR)."""
    for _ in range(2):
        for person in people:
            try:
                state = transition(session, appraisal_id, person, "approve", comment)
            except (Refusal, NotFound, Conflict):  # not theirs (or not theirs now): the next one's
                continue
            if state == State.approved:
                return
            break


def _seed_history(session, start: dt.date, hr: Caller, reviewers: list[Caller]) -> None:
    """The earlier monthly cycle: every appraisal approved (one after a return with an internal note
    to HR), then published."""
    end = dt.date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
    cycle = create_cycle(session, f"演示月度考核 {start:%Y-%m}", start, end)
    compute_cycle(session, cycle)
    ids = dict(session.execute(
        select(Employee.employee_no, Appraisal.id).join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))
    ).all())
    for no, ident in sorted(ids.items()):
        transition(session, ident, hr, "submit", "")
        if no == "EMP4":
            transition(session, ident, reviewers[0], "return", "请 HR 核实工单数据后重新计算。")
            transition(session, ident, hr, "submit", "已核实工单数据。")
        _approve_by_anyone(session, ident, reviewers, "同意。")
    _publish(session, cycle.id, hr)


def seed_demo_cycle(session) -> str | None:
    """Compute the demo cycle and move its appraisals; returns a summary, None if there is a cycle."""
    if session.scalar(select(func.count()).select_from(Cycle)):
        return None
    try:
        published_ruleset(session)
    except NoRuleSet:
        return "No demo cycle: no rule set is published."
    start, end = _period(session)
    cycle = create_cycle(session, f"演示考核 {start:%Y-%m}至{end:%Y-%m}", start, end)
    compute_cycle(session, cycle)

    ids = {no: ident for no, ident in session.execute(
        select(Employee.employee_no, Appraisal.id).join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))
    )}
    hr, sup1, sup2, manager1 = (_caller(session, u) for u in ("hr", "sup1", "sup2", "manager1"))
    _set_due_dates(session, cycle.id, hr)
    # EMP9 and EMP10 stay drafts; everyone else goes to review.
    for no, ident in sorted(ids.items()):
        if no not in ("EMP9", "EMP10"):
            transition(session, ident, hr, "submit", "")
    # sup1 rates teamwork (团队协作) on the way: above the target for EMP1 and EMP3, below for EMP2; the
    # appraisals nobody has reviewed yet leave it N/A
    if "EMP1" in ids:
        review(session, ids["EMP1"], sup1, manual={"kpi_teamwork": 88})
        _approve_fully(session, ids["EMP1"], sup1, manager1)
    if "EMP2" in ids:
        review(session, ids["EMP2"], sup1, manual={"kpi_teamwork": 70})
        _approve_fully(session, ids["EMP2"], sup1, manager1)
    if "EMP3" in ids:
        review(session, ids["EMP3"], sup1, manual={"kpi_teamwork": 90}, adjustment=6,
               reason="季度技能比武第一名，加 6 分。")
        transition(session, ids["EMP3"], sup1, "approve", "加分较多，请站长复核。")
    if "EMP6" in ids:
        _approve_fully(session, ids["EMP6"], sup2, hr)
    _publish(session, cycle.id, hr)
    if "EMP2" in ids:  # the employee answers a published result
        transition(session, ids["EMP2"], _caller(session, "emp2"), "dispute",
                   "返修单 2 张并非我的责任，请核实。")
    counts = dict(session.execute(
        select(Appraisal.state, func.count()).where(Appraisal.cycle_id == cycle.id).group_by(Appraisal.state)
    ).all())
    _seed_history(session, start, hr, [sup1, sup2, manager1, hr, _caller(session, "admin")])
    states = ", ".join(f"{k.value} {v}" for k, v in sorted(counts.items()))
    return f"Demo cycle {cycle.name} (published): {states}; an earlier monthly cycle, approved and published."
