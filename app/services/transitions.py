"""Moving appraisals through the workflow: transitions, review edits, bulk approval, the inbox.

Each call is one database transaction. The state changes with a conditional
``UPDATE appraisal SET state = :to WHERE id = :id AND state = :expected`` (django-fsm's way): when it
touches no row somebody else won, and the caller gets :class:`Conflict` (HTTP 409) with nothing changed.
Every transition writes exactly one audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from .. import ROOT
from .. import permissions as p
from ..models import Appraisal, AuditEvent, Cycle, Employee, Station
from ..scoping import Scope, scope_clause, scope_for
from ..workflow import (
    APPROVAL_STATES,
    Actor,
    CommentRequired,
    CommentTooLong,
    EditLimitReached,
    Facts,
    Party,
    Refusal,
    State,
    Step,
    Transition,
    TransitionRefused,
    WorkflowTable,
    acting_states,
    allowed_actions,
    check_comment,
    check_review,
    decide,
    parse_table,
    round_approvals,
    waiting_for,
)
from .snapshot import REVIEW, SYSTEM, CycleFacts, build_snapshot, snapshot_hash

DEFAULT_WORKFLOW = ROOT / "rules" / "workflow.toml"
WORKFLOW_FILE = "workflow.toml"


class NotFound(Exception):
    """Missing or outside the caller's scope (HTTP 404): the two are not told apart."""


class Conflict(Exception):
    """The appraisal changed under the caller (HTTP 409); nothing was changed."""


class ReviewInvalid(Exception):
    """Bad review input (HTTP 422); ``errors`` maps a field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- the table --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def table_from_text(text: str) -> WorkflowTable:
    """Parse and validate a workflow.toml text (cached: the same text gives the same table)."""
    return parse_table(text, roles=p.ROLES)


def default_table() -> WorkflowTable:
    return table_from_text(DEFAULT_WORKFLOW.read_text(encoding="utf-8"))


def workflow_table(session, rule_set_version_id: int | None) -> WorkflowTable:
    """The workflow of a rule-set version (its workflow.toml), else the default rules/workflow.toml."""
    if rule_set_version_id is not None:
        from .rules import ruleset_for_version

        text = ruleset_for_version(session, rule_set_version_id).extras.get(WORKFLOW_FILE)
        if text:
            return table_from_text(text)
    return default_table()


# --- who is acting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """The actor for the workflow and the row scope for the queries."""

    actor: Actor
    scope: Scope
    locale: str = "zh_CN"


SYSTEM_PERSON = Person(Actor(None, frozenset({p.HR}), None, SYSTEM), Scope(everything=True))


def person_for(session, user, locale: str = "zh_CN") -> Person:
    """The person of a FAB user: roles (Admin acts as HR), employee record, scope."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Person(Actor(None, frozenset()), Scope(), locale)
    roles = {role.name for role in user.roles}
    if p.ADMIN in roles:
        roles.add(p.HR)
    employee = session.scalar(select(Employee).where(Employee.user_id == user.id))
    name = employee.name if employee else (f"{user.first_name} {user.last_name}".strip() or user.username)
    actor = Actor(user.id, frozenset(roles), employee.id if employee else None, name)
    return Person(actor, scope_for(user), locale)


# --- loading one appraisal with its facts ------------------------------------------------------


def guard_values(row) -> dict:
    return {"total": row.total, "subtotal": row.subtotal, "adjustment": row.adjustment,
            "grade": row.grade, "version": row.version}


def _history_query(ids, before_id=None):
    """The events of these appraisal versions that the workflow reasons about (state changes and review
    edits), oldest first, with the acting user's employee record."""
    query = (
        select(AuditEvent.id, AuditEvent.appraisal_id, AuditEvent.action, AuditEvent.from_state,
               AuditEvent.to_state, AuditEvent.user_id, Employee.id.label("employee_id"))
        .outerjoin(Employee, Employee.user_id == AuditEvent.user_id)
        .where(AuditEvent.appraisal_id.in_(ids), AuditEvent.from_state.is_not(None),
               (AuditEvent.from_state != AuditEvent.to_state) | (AuditEvent.action == REVIEW))
        .order_by(AuditEvent.id)
    )
    return query if before_id is None else query.where(AuditEvent.id < before_id)


def round_facts(session, ids: Iterable[int], before_id: int | None = None) -> dict[int, tuple[tuple, int]]:
    """Per appraisal version: the approval steps of its current round and the review edits since it
    entered its current state (as of before the event ``before_id``, when given)."""
    ids = list(ids)
    out: dict[int, tuple[list[Step], int]] = {i: ([], 0) for i in ids}
    for start in range(0, len(ids), 500):
        for row in session.execute(_history_query(ids[start:start + 500], before_id)):
            changes, edits = out[row.appraisal_id]
            if row.from_state == row.to_state:
                out[row.appraisal_id] = (changes, edits + 1)
            else:
                changes.append(Step(row.from_state, row.to_state, row.user_id, row.employee_id))
                out[row.appraisal_id] = (changes, 0)
    return {i: (round_approvals(changes), edits) for i, (changes, edits) in out.items()}


def _facts(session, appraisal: Appraisal, supervisor_id, manager_id, before_id=None, state=None) -> Facts:
    approvals, edits = round_facts(session, [appraisal.id], before_id)[appraisal.id]
    return Facts(state=state or appraisal.state.value, employee_id=appraisal.employee_id,
                 supervisor_id=supervisor_id, station_manager_id=manager_id, values=guard_values(appraisal),
                 approvals=approvals, edits=edits)


def load(session, appraisal_id, person: Person) -> tuple[Appraisal, Facts]:
    """The appraisal (any version) with its workflow facts, or NotFound outside the person's scope."""
    try:
        ident = int(appraisal_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < ident < 2**31:
        raise NotFound()
    row = session.execute(
        select(Appraisal, Employee.supervisor_id, Station.manager_id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .where(Appraisal.id == ident, scope_clause(Appraisal, person.scope))
    ).first()
    if row is None:
        raise NotFound()
    appraisal, supervisor_id, manager_id = row
    return appraisal, _facts(session, appraisal, supervisor_id, manager_id)


def actions_for(session, appraisal_id, person: Person) -> tuple[Appraisal, WorkflowTable, list[Transition],
                                                                 list[dict]]:
    """What ``person`` may do to this appraisal now (nothing on a superseded version), and who may
    move it on (:func:`expected_next`)."""
    appraisal, facts = load(session, appraisal_id, person)
    table = workflow_table(session, appraisal.rule_set_version_id)
    allowed = allowed_actions(table, facts, person.actor) if appraisal.is_current else []
    return appraisal, table, allowed, expected_next(session, appraisal, facts, person)


# --- transitions ------------------------------------------------------------------------------

# target state → functions run inside the transition's transaction, after the state change and the
# audit event (e.g. entering ``signed`` stores the PDF, whatever the workflow table names the action).
# One raising rolls the whole transition back.
Effect = Callable[..., None]
_EFFECTS: dict[str, list[Effect]] = {}


def register_effect(state: str, effect: Effect) -> None:
    """Run ``effect(session, appraisal, event)`` inside every transition into ``state``."""
    _EFFECTS.setdefault(state, [])
    if effect not in _EFFECTS[state]:
        _EFFECTS[state].append(effect)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _was_possible_before(session, table, appraisal, facts, actor, action) -> bool:
    """Whether ``action`` was open to this actor before the latest state change, i.e. the state moved
    under them (409) rather than the action being wrong for them (403)."""
    last = session.scalar(
        select(AuditEvent).where(AuditEvent.appraisal_id == appraisal.id, AuditEvent.from_state.is_not(None),
                                 AuditEvent.from_state != AuditEvent.to_state)
        .order_by(AuditEvent.id.desc()).limit(1)
    )
    if last is None or last.to_state != facts.state:
        return False
    before = _facts(session, appraisal, facts.supervisor_id, facts.station_manager_id, before_id=last.id,
                    state=last.from_state)
    try:
        decide(table, before, actor, action, comment="-")
    except Refusal:
        return False
    return True


def _event(appraisal_id, actor: Actor, action, from_state, to_state, comment, digest, at=None) -> dict:
    return {"appraisal_id": appraisal_id, "user_id": actor.user_id, "who": actor.name or SYSTEM,
            "at": at or _now(), "action": action, "from_state": from_state, "to_state": to_state,
            "comment": (comment or "").strip() or None, "snapshot_hash": digest}


def transition(session, appraisal_id, person: Person, action: str, comment: str | None = None, *,
               expected_state: str | None = None) -> str:
    """Take ``action`` on the appraisal as ``person``; returns the new state.

    Raises NotFound (outside scope), TransitionRefused (may not), CommentRequired, Conflict (the
    state is not ``expected_state``, or changed meanwhile). One transaction, one audit event.
    """
    try:
        appraisal, facts = load(session, appraisal_id, person)
        if not appraisal.is_current or (expected_state and expected_state != facts.state):
            raise Conflict()
        table = workflow_table(session, appraisal.rule_set_version_id)
        try:
            target = decide(table, facts, person.actor, action, comment)
        except TransitionRefused as exc:
            if exc.code == "SEPARATION_OF_DUTIES":
                # An approval that left the very state read here committed between reading the row and
                # reading its trail: the state moved (409). Otherwise the caller's own earlier step is
                # the reason, and the refusal says so (403), even on a repeated click.
                if any(step.source == facts.state for step in facts.approvals):
                    raise Conflict() from exc
                raise
            if expected_state is None and _was_possible_before(
                    session, table, appraisal, facts, person.actor, action):
                raise Conflict() from exc
            raise
        now = _now()
        changed = session.execute(
            update(Appraisal)
            .where(Appraisal.id == appraisal.id, Appraisal.state == facts.state, Appraisal.is_current.is_(True),
                   Appraisal.snapshot_hash == appraisal.snapshot_hash)
            .values(state=target, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise Conflict()
        event = _event(appraisal.id, person.actor, action, facts.state, target, comment,
                       appraisal.snapshot_hash, now)
        event_id = session.execute(insert(AuditEvent).returning(AuditEvent.id), [event]).scalar_one()
        for effect in _EFFECTS.get(target, ()):
            session.expire(appraisal)
            effect(session, appraisal, session.get(AuditEvent, event_id))
        session.commit()
        return target
    except BaseException:
        session.rollback()
        raise


@dataclass
class BulkOutcome:
    id: int | str
    status: int  # the HTTP status the single call would have answered
    state: str | None = None
    refusal: Refusal | None = None

    def reason(self, locale: str | None) -> str | None:
        """Why it was not done, in the user's language; None when it was."""
        from flask_babel import gettext as _

        if self.refusal is not None:
            return self.refusal.reason(locale)
        return {404: _("Not found."),
                409: _("Somebody changed this in the meantime; reload and try again.")}.get(self.status)


def bulk_transition(session, ids: Iterable, person: Person, action: str = "approve",
                    comment: str | None = None) -> list[BulkOutcome]:
    """The same transition on many appraisals, each through every check in its own transaction."""
    out = []
    for ident in ids:
        try:
            out.append(BulkOutcome(ident, 200, transition(session, ident, person, action, comment)))
        except NotFound:
            out.append(BulkOutcome(ident, 404))
        except Conflict:
            out.append(BulkOutcome(ident, 409))
        except CommentRequired as exc:
            out.append(BulkOutcome(ident, 422, refusal=exc))
        except TransitionRefused as exc:
            out.append(BulkOutcome(ident, 403, refusal=exc))
    return out


# --- review edits -----------------------------------------------------------------------------


def _finite(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e9:
        raise ValueError(value)
    return number


def recompute_snapshot(session, appraisal: Appraisal, manual: Mapping, adjustment: float,
                       reason: str | None) -> dict:
    """The appraisal's stored snapshot recomputed from its own inputs with new manual values and
    adjustment (no metrics query: the inputs are in the snapshot)."""
    from app.rules.appraise import EmployeeFacts

    from .rules import ruleset_for_version

    old = appraisal.snapshot
    ruleset = ruleset_for_version(session, appraisal.rule_set_version_id)
    employee = EmployeeFacts(old["employee"]["no"], old["employee"]["name"], old["employee"]["position"],
                             old["station"]["code"], old["station"]["name"], old["station"]["segment"])
    inputs = old["inputs"]
    result = ruleset.appraise(employee, inputs["variables"], inputs["tags"], manual, adjustment,
                              year=dt.date.fromisoformat(old["cycle"]["start"]).year,
                              locale=_snapshot_locale())
    cycle = CycleFacts(old["cycle"]["name"], dt.date.fromisoformat(old["cycle"]["start"]),
                       dt.date.fromisoformat(old["cycle"]["end"]))
    return build_snapshot(cycle=cycle, rule_version=old["rule_version"], employee=employee,
                          station=old["station"], result=result, inputs=inputs, adjustment_reason=reason,
                          company=old.get("company"))


def _snapshot_locale() -> str:
    from flask import current_app, has_app_context

    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN") if has_app_context() else "zh_CN"


def review(session, appraisal_id, person: Person, *, manual: Mapping | None = None,
           adjustment=None, reason: str | None = None, expected_hash: str | None = None) -> Appraisal:
    """The supervisor's review edit: manual indicator values and an adjustment (±max, with a reason);
    the total recomputes at once. One transaction, one audit event (``review``)."""
    from flask_babel import gettext as _

    try:
        appraisal, facts = load(session, appraisal_id, person)
        if not appraisal.is_current or (expected_hash and expected_hash != appraisal.snapshot_hash):
            raise Conflict()
        table = workflow_table(session, appraisal.rule_set_version_id)
        try:
            check_review(table, facts, person.actor)
        except EditLimitReached as exc:
            raise ReviewInvalid({"review": exc.reason(person.locale)}) from exc

        errors: dict[str, str] = {}
        manual_codes = {line["code"] for line in appraisal.snapshot.get("lines", []) if line.get("manual")}
        values = dict(appraisal.manual or {})
        for code, raw in (manual or {}).items():
            if code not in manual_codes:
                errors[f"manual.{code}"] = _("This indicator is not entered by hand.")
                continue
            try:
                values[code] = _finite(raw)
            except (TypeError, ValueError):
                errors[f"manual.{code}"] = _("Enter a number.")
        new_adjustment = appraisal.adjustment
        if adjustment is not None and adjustment != "":
            try:
                new_adjustment = _finite(adjustment) or 0.0
            except (TypeError, ValueError):
                errors["adjustment"] = _("Enter a number.")
            else:
                limit = table.max_adjustment
                if abs(new_adjustment) > limit:
                    errors["adjustment"] = _("The adjustment must be between -%(limit)s and +%(limit)s points.",
                                             limit=format(limit, "g"))
        reason = (reason or "").strip()
        adjustment_changed = new_adjustment != appraisal.adjustment
        if new_adjustment and not reason and (adjustment_changed or not appraisal.adjustment_reason):
            errors["reason"] = _("An adjustment needs a reason.")
        try:
            check_comment(reason)
        except CommentTooLong as exc:
            errors["reason"] = exc.reason(person.locale)
        if errors:
            raise ReviewInvalid(errors)
        # Without an adjustment there is no adjustment reason; the text is still the event's comment.
        kept_reason = (reason or appraisal.adjustment_reason or "") if new_adjustment else ""

        snapshot = recompute_snapshot(session, appraisal, values, new_adjustment, kept_reason)
        digest = snapshot_hash(snapshot)
        now = _now()
        changed = session.execute(
            update(Appraisal)
            .where(Appraisal.id == appraisal.id, Appraisal.state == facts.state,
                   Appraisal.snapshot_hash == appraisal.snapshot_hash, Appraisal.is_current.is_(True))
            .values(manual=values, adjustment=new_adjustment, adjustment_reason=kept_reason or None,
                    snapshot=snapshot, snapshot_hash=digest, subtotal=snapshot["subtotal"],
                    total=snapshot["total"], grade=snapshot["grade"], updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise Conflict()
        summary = "; ".join(
            [f"{code} = {values[code] if values[code] is not None else 'N/A'}" for code in sorted(manual or {})]
            + ([f"{_('Adjustment')} {new_adjustment:+g}"] if adjustment_changed else [])
        )
        comment = f"{summary}: {reason}" if reason and summary else (reason or summary)
        session.execute(insert(AuditEvent), [_event(appraisal.id, person.actor, REVIEW, facts.state, facts.state,
                                                    comment, digest, now)])
        session.commit()
        session.refresh(appraisal)
        return appraisal
    except BaseException:
        session.rollback()
        raise


# --- the inbox --------------------------------------------------------------------------------


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


def inbox(session, person: Person, *, cycle_id: int | None = None, limit: int = 1000) -> list[InboxItem]:
    """The current appraisals waiting for this person: those on which they may act now."""
    actor = person.actor
    tables: dict[int, WorkflowTable] = {}
    query = (
        select(Appraisal.id, Appraisal.rule_set_version_id, Appraisal.state, Appraisal.employee_id,
               Appraisal.total, Appraisal.subtotal, Appraisal.adjustment, Appraisal.grade, Appraisal.version,
               Employee.supervisor_id, Station.manager_id, Cycle.name, Employee.employee_no, Employee.name,
               Station.code)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Station, Station.id == Appraisal.station_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.is_current.is_(True), scope_clause(Appraisal, person.scope))
        .order_by(Cycle.id.desc(), Employee.employee_no)
    )
    if cycle_id is not None:
        query = query.where(Appraisal.cycle_id == cycle_id)
    # Only states where some transition could be this actor's, by role, reach Python.
    versions = session.scalars(select(Appraisal.rule_set_version_id).distinct()).all()
    states: set[str] = set()
    for version in versions:
        tables[version] = table = workflow_table(session, version)
        states |= acting_states(table, actor.roles)
    if not states:
        return []
    rows = session.execute(query.where(Appraisal.state.in_(sorted(states)))).all()
    # Who approved in the current round matters in the approval states only.
    rounds = round_facts(session, [r.id for r in rows if r.state.value in APPROVAL_STATES])
    items = []
    for row in rows:
        approvals, edits = rounds.get(row.id, ((), 0))
        facts = Facts(row.state.value, row.employee_id, row.supervisor_id, row.manager_id, guard_values(row),
                      approvals=approvals, edits=edits)
        table = tables[row.rule_set_version_id]
        allowed = allowed_actions(table, facts, actor)
        if allowed:
            items.append(InboxItem(row.id, row[11], row.employee_no, row[13], row.code, row.state.value,
                                   row.total, row.grade, allowed, table, list(waiting_for(table, facts))))
            if len(items) >= limit:
                break
    names = _names(session, {p.employee_id for i in items for p in i.waiting})
    for item in items:
        item.waiting = waiting_labels(item.table, item.waiting, person.locale, names)
    return items


# --- who is expected to act -------------------------------------------------------------------


def _names(session, employee_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = [i for i in employee_ids if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(Employee.id, Employee.name).where(Employee.id.in_(wanted))).all())


def waiting_labels(table: WorkflowTable, parties: Iterable[Party], locale: str,
                   names: Mapping[int, str]) -> list[dict]:
    """Who is expected to act next, for a screen or an API answer: relation, its label, the person's
    name (when one person holds it) and whether they stand in for a missing supervisor."""
    from flask_babel import gettext as _

    out = []
    for party in parties:
        label = table.relation_label(party.relation, locale)
        name = names.get(party.employee_id) if party.employee_id is not None else None
        text = f"{label} {name}" if name else label
        if party.stands_in:
            text = _("%(who)s (standing in: the employee has no supervisor)", who=text)
        out.append({"relation": party.relation, "label": label, "name": name, "stands_in": party.stands_in,
                    "text": text})
    return out


def expected_next(session, appraisal: Appraisal, facts: Facts, person: Person) -> list[dict]:
    """Who may move this appraisal on now (nobody on a superseded version or in a final state)."""
    if not appraisal.is_current:
        return []
    table = workflow_table(session, appraisal.rule_set_version_id)
    parties = waiting_for(table, facts)
    return waiting_labels(table, parties, person.locale, _names(session, {p.employee_id for p in parties}))


# --- sign-off ---------------------------------------------------------------------------------
# Signing stores the final PDF and appends its hash-chain record inside the sign transition's own
# transaction (app/services/signoff.py): no signed appraisal without its frozen PDF.
from .signoff import sign_effect  # noqa: E402

register_effect(State.signed.value, sign_effect)
