"""May this actor do this to this appraisal now? Plain facts in, a target state or a reason out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .table import (
    HR,
    REVIEW_STATES,
    SELF,
    STATION_MANAGER,
    SUPERVISOR,
    Permission,
    Transition,
    Who,
    WorkflowTable,
)


@dataclass(frozen=True)
class Actor:
    """The person acting: their roles (Admin already counted as HR by the caller) and employee id."""

    user_id: int | None
    roles: frozenset[str]
    employee_id: int | None = None
    name: str = ""


@dataclass(frozen=True)
class Facts:
    """What the workflow may know about one appraisal."""

    state: str
    employee_id: int
    supervisor_id: int | None = None
    station_manager_id: int | None = None
    values: Mapping[str, float | str | None] = field(default_factory=dict)  # the guard variables


class Refusal(Exception):
    """Why not, in Chinese and English; ``code`` is stable for programs."""

    def __init__(self, code: str, reason_zh: str, reason_en: str) -> None:
        super().__init__(f"{code}: {reason_en}")
        self.code, self.reason_zh, self.reason_en = code, reason_zh, reason_en

    def reason(self, locale: str | None = "zh_CN") -> str:
        return self.reason_en if (locale or "").startswith("en") else self.reason_zh


class TransitionRefused(Refusal):
    """The actor may not do this now (HTTP 403)."""


class CommentRequired(Refusal):
    """Allowed, but only with a comment (HTTP 422)."""


def relations(facts: Facts, actor: Actor) -> frozenset[str]:
    """The relations in which ``actor`` stands to the appraised employee."""
    found = set()
    me = actor.employee_id
    if me is not None:
        if me == facts.employee_id:
            found.add(SELF)
        if facts.supervisor_id is not None and me == facts.supervisor_id:
            found.add(SUPERVISOR)
        if facts.station_manager_id is not None and me == facts.station_manager_id:
            found.add(STATION_MANAGER)
    found.add(HR)  # the HR relation asks for no tie; its role does the work
    return frozenset(found)


def _matches(who: Who, related: frozenset[str], actor: Actor) -> bool:
    return who.relation in related and (who.role is None or who.role in actor.roles)


def _permitted(whos: tuple[Who, ...], facts: Facts, actor: Actor) -> bool:
    related = relations(facts, actor)
    return any(_matches(w, related, actor) for w in whos)


def _is_subject(facts: Facts, actor: Actor) -> bool:
    return actor.employee_id is not None and actor.employee_id == facts.employee_id


def _who_text(table: WorkflowTable, whos: tuple[Who, ...]) -> tuple[str, str]:
    return ("、".join(dict.fromkeys(table.relation_label(w.relation, "zh_CN") for w in whos)),
            ", ".join(dict.fromkeys(table.relation_label(w.relation, "en") for w in whos)))


def _self_refusal(table: WorkflowTable, what_zh: str, what_en: str) -> TransitionRefused:
    return TransitionRefused(
        "SELF_APPROVAL",
        f"不能{what_zh}自己的考核：本人只能在结果批准后签字或提出异议。",
        f"You cannot {what_en} your own appraisal: you may only sign or dispute it once it is approved.",
    )


def _find(table: WorkflowTable, facts: Facts, actor: Actor, action: str) -> Transition:
    if action not in table.actions:
        raise TransitionRefused("UNKNOWN_ACTION", f"没有“{action}”这个操作。", f"There is no action “{action}”.")
    label_zh, label_en = table.action_label(action, "zh_CN"), table.action_label(action, "en")
    candidates = [t for t in table.transitions_from(facts.state) if t.action == action]
    if not candidates:
        raise TransitionRefused(
            "NOT_IN_STATE",
            f"考核处于“{table.state_label(facts.state, 'zh_CN')}”状态，不能{label_zh}。",
            f"The appraisal is {table.state_label(facts.state, 'en').lower()}; “{label_en}” is not possible now.",
        )
    if _is_subject(facts, actor) and facts.state in REVIEW_STATES:
        raise _self_refusal(table, label_zh, label_en.lower())
    permitted = [t for t in candidates if _permitted(t.who, facts, actor)]
    if not permitted:
        whos = tuple(w for t in candidates for w in t.who)
        zh, en = _who_text(table, whos)
        raise TransitionRefused("NOT_PERMITTED", f"只有{zh}可以{label_zh}。", f"Only {en} may do “{label_en}” here.")
    for t in permitted:
        if t.guard is None or t.guard.holds(facts.values):
            return t
    guards = " / ".join(t.guard.text for t in permitted if t.guard is not None)
    raise TransitionRefused("GUARD", f"条件不满足：{guards}", f"The condition does not hold: {guards}")


def decide(table: WorkflowTable, facts: Facts, actor: Actor, action: str, comment: str | None = None) -> str:
    """The state ``action`` leads to for this actor now; raises TransitionRefused or CommentRequired.

    The first row of the table (in table order) whose state, action, actor and guard match wins, so
    the guard picks between rows such as approve → approved and approve → pending_second_review.
    """
    t = _find(table, facts, actor, action)
    if t.comment_required and not (comment or "").strip():
        raise CommentRequired(
            "COMMENT_REQUIRED",
            f"“{table.action_label(action, 'zh_CN')}”需要填写意见。",
            f"“{table.action_label(action, 'en')}” needs a comment.",
        )
    return t.target


def allowed_actions(table: WorkflowTable, facts: Facts, actor: Actor) -> list[Transition]:
    """The transitions this actor may take now, one per action, in table order."""
    out = []
    for action in dict.fromkeys(t.action for t in table.transitions_from(facts.state)):
        try:
            out.append(_find(table, facts, actor, action))
        except TransitionRefused:
            continue
    return out


def _check_permission(table: WorkflowTable, permission: Permission, facts: Facts, actor: Actor,
                      what: tuple[str, str]) -> None:
    what_zh, what_en = what
    if _is_subject(facts, actor):
        raise _self_refusal(table, what_zh, what_en)
    if facts.state not in permission.states:
        raise TransitionRefused(
            "NOT_IN_STATE",
            f"考核处于“{table.state_label(facts.state, 'zh_CN')}”状态，不能{what_zh}。",
            f"The appraisal is {table.state_label(facts.state, 'en')}; it cannot be {what_en}ed now.",
        )
    if not _permitted(permission.who, facts, actor):
        zh, en = _who_text(table, permission.who)
        raise TransitionRefused("NOT_PERMITTED", f"只有{zh}可以{what_zh}。", f"Only {en} may {what_en} it.")


def check_review(table: WorkflowTable, facts: Facts, actor: Actor) -> None:
    """Raises TransitionRefused unless the actor may enter manual values and an adjustment now."""
    _check_permission(table, table.review, facts, actor, ("修改审核内容", "review"))


def check_amend(table: WorkflowTable, facts: Facts, actor: Actor, reason: str | None) -> str:
    """The state a new version starts in, if the actor may amend now; raises otherwise."""
    _check_permission(table, table.amend, facts, actor, ("修正", "amend"))
    if table.amend.comment_required and not (reason or "").strip():
        raise CommentRequired("COMMENT_REQUIRED", "修正考核需要填写原因。", "An amendment needs a reason.")
    return table.amend.target
