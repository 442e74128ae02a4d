"""The workflow table: states, actions and transitions read from a dict (a parsed workflow.toml).

A transition is a row ``(from, action, to, who, guard, comment_required, comment_visibility)`` as in
Frappe's workflow; ``who`` lists the actors allowed, each a role and a relation to the appraised employee.
A row may lead back to its own state (``calibrate``: approved → approved): a step that changes the result
or records something without moving the appraisal on.
"""

from __future__ import annotations

import enum
import functools
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .guards import Guard, compile_guard


class State(enum.StrEnum):
    """The states an appraisal can be in; a table uses these and no others."""

    draft = "draft"
    pending_review = "pending_review"
    pending_second_review = "pending_second_review"
    approved = "approved"
    signed = "signed"
    disputed = "disputed"


# While an appraisal is in one of these, it is being decided on: its subject may not act.
REVIEW_STATES = frozenset({State.draft, State.pending_review, State.pending_second_review, State.disputed})
# A recompute may change appraisals in these states only; the others are locked.
RECOMPUTABLE_STATES = frozenset({State.draft, State.pending_review})
# The approval levels: leaving one of these forwards (see APPROVAL_ORDER) is an approval step. A round of
# approval starts each time the appraisal enters pending_review (submitted, returned, resolved, amended).
APPROVAL_STATES = frozenset({State.pending_review, State.pending_second_review})
APPROVAL_ORDER = {State.draft: 0, State.pending_review: 1, State.pending_second_review: 2, State.approved: 3,
                  State.signed: 4}

# Relations between the actor and the appraised employee.
SUPERVISOR = "supervisor"        # the employee's direct supervisor
STATION_MANAGER = "station_manager"  # the manager of the employee's station
SELF = "self"                    # the appraised employee
HR = "hr"                        # no tie needed: HR acts for the whole company
RELATIONS = (SUPERVISOR, STATION_MANAGER, SELF, HR)

# Who reads a step's comment: the appraised employee too (shared), or only reviewers and HR (internal).
SHARED, INTERNAL = "shared", "internal"
VISIBILITIES = (SHARED, INTERNAL)
# HR's calibration of an approved result: a row of the table (who may, comment required), taken through
# the calibration service, which writes a new version, never through a plain transition.
CALIBRATE = "calibrate"
# After publication the appraised employee has this many days for the window's actions (dispute).
DEFAULT_DISPUTE_DAYS = 7
DEFAULT_WINDOW_ACTIONS = ("dispute",)


def default_visibility(source: str, action: str) -> str:
    """Who reads a row's comment when the table does not say: a return and any step out of the second
    review are internal (reviewers talking to reviewers); approve, dispute, resolve, uphold and the
    rest are shared."""
    return INTERNAL if action == "return" or source == State.pending_second_review else SHARED


class WorkflowTableError(Exception):
    """The table is unusable; ``problems`` lists every reason as (where, message_zh, message_en)."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {en}" for where, _zh, en in problems))

    def messages(self, locale: str | None = "zh_CN") -> list[str]:
        english = (locale or "").startswith("en")
        return [f"{where}: {en if english else zh}" for where, zh, en in self.problems]


@dataclass(frozen=True)
class Who:
    """One kind of actor allowed: holds ``role`` (if given) and stands in ``relation`` to the employee."""

    role: str | None
    relation: str

    def describe(self, table: WorkflowTable, locale: str | None) -> str:
        return table.relation_label(self.relation, locale)


# An employee without a supervisor (or recorded as their own) is not stuck: wherever the table names the
# supervisor, the first of these who exists and is not the employee acts instead (the station's manager,
# else HR), holding the product's role for that relation.
SUPERVISOR_STAND_INS = (Who("StationManager", STATION_MANAGER), Who("HR", HR))


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    who: tuple[Who, ...]
    guard: Guard | None = None
    comment_required: bool = False
    comment_visibility: str = SHARED  # the default for its comment; the writer may choose
    # 会签: the roles (seats) that must each approve, each a different person, before the row moves on
    countersign: tuple[str, ...] = ()

    @property
    def is_loop(self) -> bool:
        """Leads back to its own state: it changes or records something, it does not move the appraisal on."""
        return self.source == self.target


@dataclass(frozen=True)
class Permission:
    """Who may do something that is not a state change (review edits) or creates a version (amend)."""

    states: frozenset[str]
    who: tuple[Who, ...]
    target: str | None = None
    comment_required: bool = True


@dataclass(frozen=True)
class WorkflowTable:
    states: tuple[str, ...]
    initial: str
    transitions: tuple[Transition, ...]
    review: Permission
    amend: Permission
    max_adjustment: float = 10.0
    max_edits: int = 20  # review edits per approval step; then the step must be decided
    labels: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # state/action/relation → (zh, en)
    final_states: frozenset[str] = frozenset()
    dispute_days: int = DEFAULT_DISPUTE_DAYS  # the window after publication for ``window_actions``
    window_actions: frozenset[str] = frozenset(DEFAULT_WINDOW_ACTIONS)

    @functools.cached_property
    def actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.action for t in self.transitions))

    @functools.cached_property
    def _by_source(self) -> dict[str, tuple[Transition, ...]]:
        """The transitions out of each state, in table order (made once: a table never changes)."""
        out: dict[str, list[Transition]] = {}
        for t in self.transitions:
            out.setdefault(t.source, []).append(t)
        return {source: tuple(rows) for source, rows in out.items()}

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        return self._by_source.get(state, ())

    def _label(self, key: str, name: str, locale: str | None) -> str:
        zh, en = self.labels.get(f"{key}:{name}", (name, name))
        return en if (locale or "").startswith("en") else zh

    def state_label(self, state: str, locale: str | None = "zh_CN") -> str:
        return self._label("state", state, locale)

    def action_label(self, action: str, locale: str | None = "zh_CN") -> str:
        return self._label("action", action, locale)

    def relation_label(self, relation: str, locale: str | None = "zh_CN") -> str:
        return self._label("relation", relation, locale)


_TOP_KEYS = {"initial", "states", "actions", "relations", "transitions", "review", "amend", "publication"}
_TRANSITION_KEYS = {"from", "action", "to", "who", "guard", "comment_required", "comment_visibility",
                    "countersign"}
_DEFAULT_RELATION_LABELS = {
    SUPERVISOR: ("该员工的主管", "the employee's supervisor"),
    STATION_MANAGER: ("服务站站长", "the station's manager"),
    SELF: ("被考核员工本人", "the appraised employee"),
    HR: ("人力资源", "HR"),
}


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    def add(self, where: str, zh: str, en: str) -> None:
        self.items.append((where, zh, en))


def _labels(data: Mapping, key: str, problems: _Problems) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    section = data.get(key, {})
    if not isinstance(section, Mapping):
        problems.add(key, "应为一个表", "must be a table")
        return out
    for name, value in section.items():
        if isinstance(value, Mapping) and all(isinstance(value.get(k), str) for k in ("zh", "en")):
            out[str(name)] = (value["zh"], value["en"])
        else:
            problems.add(f"{key}.{name}", "需要 zh 与 en 两个名称", "needs a zh and an en name")
    return out


def _who(value: Any, where: str, roles: Collection[str] | None, problems: _Problems) -> tuple[Who, ...]:
    if not isinstance(value, list) or not value:
        problems.add(where, "who 应为非空列表", "who must be a non-empty list")
        return ()
    out = []
    for i, entry in enumerate(value):
        here = f"{where}[{i}]"
        if isinstance(entry, str):
            entry = {"relation": entry}
        if not isinstance(entry, Mapping) or set(entry) - {"role", "relation"}:
            problems.add(here, "应为 {role, relation}", "must be {role, relation}")
            continue
        relation, role = entry.get("relation"), entry.get("role")
        if relation not in RELATIONS:
            problems.add(here, f"未知的关系“{relation}”，可用：{'、'.join(RELATIONS)}",
                         f"unknown relation “{relation}”; use one of {', '.join(RELATIONS)}")
            continue
        if role is not None and (not isinstance(role, str) or (roles is not None and role not in roles)):
            problems.add(here, f"未知的角色“{role}”", f"unknown role “{role}”")
            continue
        out.append(Who(role=role, relation=relation))
    return tuple(out)


def _state(value: Any, where: str, states: Collection[str], problems: _Problems) -> str:
    if value not in states:
        problems.add(where, f"未知的状态“{value}”", f"unknown state “{value}”")
        return ""
    return value


def _permission(data: Mapping, key: str, states, roles, problems: _Problems, *, target: bool) -> Permission:
    section = data.get(key)
    if not isinstance(section, Mapping):
        problems.add(key, f"缺少 [{key}] 表", f"the [{key}] table is missing")
        return Permission(frozenset(), ())
    allowed = {"states", "who", "comment_required"} | ({"to"} if target else {"max_adjustment", "max_edits"})
    for extra in set(section) - allowed:
        problems.add(f"{key}.{extra}", f"未知的键“{extra}”", f"unknown key “{extra}”")
    raw_states = section.get("states")
    if not isinstance(raw_states, list) or not raw_states:
        problems.add(f"{key}.states", "应为非空列表", "must be a non-empty list")
        raw_states = []
    return Permission(
        states=frozenset(_state(s, f"{key}.states", states, problems) for s in raw_states) - {""},
        who=_who(section.get("who"), f"{key}.who", roles, problems),
        target=_state(section.get("to"), f"{key}.to", states, problems) if target else None,
        comment_required=bool(section.get("comment_required", True)),
    )


def parse_table(text: str, *, roles: Collection[str] | None = None) -> WorkflowTable:
    """:func:`load_table` of a workflow.toml text; bad TOML is a WorkflowTableError too (for
    ``rules check`` and for whoever stores the text)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = ("workflow.toml", f"TOML 格式错误：{exc}", f"not valid TOML: {exc}")
        raise WorkflowTableError([problem]) from exc
    return load_table(data, roles=roles)


def load_table(data: Mapping, *, roles: Collection[str] | None = None) -> WorkflowTable:
    """Build a :class:`WorkflowTable` from a parsed TOML dict; ``roles`` (if given) are the known role
    names. Raises :class:`WorkflowTableError` listing every problem; a broken table is never half used."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise WorkflowTableError([("", "应为一个表", "must be a table")])
    for extra in set(data) - _TOP_KEYS:
        problems.add(str(extra), f"未知的键“{extra}”", f"unknown key “{extra}”")

    state_labels = _labels(data, "states", problems)
    known = {s.value for s in State}
    for name in state_labels:
        if name not in known:
            problems.add(f"states.{name}", f"“{name}”不是系统支持的状态（可用：{'、'.join(known)}）",
                         f"“{name}” is not a state the product supports ({', '.join(sorted(known))})")
    states = tuple(s for s in state_labels if s in known)
    final = frozenset(
        name for name, value in data.get("states", {}).items()
        if isinstance(value, Mapping) and value.get("final") and name in known
    ) if isinstance(data.get("states"), Mapping) else frozenset()
    action_labels = _labels(data, "actions", problems)
    relation_labels = {f"relation:{k}": v for k, v in _DEFAULT_RELATION_LABELS.items()}
    relation_labels.update({f"relation:{k}": v for k, v in _labels(data, "relations", problems).items()})

    initial = _state(data.get("initial"), "initial", states, problems)

    transitions: list[Transition] = []
    rows = data.get("transitions")
    if not isinstance(rows, list) or not rows:
        problems.add("transitions", "至少需要一条流转", "at least one transition is needed")
        rows = []
    for i, row in enumerate(rows):
        where = f"transitions[{i}]"
        if not isinstance(row, Mapping):
            problems.add(where, "应为一个表", "must be a table")
            continue
        for extra in set(row) - _TRANSITION_KEYS:
            problems.add(f"{where}.{extra}", f"未知的键“{extra}”", f"unknown key “{extra}”")
        source = _state(row.get("from"), f"{where}.from", states, problems)
        target = _state(row.get("to"), f"{where}.to", states, problems)
        action = row.get("action")
        if not isinstance(action, str) or not action.isidentifier():
            problems.add(f"{where}.action", "动作名应为字母、数字和下划线", "the action must be a plain name")
            action = ""
        elif action not in action_labels:
            problems.add(f"{where}.action", f"动作“{action}”没有在 [actions] 中命名",
                         f"the action “{action}” is not named in [actions]")
        if source and source in final:
            problems.add(f"{where}.from", f"“{source}”是终态，不能再流转",
                         f"“{source}” is final and cannot be left")
        who = _who(row.get("who"), f"{where}.who", roles, problems)
        guard = None
        if row.get("guard") not in (None, ""):
            text = row["guard"]
            if not isinstance(text, str):
                problems.add(f"{where}.guard", "条件应为公式文本", "the guard must be formula text")
            else:
                guard, error = compile_guard(text)
                if error:
                    problems.add(f"{where}.guard", *error)
        visibility = row.get("comment_visibility", default_visibility(source, action))
        if visibility not in VISIBILITIES:
            problems.add(f"{where}.comment_visibility",
                         "应为 shared（员工可见）或 internal（仅审核人与人力资源）",
                         "must be shared (the employee reads it) or internal (reviewers and HR only)")
            visibility = SHARED
        seats = _countersign(row.get("countersign"), f"{where}.countersign", source, target, who, problems)
        transitions.append(Transition(
            source=source, action=action, target=target, who=who, guard=guard,
            comment_required=bool(row.get("comment_required", False)), comment_visibility=visibility,
            countersign=seats,
        ))

    review = _permission(data, "review", states, roles, problems, target=False)
    amend = _permission(data, "amend", states, roles, problems, target=True)
    max_adjustment = data.get("review", {}).get("max_adjustment", 10) if isinstance(
        data.get("review"), Mapping) else 10
    if isinstance(max_adjustment, bool) or not isinstance(max_adjustment, int | float) or not (
            0 <= max_adjustment <= 100):
        problems.add("review.max_adjustment", "应为 0 到 100 之间的数", "must be a number from 0 to 100")
        max_adjustment = 10
    max_edits = data["review"].get("max_edits", 20) if isinstance(data.get("review"), Mapping) else 20
    if isinstance(max_edits, bool) or not isinstance(max_edits, int) or not 1 <= max_edits <= 100:
        problems.add("review.max_edits", "应为 1 到 100 之间的整数", "must be a whole number from 1 to 100")
        max_edits = 20
    dispute_days, window_actions = _publication(data, {t.action for t in transitions}, problems)
    if problems.items:
        raise WorkflowTableError(problems.items)
    return WorkflowTable(
        states=states, initial=initial, transitions=tuple(transitions), review=review, amend=amend,
        max_adjustment=float(max_adjustment), max_edits=max_edits,
        labels={**{f"state:{k}": v for k, v in state_labels.items()},
                **{f"action:{k}": v for k, v in action_labels.items()}, **relation_labels},
        final_states=final, dispute_days=dispute_days, window_actions=window_actions,
    )


def _countersign(value: Any, where: str, source: str, target: str, who: tuple[Who, ...],
                 problems: _Problems) -> tuple[str, ...]:
    """A row's ``countersign``: two or more distinct roles, each the role of one of the row's ``who``, on
    a row that leaves an approval state forwards (never a return or a row back to its own state)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(where, "会签应为角色名的列表", "countersign must be a list of role names")
        return ()
    if len(set(value)) < 2 or len(set(value)) != len(value):
        problems.add(where, "会签至少需要两个不同的角色，每个角色只列一次",
                     "countersign needs at least two different roles, each listed once")
        return ()
    roles = {w.role for w in who}
    for seat in value:
        if seat not in roles:
            problems.add(where, f"会签的角色“{seat}”不在这一行的 who 中",
                         f"the countersign role “{seat}” is not the role of any of this row's who")
            return ()
    forwards = (source in APPROVAL_STATES and target in APPROVAL_ORDER
                and APPROVAL_ORDER[target] > APPROVAL_ORDER[source])
    if not forwards:
        problems.add(where, "只有离开审批状态向前的一行（批准）可以要求会签，退回或回到原状态的一行不行",
                     "only a row leaving an approval state forwards (an approval) may need a countersign, "
                     "never a return or a row back to its own state")
        return ()
    return tuple(value)


def _publication(data: Mapping, actions: Collection[str], problems: _Problems) -> tuple[int, frozenset[str]]:
    """``[publication]``: the days after publication during which ``window_actions`` are open."""
    section = data.get("publication", {})
    if not isinstance(section, Mapping):
        problems.add("publication", "应为一个表", "must be a table")
        return DEFAULT_DISPUTE_DAYS, frozenset(DEFAULT_WINDOW_ACTIONS)
    for extra in set(section) - {"dispute_days", "window_actions"}:
        problems.add(f"publication.{extra}", f"未知的键“{extra}”", f"unknown key “{extra}”")
    days = section.get("dispute_days", DEFAULT_DISPUTE_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
        problems.add("publication.dispute_days", "应为 0 到 365 之间的整数",
                     "must be a whole number from 0 to 365")
        days = DEFAULT_DISPUTE_DAYS
    names = section.get("window_actions", list(DEFAULT_WINDOW_ACTIONS))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.add("publication.window_actions", "应为动作名的列表", "must be a list of action names")
        names = []
    elif "window_actions" in section:
        for name in names:
            if name not in actions:
                problems.add("publication.window_actions", f"没有“{name}”这个流转动作",
                             f"no transition has the action “{name}”")
    return days, frozenset(names)
