"""Publication (结果公示): HR publishes a cycle's results.

Once its cycle is published, an employee sees an appraisal of their own as soon as it is approved (and
later signed or disputed); before that it does not exist for them. ``app.scoping`` decides that for every
screen, API, PDF and dashboard. Publication opens the window of the workflow table's ``[publication]``:
for ``dispute_days`` days the employee may dispute; signing stays open after it.

:func:`publish` is HR's (Admin counts as HR) and one transaction:

1. the cycle is stamped published by a conditional update (two people at once: one wins, the other
   gets 409, as does a cycle published already);
2. the rule set's distribution policy is checked over the current appraisals' grades; a breach refuses
   publication (409 ``POLICY_BREACHED``, naming each breach) unless HR gives an override reason, kept on
   the cycle (``publish_override_reason``, ``publication["breaches"]``) and in every appraisal's trail;
3. each pooled station's pool is shared out over its appraisals (``incentives.allocate_cycle``), which
   rewrites those snapshots; the allocation is kept in ``publication["pools"]``;
4. one internal ``publish`` event per current appraisal, with its (new) hash and the override reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, update

from .. import permissions as p
from ..models import Appraisal, AuditEvent, Cycle
from ..models.appraisal import VISIBLE_TO_SUBJECT
from ..workflow import State, check_comment, window_closes
from . import distribution, incentives, workflows
from .audit import INTERNAL, SYSTEM, event_row, now
from .caller import Caller
from .cycles import CycleCounts
from .document import PUBLISH
from .errors import Conflict, Kind, NotFound, ServiceError
from .events import PUBLISH as PUBLISHED
from .events import Event, emit


class NotPublisher(ServiceError):
    """Only HR publishes (HTTP 403)."""

    kind = Kind.REFUSED
    default_message = _l("Only HR publishes a cycle's results.")


class PolicyBreached(Conflict):
    """The distribution breaks the rule set's policy and no override reason was given (HTTP 409);
    ``payload["breaches"]`` lists each breach as a dict, and the message names them."""

    def __init__(self, breaches: list, locale: str | None) -> None:
        self.breaches = breaches
        super().__init__(self.reason(locale), code="POLICY_BREACHED",
                         breaches=[b.to_dict(locale) for b in breaches])

    def reason(self, locale: str | None = "zh_CN") -> str:
        items = [b.message(locale) for b in self.breaches]
        if (locale or "").startswith("en"):
            return ("The grade distribution breaks the rule set's policy: " + "; ".join(items)
                    + ". Calibrate first, or publish with an override reason.")
        return ("等级分布不符合规则集的强制分布要求：" + "；".join(items)
                + "。请先校准，或填写例外说明后公示。")


def _breaches_for_cycle(session, cycle: Cycle) -> list:
    return distribution.breaches_for_cycle(session, cycle)


def _allocate_cycle(session, cycle: Cycle) -> dict:
    return incentives.allocate_cycle(session, cycle)


def _is_hr(caller: Caller) -> bool:
    return bool(caller.actor.roles & {p.HR, p.ADMIN})


def _current(cycle_id: int):
    return (Appraisal.cycle_id == cycle_id) & Appraisal.is_current.is_(True)


def publish(session, cycle_id, caller: Caller, override_reason: str | None = None) -> Cycle:
    """Publish the cycle's results as ``caller`` (HR); see the module's description. Raises NotPublisher
    (403), NotFound, Conflict (published already, nothing to publish, or published meanwhile),
    PolicyBreached (409) and CommentTooLong (422, the reason). One transaction."""
    try:
        if not _is_hr(caller):
            raise NotPublisher()
        try:
            ident = int(cycle_id)
        except (TypeError, ValueError):
            raise NotFound() from None
        cycle = session.get(Cycle, ident) if 0 < ident < 2**31 else None
        if cycle is None:
            raise NotFound()
        reason = (override_reason or "").strip() or None
        check_comment(reason)
        if cycle.published_at is not None:
            raise Conflict(_l("This cycle's results are published already."), code="ALREADY_PUBLISHED")
        count = session.scalar(select(func.count()).select_from(Appraisal).where(_current(cycle.id))) or 0
        if not count:
            raise Conflict(_l("This cycle has no appraisals to publish: compute it first."),
                           code="NOTHING_TO_PUBLISH")
        at = now()
        stamped = session.execute(
            update(Cycle).where(Cycle.id == cycle.id, Cycle.published_at.is_(None))
            .values(published_at=at, published_by=caller.actor.name or SYSTEM, publish_override_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        if stamped != 1:
            raise Conflict(_l("This cycle's results are published already."), code="ALREADY_PUBLISHED")
        breaches = _breaches_for_cycle(session, cycle)
        if breaches and reason is None:
            raise PolicyBreached(breaches, caller.locale)
        allocation = _allocate_cycle(session, cycle) or {}
        rows = session.execute(
            select(Appraisal.id, Appraisal.state, Appraisal.snapshot_hash).where(_current(cycle.id))
            .order_by(Appraisal.id)
        ).all()
        changed = allocation.get("changed") or {}
        session.execute(insert(AuditEvent), [
            event_row(aid, caller.actor, PUBLISH, state.value, state.value, reason,
                      changed.get(aid, digest), at, visibility=INTERNAL)
            for aid, state, digest in rows
        ])
        session.execute(
            update(Cycle).where(Cycle.id == cycle.id).values(publication={
                "breaches": [{**b.to_dict("en"), "message_zh": b.message("zh_CN"),
                              "message_en": b.message("en")} for b in breaches],
                "pools": allocation.get("pools") or {},
                "appraisals": len(rows),
                "visible": sum(state in VISIBLE_TO_SUBJECT for _, state, _ in rows),
            }).execution_options(synchronize_session=False)
        )
        emit(session, Event(PUBLISHED, key=f"publish:{cycle.id}", cycle_id=cycle.id, action=PUBLISH,
                            actor_user_id=caller.actor.user_id))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(cycle)
    return cycle


@dataclass
class Preview:
    """What publishing a cycle would do now, for the confirmation on the cycle page."""

    people: int        # employees with a current appraisal in the cycle
    visible_now: int   # those of them who would see their result at once (approved, signed, disputed)
    breaches: list     # the policy's breaches (app.rules.policy.Breach)
    dispute_days: int


def preview(session, cycle: Cycle, counts: CycleCounts | None = None) -> Preview:
    """Who would see what if ``cycle`` were published now, and the policy's breaches; from ``counts``
    (``cycles.cycle_counts`` of the whole cycle) when the caller has them."""
    if counts is not None and counts.everything:
        rows = [(State(state), n) for state, n in counts.states.items()]
        grades = counts.grades
    else:
        rows = session.execute(
            select(Appraisal.state, func.count()).where(_current(cycle.id)).group_by(Appraisal.state)
        ).all()
        grades = None
    table = workflows.workflow_table(session, cycle.rule_set_version_id)
    return Preview(people=sum(n for _, n in rows),
                   visible_now=sum(n for state, n in rows if state in VISIBLE_TO_SUBJECT),
                   breaches=distribution.breaches_for_cycle(session, cycle, grades) if rows else [],
                   dispute_days=table.dispute_days)


def window_end(session, cycle: Cycle) -> dt.datetime | None:
    """When the dispute window of a published cycle closes (None before publication)."""
    if cycle.published_at is None:
        return None
    return window_closes(workflows.workflow_table(session, cycle.rule_set_version_id), cycle.published_at)
