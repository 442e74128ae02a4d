"""May this actor do this to this appraisal now? Plain facts in, a target state or a reason out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .table import (
    APPROVAL_ORDER,
    APPROVAL_STATES,
    HR,
    REVIEW_STATES,
    SELF,
    SHARED,
    STATION_MANAGER,
    SUPERVISOR,
    SUPERVISOR_STAND_INS,
    VISIBILITIES,
    Permission,
    State,
    Transition,
    Who,
    WorkflowTable,
)

if TYPE_CHECKING:
    from .countersign import Countersign

# The longest comment or reason a step keeps (characters): the trail and the PDF print them.
MAX_COMMENT = 1000


@dataclass(frozen=True)
class Principal:
    """Somebody the actor stands in for (代理) today: their user, employee record, roles (Admin already
    counted as HR) and name."""

    user_id: int | None
    employee_id: int | None
    roles: frozenset[str]
    name: str = ""

    def as_actor(self) -> Actor:
        return Actor(self.user_id, self.roles, self.employee_id, self.name)


@dataclass(frozen=True)
class Actor:
    """The person acting: their roles (Admin already counted as HR by the caller) and employee id;
    ``acting_for``: the people whose items they may take today as a substitute, in their own name."""

    user_id: int | None
    roles: frozenset[str]
    employee_id: int | None = None
    name: str = ""
    acting_for: tuple[Principal, ...] = ()


@dataclass(frozen=True)
class Step:
    """One state change of an appraisal version, oldest first, as its audit trail records it."""

    source: str | None
    target: str
    user_id: int | None = None
    employee_id: int | None = None  # the acting user's employee record, if any
    principal_user_id: int | None = None  # whom they acted for as a substitute, if anybody
    principal_employee_id: int | None = None

    @property
    def is_approval(self) -> bool:
        """Leaving an approval level forwards (approve), not back (return)."""
        return (self.source in APPROVAL_STATES and self.target in APPROVAL_ORDER
                and APPROVAL_ORDER[self.target] > APPROVAL_ORDER[self.source])


def round_approvals(steps: Iterable[Step]) -> tuple[Step, ...]:
    """The approval steps of the current round: those since the appraisal last entered
    pending_review (submitted, returned from the second review, resolved after a dispute, amended)."""
    steps = tuple(steps)
    return tuple(steps[i] for i in round_approval_positions(steps))


def round_approval_positions(steps: Iterable[Step]) -> list[int]:
    """Where the approval steps of the current round (:func:`round_approvals`) stand in ``steps``."""
    current: list[int] = []
    for position, step in enumerate(steps):
        if step.target == State.pending_review and step.source != State.pending_review:
            current = []
        elif step.is_approval:
            current.append(position)
    return current


@dataclass(frozen=True)
class Facts:
    """What the workflow may know about one appraisal."""

    state: str
    employee_id: int
    supervisor_id: int | None = None
    station_manager_id: int | None = None
    values: Mapping[str, float | str | None] = field(default_factory=dict)  # the guard variables
    approvals: tuple[Step, ...] = ()  # the approval steps of the current round (round_approvals)
    edits: int = 0  # review edits since the appraisal entered its current state
    # Publication (结果公示): whether the appraisal's cycle is published, and whether the window after it
    # (``[publication] dispute_days``) is still open; see :func:`window_open`. The defaults describe a
    # published result within its window.
    published: bool = True
    window_open: bool = True
    # The seats of a countersign row (会签) filled since the appraisal entered its current state.
    countersigns: tuple[Countersign, ...] = ()


def window_closes(table: WorkflowTable, published_at: dt.datetime | None) -> dt.datetime | None:
    """When the window after publication closes (None before publication)."""
    return None if published_at is None else published_at + dt.timedelta(days=table.dispute_days)


def window_open(table: WorkflowTable, published_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether the window's actions are open at ``now``: always before publication (nobody can take
    them then: the appraised employee does not see the result), then for ``dispute_days`` days."""
    closes = window_closes(table, published_at)
    if closes is None:
        return True
    if closes.tzinfo is None:  # SQLite gives back naive UTC
        closes = closes.replace(tzinfo=dt.UTC)
    return now < closes


@dataclass(frozen=True)
class Party:
    """Somebody expected to act next: ``relation`` to the employee and, when one person holds it, their
    employee id; ``stands_in`` when they act for a missing supervisor."""

    relation: str
    employee_id: int | None = None
    stands_in: bool = False


class Refusal(Exception):
    """Why not, in Chinese and English; ``code`` is stable for programs. ``kind`` is the same word as
    a service error's kind (``app.services.errors.Kind``), named here without importing the services."""

    kind = "refused"

    def __init__(self, code: str, reason_zh: str, reason_en: str) -> None:
        super().__init__(f"{code}: {reason_en}")
        self.code, self.reason_zh, self.reason_en = code, reason_zh, reason_en

    def reason(self, locale: str | None = "zh_CN") -> str:
        return self.reason_en if (locale or "").startswith("en") else self.reason_zh


class TransitionRefused(Refusal):
    """The actor may not do this now (HTTP 403)."""

    kind = "refused"


class CommentRequired(Refusal):
    """Allowed, but only with a usable comment: one is missing or too long (HTTP 422)."""

    kind = "invalid"


class CommentTooLong(CommentRequired):
    """The comment or reason is longer than :data:`MAX_COMMENT`; nothing is stored (HTTP 422)."""


class BadVisibility(Refusal):
    """The comment's visibility is neither shared nor internal (HTTP 422)."""

    kind = "invalid"


class EditLimitReached(Refusal):
    """The approval step has had its review edits (``max_edits``): decide it now (HTTP 422)."""

    kind = "refused"


def _has_supervisor(facts: Facts) -> bool:
    return facts.supervisor_id is not None and facts.supervisor_id != facts.employee_id


def _has_manager(facts: Facts) -> bool:
    return facts.station_manager_id is not None and facts.station_manager_id != facts.employee_id


def supervisor_stand_in(facts: Facts) -> Who | None:
    """Who acts where the table names the supervisor, when the employee has none: the station's
    manager, else HR. None when the employee has a supervisor."""
    if _has_supervisor(facts):
        return None
    return SUPERVISOR_STAND_INS[0] if _has_manager(facts) else SUPERVISOR_STAND_INS[1]


def _effective(who: Who, facts: Facts) -> Who:
    if who.relation == SUPERVISOR:
        return supervisor_stand_in(facts) or who
    return who


def relations(facts: Facts, actor: Actor) -> frozenset[str]:
    """The relations in which ``actor`` stands to the appraised employee."""
    found = set()
    me = actor.employee_id
    if me is not None:
        if me == facts.employee_id:
            found.add(SELF)
        if _has_supervisor(facts) and me == facts.supervisor_id:
            found.add(SUPERVISOR)
        if facts.station_manager_id is not None and me == facts.station_manager_id:
            found.add(STATION_MANAGER)
    found.add(HR)  # the HR relation asks for no tie; its role does the work
    return frozenset(found)


def _matches(who: Who, related: frozenset[str], actor: Actor) -> bool:
    return who.relation in related and (who.role is None or who.role in actor.roles)


def _permitted(whos: tuple[Who, ...], facts: Facts, actor: Actor) -> bool:
    related = relations(facts, actor)
    return any(_matches(_effective(w, facts), related, actor) for w in whos)


def _is_subject(facts: Facts, actor: Actor) -> bool:
    return actor.employee_id is not None and actor.employee_id == facts.employee_id


def identities(actor: Actor, principal: Principal | None = None) -> tuple[set[int], set[int]]:
    """The user ids and employee ids a step uses: the acting person's and, when they act as a
    substitute, the principal's."""
    users = {i for i in (actor.user_id, principal and principal.user_id) if i is not None}
    employees = {i for i in (actor.employee_id, principal and principal.employee_id) if i is not None}
    return users, employees


def step_identities(step) -> tuple[set[int], set[int]]:
    """The user ids and employee ids of a recorded step (a Step or a Countersign): who took it and whom
    they took it for."""
    users = {i for i in (step.user_id, step.principal_user_id) if i is not None}
    employees = {i for i in (step.employee_id, step.principal_employee_id) if i is not None}
    return users, employees


def _approved_this_round(facts: Facts, actor: Actor, principal: Principal | None = None) -> bool:
    """Whether ``actor`` (or the principal they act for) took an approval step of the current round, as a
    user or as an employee, in their own name or for somebody."""
    users, employees = identities(actor, principal)
    for step in facts.approvals:
        step_users, step_employees = step_identities(step)
        if users & step_users or employees & step_employees:
            return True
    return False


def _who_text(table: WorkflowTable, whos: tuple[Who, ...], facts: Facts) -> tuple[str, str]:
    whos = tuple(_effective(w, facts) for w in whos)
    return ("、".join(dict.fromkeys(table.relation_label(w.relation, "zh_CN") for w in whos)),
            ", ".join(dict.fromkeys(table.relation_label(w.relation, "en") for w in whos)))


def _second_step_refusal(table: WorkflowTable, facts: Facts, whos: tuple[Who, ...]) -> TransitionRefused:
    zh, en = _who_text(table, whos, facts)
    return TransitionRefused(
        "SEPARATION_OF_DUTIES",
        f"您已审批过本轮的上一级：同一人不能审批同一考核的两级，这一步须由另一位{zh}完成。",
        f"You took an earlier approval step of this appraisal: nobody takes two approval steps of the same "
        f"appraisal, so this step is for another person ({en}).",
    )


def _self_refusal(table: WorkflowTable, what_zh: str, what_en: str) -> TransitionRefused:
    return TransitionRefused(
        "SELF_APPROVAL",
        f"不能{what_zh}自己的考核：本人只能在结果批准后签字或提出异议。",
        f"You cannot {what_en} your own appraisal: you may only sign or dispute it once it is approved.",
    )


def _check_window(table: WorkflowTable, facts: Facts, action: str, label: tuple[str, str]) -> None:
    label_zh, label_en = label
    if action in table.window_actions and facts.published and not facts.window_open:
        raise TransitionRefused(
            "WINDOW_CLOSED",
            f"结果公示后 {table.dispute_days} 天内可以{label_zh}，期限已过。",
            f"“{label_en}” was possible for {table.dispute_days} days after the results were published; "
            f"that time is over.",
        )


def _candidates(facts: Facts, actor: Actor) -> list[tuple[Actor, Principal | None]]:
    """Whom the actor may act as: themselves first, then each principal they stand in for today,
    except one who is the appraised employee (nobody acts for the subject on their own appraisal)."""
    out: list[tuple[Actor, Principal | None]] = [(actor, None)]
    for p in actor.acting_for:
        if p.employee_id is not None and p.employee_id == facts.employee_id:
            continue
        out.append((p.as_actor(), p))
    return out


def _choose(table: WorkflowTable, facts: Facts, actor: Actor, action: str, candidates: list[Transition],
            whos: tuple[Who, ...], label: tuple[str, str]) -> tuple[Transition, Principal | None]:
    """The row and the principal (None: in their own right) of the first identity that may take it."""
    from .countersign import seat_for  # late: the countersign rules build on this module

    label_zh, label_en = label
    refusal: TransitionRefused | None = None
    for acting, principal in _candidates(facts, actor):
        permitted = [t for t in candidates if _permitted(t.who, facts, acting)]
        if not permitted:
            continue
        _check_window(table, facts, action, label)
        if facts.state in APPROVAL_STATES and _approved_this_round(facts, actor, principal):
            refusal = refusal or _second_step_refusal(table, facts, whos)
            continue
        row = next((t for t in permitted if t.guard is None or t.guard.holds(facts.values)), None)
        if row is None:
            guards = " / ".join(t.guard.text for t in permitted if t.guard is not None)
            refusal = refusal or TransitionRefused("GUARD", f"条件不满足：{guards}",
                                                   f"The condition does not hold: {guards}")
            continue
        if row.countersign:
            try:
                seat_for(row, facts, actor, principal)
            except TransitionRefused as exc:
                refusal = refusal or exc
                continue
        return row, principal
    if refusal is not None:
        raise refusal
    zh, en = _who_text(table, whos, facts)
    raise TransitionRefused("NOT_PERMITTED", f"只有{zh}可以{label_zh}。",
                            f"Only {en} may do “{label_en}” here.")


def _find(table: WorkflowTable, facts: Facts, actor: Actor,
          action: str) -> tuple[Transition, Principal | None]:
    if action not in table.actions:
        raise TransitionRefused("UNKNOWN_ACTION", f"没有“{action}”这个操作。",
                                f"There is no action “{action}”.")
    label_zh, label_en = table.action_label(action, "zh_CN"), table.action_label(action, "en")
    candidates = [t for t in table.transitions_from(facts.state) if t.action == action]
    if not candidates:
        raise TransitionRefused(
            "NOT_IN_STATE",
            f"考核处于“{table.state_label(facts.state, 'zh_CN')}”状态，不能{label_zh}。",
            f"The appraisal is {table.state_label(facts.state, 'en').lower()}; "
            f"“{label_en}” is not possible now.",
        )
    subject = _is_subject(facts, actor)
    whos = tuple(w for t in candidates for w in t.who)
    if subject and (facts.state in REVIEW_STATES or not any(w.relation == SELF for w in whos)):
        raise _self_refusal(table, label_zh, label_en.lower())
    if not subject:  # anybody else acts in their own right or for a principal, first come first served
        return _choose(table, facts, actor, action, candidates, whos, (label_zh, label_en))
    # the appraised employee acts only where a row names them (sign, dispute), whatever roles, for nobody
    permitted = [t for t in candidates if any(_matches(w, frozenset({SELF}), actor) for w in t.who)]
    if not permitted:
        zh, en = _who_text(table, whos, facts)
        raise TransitionRefused("NOT_PERMITTED", f"只有{zh}可以{label_zh}。",
                                f"Only {en} may do “{label_en}” here.")
    if not facts.published:
        raise TransitionRefused("NOT_PUBLISHED", f"结果公示前不能{label_zh}。",
                                f"“{label_en}” is possible once the results are published.")
    _check_window(table, facts, action, (label_zh, label_en))
    for t in permitted:
        if t.guard is None or t.guard.holds(facts.values):
            return t, None
    guards = " / ".join(t.guard.text for t in permitted if t.guard is not None)
    raise TransitionRefused("GUARD", f"条件不满足：{guards}", f"The condition does not hold: {guards}")


def decide(table: WorkflowTable, facts: Facts, actor: Actor, action: str, comment: str | None = None) -> str:
    """The state ``action`` leads to for this actor now; raises TransitionRefused or CommentRequired.

    The first row of the table (in table order) whose state, action, actor and guard match wins, so
    the guard picks between rows such as approve → approved and approve → pending_second_review.
    """
    return decide_row(table, facts, actor, action, comment).target


def decide_row(table: WorkflowTable, facts: Facts, actor: Actor, action: str,
               comment: str | None = None) -> Transition:
    """:func:`decide`, giving the whole row that applies (its target, its comment's visibility)."""
    return decide_as(table, facts, actor, action, comment)[0]


def decide_as(table: WorkflowTable, facts: Facts, actor: Actor, action: str,
              comment: str | None = None) -> tuple[Transition, Principal | None]:
    """:func:`decide_row`, with the principal the actor takes it for as a substitute (None: in their own
    right, which is tried first). The step is theirs, recorded as taken for the principal."""
    t, principal = _find(table, facts, actor, action)
    if t.comment_required and not (comment or "").strip():
        raise CommentRequired(
            "COMMENT_REQUIRED",
            f"“{table.action_label(action, 'zh_CN')}”需要填写意见。",
            f"“{table.action_label(action, 'en')}” needs a comment.",
        )
    check_comment(comment)
    return t, principal


def comment_visibility(row: Transition | None, chosen: str | None = None) -> str:
    """The visibility of a step's comment: what the writer chose, else the row's default (shared for a
    step that is no row of the table). Raises BadVisibility for anything but shared or internal."""
    if chosen is None or chosen == "":
        return row.comment_visibility if row is not None else SHARED
    if chosen not in VISIBILITIES:
        raise BadVisibility(
            "BAD_VISIBILITY",
            f"意见的可见范围应为 shared（员工可见）或 internal（仅审核人与人力资源），"
            f"而不是“{str(chosen)[:32]}”。",
            f"A comment is shared (the employee reads it) or internal (reviewers and HR only), "
            f"not “{str(chosen)[:32]}”.",
        )
    return chosen


def check_comment(text: str | None) -> None:
    """Raises CommentTooLong when a comment or reason is longer than :data:`MAX_COMMENT` characters."""
    length = len((text or "").strip())
    if length > MAX_COMMENT:
        raise CommentTooLong(
            "COMMENT_TOO_LONG",
            f"意见过长：最多 {MAX_COMMENT} 个字，现有 {length} 个字。",
            f"The comment is too long: at most {MAX_COMMENT:,} characters, this one has {length:,}.",
        )


def allowed_actions(table: WorkflowTable, facts: Facts, actor: Actor) -> list[Transition]:
    """The transitions this actor may take now, one per action, in table order."""
    out = []
    for action in dict.fromkeys(t.action for t in table.transitions_from(facts.state)):
        try:
            out.append(_find(table, facts, actor, action)[0])
        except TransitionRefused:
            continue
    return out


def _check_permission(table: WorkflowTable, permission: Permission, facts: Facts, actor: Actor,
                      what: tuple[str, str], *, standing_in: bool = False) -> Principal | None:
    """Raises unless the actor may do ``what`` now: in their own right, or (``standing_in``) as one of the
    principals they stand in for today, tried in order (:func:`_candidates`). The principal it is done
    for (None: in their own right)."""
    what_zh, what_en = what
    if _is_subject(facts, actor):
        raise _self_refusal(table, what_zh, what_en)
    if facts.state not in permission.states:
        raise TransitionRefused(
            "NOT_IN_STATE",
            f"考核处于“{table.state_label(facts.state, 'zh_CN')}”状态，不能{what_zh}。",
            f"The appraisal is {table.state_label(facts.state, 'en')}; it cannot be {what_en}ed now.",
        )
    refusal: TransitionRefused | None = None
    for acting, principal in _candidates(facts, actor) if standing_in else [(actor, None)]:
        if not _permitted(permission.who, facts, acting):
            continue
        if facts.state in APPROVAL_STATES and _approved_this_round(facts, actor, principal):
            refusal = refusal or _second_step_refusal(table, facts, permission.who)
            continue
        return principal
    if refusal is not None:
        raise refusal
    zh, en = _who_text(table, permission.who, facts)
    raise TransitionRefused("NOT_PERMITTED", f"只有{zh}可以{what_zh}。", f"Only {en} may {what_en} it.")


def check_review(table: WorkflowTable, facts: Facts, actor: Actor) -> Principal | None:
    """Raises TransitionRefused unless the actor may enter manual values and an adjustment now, and
    EditLimitReached once this step has had ``max_edits`` review edits. A substitute edits where their
    principal could (in their own right first): the principal the edit is made for, None in their own
    right; never on their own appraisal, never for the principal on the principal's own."""
    principal = _check_permission(table, table.review, facts, actor, ("修改审核内容", "review"),
                                  standing_in=True)
    if facts.edits >= table.max_edits:
        raise EditLimitReached(
            "EDIT_LIMIT",
            f"这一步已修改审核内容 {facts.edits} 次，已达上限 {table.max_edits} 次：请批准或退回。",
            f"This step has had {facts.edits} review edits, the most allowed ({table.max_edits}): "
            f"approve or return it.",
        )
    return principal


def check_amend(table: WorkflowTable, facts: Facts, actor: Actor, reason: str | None) -> str:
    """The state a new version starts in, if the actor may amend now; raises otherwise."""
    _check_permission(table, table.amend, facts, actor, ("修正", "amend"))
    if table.amend.comment_required and not (reason or "").strip():
        raise CommentRequired("COMMENT_REQUIRED", "修正考核需要填写原因。", "An amendment needs a reason.")
    check_comment(reason)
    return table.amend.target
