"""Computing a cycle: every appraisal scored in one pass and written in one transaction.

``compute_cycle`` reads everything first (:func:`read_inputs`: employees, one call of the metrics
layer, the existing appraisals), scores every employee in memory with the bound rule set
(:func:`score_jobs`), then writes in ONE transaction (:func:`write_results`): bulk inserts and
updates (executemany), no per-employee round trips. A compute killed at any moment leaves the cycle
as it was before (the transaction never committed), and because a result depends only on the data,
the rule set and the review inputs, a rerun converges to what an uninterrupted run gives.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update

from ..bulk import WHOLE, insert_many
from ..locales import current_locale
from ..metrics import compute_metrics
from ..models import Appraisal, AuditEvent, Cycle, CycleStatus, Employee, RuleSetVersion
from ..workflow import RECOMPUTABLE_STATES, Actor, State, WorkflowTableError
from . import incentives, workflows
from .audit import COMPUTE, RECOMPUTE, event_row, now
from .caller import SYSTEM_CALLER
from .errors import Kind, ServiceError
from .rules import published_ruleset, ruleset_for_version
from .scoring import Appraisee, Scored, Scorer, appraisees
from .scoring_pool import Job, Progress, score_all, workers_for
from .snapshot import RawJSON

RECOMPUTABLE = sorted(s.value for s in RECOMPUTABLE_STATES)


class CycleError(ServiceError):
    """A cycle cannot be created or computed; ``message`` is in the user's language, ``code`` stable.
    ``sentence`` is the message as given (a lazy string may be rendered again in another language: a
    background compute's refusal is kept in Chinese and English)."""

    kind = Kind.INVALID

    def __init__(self, code: str, message) -> None:
        super().__init__(str(message), code=code)
        self.sentence = message


@dataclass
class Change:
    appraisal_id: int
    employee_no: str
    employee_name: str
    state: str
    old_total: float | None
    new_total: float | None
    old_grade: str | None
    new_grade: str | None
    old_amount: str | None = None  # the incentive amount (yuan, as text), when the rule set has one
    new_amount: str | None = None


@dataclass
class ComputeResult:
    """What a compute did. ``changed`` lists only appraisals whose total, grade or incentive amount
    moved; ``unchanged`` counts those recomputed with the same figures, ``rewritten`` those of them
    whose snapshot was written again all the same (another rule-set version, another explanation);
    ``locked`` those past review, left on the version they were computed with."""

    cycle_id: int
    rule_version: str
    created: int = 0
    changed: list[Change] = field(default_factory=list)
    unchanged: int = 0
    rewritten: int = 0
    locked: int = 0
    skipped: list[str] = field(default_factory=list)  # employee numbers without a template
    seconds: float = 0.0

    def to_dict(self, limit: int | None = None) -> dict:
        """Plain data for the API and the cycle screen (at most ``limit`` changes listed)."""
        return {
            "cycle_id": self.cycle_id, "rule_version": self.rule_version, "created": self.created,
            "updated": len(self.changed), "unchanged": self.unchanged, "rewritten": self.rewritten,
            "locked": self.locked, "skipped": self.skipped, "seconds": round(self.seconds, 3),
            "changes": [dict(c.__dict__) for c in self.changed[:limit]],
        }


def new_amount(scored: Scored) -> str | None:
    """The incentive amount of a scored snapshot (None without one)."""
    return (json.loads(scored.json).get("incentive") or {}).get("amount")


def moved(old: Existing, scored: Scored, amount: str | None) -> bool:
    """Whether a recompute changed what the appraisal says: its total, grade or incentive amount."""
    def rounded(total):
        return None if total is None else round(total, 2)
    return (rounded(old.total) != rounded(scored.total) or old.grade != scored.grade
            or old.amount != amount)


@dataclass
class Existing:
    """A current appraisal as the compute reads it: what decides whether it is rescored."""

    id: int
    employee_id: int
    state: str
    version: int
    manual: dict
    adjustment: float
    adjustment_reason: str | None
    snapshot_hash: str
    total: float | None
    grade: str | None
    amount: str | None = None  # the snapshot's incentive amount

    @property
    def inputs(self) -> tuple:
        return (self.state, self.version, self.manual, self.adjustment, self.adjustment_reason,
                self.snapshot_hash)


def existing(session, cycle_id: int, *, lock: bool = False) -> dict[int, Existing]:
    """The cycle's current appraisals by employee (locked for update when ``lock``)."""
    query = select(
        Appraisal.id, Appraisal.employee_id, Appraisal.state, Appraisal.version, Appraisal.manual,
        Appraisal.adjustment, Appraisal.adjustment_reason, Appraisal.snapshot_hash, Appraisal.total,
        Appraisal.grade, Appraisal.snapshot[("incentive", "amount")].as_string().label("amount"),
    ).where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))
    if lock:
        query = query.with_for_update()
    out = {}
    for row in session.execute(query):
        out[row.employee_id] = Existing(row.id, row.employee_id, row.state.value, row.version,
                                        row.manual or {}, row.adjustment or 0.0, row.adjustment_reason,
                                        row.snapshot_hash, row.total, row.grade, row.amount)
    return out


def bind_ruleset(session, cycle: Cycle, rebind: bool):
    """The cycle's rule-set version and rule set: its own, or (first compute, ``rebind``) the published
    one."""
    if cycle.rule_set_version_id is None or rebind:
        try:
            version, ruleset = published_ruleset(session)
        except LookupError as exc:
            raise CycleError("NO_RULES", _l("No rule set is published; load and publish one first.")) from exc
        if version is None:
            raise CycleError("NO_RULES", _l("No rule set is published; load and publish one first."))
        return version, ruleset
    version = session.get(RuleSetVersion, cycle.rule_set_version_id)
    return version, ruleset_for_version(session, cycle.rule_set_version_id)


NO_MANUAL: dict = {}  # the manual values of a new appraisal: one object for every row (never changed),
# encoded once by the bulk insert


def appraisal_row(cycle_id, version_id, appraisee: Appraisee, scored: Scored, at, *, version=1,
                  state=State.draft.value, manual=None, adjustment=0.0, reason=None) -> dict:
    """The values of a new appraisal row (its snapshot as the JSON text already hashed)."""
    return {
        "cycle_id": cycle_id, "employee_id": appraisee.id, "station_id": appraisee.station_id,
        "version": version, "rule_set_version_id": version_id, "is_current": True, "state": state,
        "subtotal": scored.subtotal, "total": scored.total, "grade": scored.grade,
        "adjustment": adjustment or 0.0, "adjustment_reason": reason if adjustment else None,
        "manual": manual or NO_MANUAL, "snapshot": scored.json, "snapshot_hash": scored.digest,
        "computed_at": at, "updated_at": at,
    }


def insert_appraisals(session, rows: list[dict], *, whole: bool = False,
                      locked: bool = False) -> list[tuple[int, str]]:
    """Bulk insert (the snapshots go in as the JSON text already made); the (id, hash) of the new rows.
    ``whole``: see ``bulk.insert_many``.

    ``locked``: the caller's transaction holds the database's write lock already (on SQLite: it has
    written), so no other connection adds an appraisal before it commits. On SQLite the rows are then
    numbered here, in their order, from one more than the largest id (one step down the table's b-tree):
    the ids SQLite itself would give them (``id`` is the rowid, without AUTOINCREMENT), and nothing
    needs reading back. Otherwise, and on PostgreSQL (its sequence), the new rows are read back by
    employee: they are the current versions now. (A RETURNING that keeps the parameters' order would
    cost one statement per row on SQLite.)"""
    table = Appraisal.__table__
    conn = session.connection()
    if locked and conn.dialect.name == "sqlite":
        first = (conn.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = range(first, first + len(rows))
        insert_many(conn, table, rows, raw=("snapshot",), whole=whole, columns={"id": ids})
        return list(zip(ids, [row["snapshot_hash"] for row in rows], strict=True))
    insert_many(conn, table, rows, raw=("snapshot",), whole=whole)
    cycle_id, wanted = rows[0]["cycle_id"], {row["employee_id"] for row in rows}
    query = select(table.c.id, table.c.employee_id, table.c.snapshot_hash).where(
        table.c.cycle_id == cycle_id, table.c.is_current.is_(True))
    if len(wanted) <= 500:
        query = query.where(table.c.employee_id.in_(sorted(wanted)))
    return [(ident, digest) for ident, employee, digest in session.execute(query).all() if employee in wanted]


@dataclass
class Inputs:
    """What a compute reads before scoring: the rule set, who is appraised, the existing appraisals."""

    version: RuleSetVersion
    scorer: Scorer
    appraised: list[Appraisee]
    skipped: list[str]
    existing: dict[int, Existing]


def metric_threads(session, count: int) -> int:
    """Connections the metric passes run on side by side: one per scoring worker (a whole cycle's
    compute), one for an in-memory SQLite database (another connection would open another database).
    Each pass then reads what is committed: imports commit before anyone computes."""
    url = session.get_bind().url
    memory = url.get_backend_name() == "sqlite" and (
        (url.database or ":memory:") == ":memory:" or "mode=memory" in str(url))
    return 1 if memory else workers_for(count)


def read_inputs(session, cycle: Cycle, report: Progress, rebind: bool) -> Inputs:
    """The bound rule set (its workflow checked), the employees, their metrics and the appraisals."""
    report("rules", 0, 1)
    version, ruleset = bind_ruleset(session, cycle, rebind)
    try:  # a broken workflow stops the compute before any work
        workflows.workflow_table(session, version.id)
    except WorkflowTableError as exc:
        raise CycleError("BAD_WORKFLOW", _l("The workflow of the rule set is broken: %(problems)s",
                                           problems="; ".join(exc.messages(current_locale())))) from exc
    station_ids = [s.id for s in cycle.stations]
    where = [Employee.station_id.in_(station_ids)] if station_ids else []
    count = session.scalar(select(func.count()).select_from(Employee).where(*where))
    read: dict = {}

    def meanwhile() -> None:  # the employees and appraisals, read while the metric passes run
        read["people"] = appraisees(session, *where)
        read["existing"] = existing(session, cycle.id)

    report("metrics", 0, 1)
    metrics = compute_metrics(session, cycle.start, cycle.end, station_ids=station_ids or None,
                              tag_words=sorted(ruleset.tag_words), threads=metric_threads(session, count),
                              meanwhile=meanwhile)
    report("metrics", 1, 1)
    scorer = Scorer.for_cycle(cycle, version, ruleset, metrics)
    appraised, skipped = [], []
    for person in read["people"]:
        if scorer.template(person) is None:
            skipped.append(person.no)
        else:
            appraised.append(person)
    return Inputs(version, scorer, appraised, skipped, read["existing"])


def score_jobs(inputs: Inputs, report: Progress) -> dict[int, Scored]:
    """New appraisals and the recomputable ones scored, keeping their manual values and adjustment."""
    jobs: list[Job] = []
    for person in inputs.appraised:
        old = inputs.existing.get(person.id)
        if old is None:
            jobs.append((person, {}, 0.0, None))
        elif old.state in RECOMPUTABLE:
            jobs.append((person, old.manual, old.adjustment, old.adjustment_reason))
    return score_all(inputs.scorer, jobs, report)


def write_results(session, cycle_id: int, inputs: Inputs, scored: dict[int, Scored], actor: Actor,
                  result: ComputeResult) -> None:
    """The write phase, in the caller's transaction. Taking the cycle row first serialises computes of
    one cycle (PostgreSQL row lock, SQLite write lock); then re-read the appraisals, locked, and rescore
    any whose review inputs changed since the first read. The bulk statements are whole-transaction
    ones on SQLite (``bulk.WHOLE``: no statement journal): any error undoes the compute anyway."""
    at, version_id, scorer = now(), inputs.version.id, inputs.scorer
    session.execute(update(Cycle).where(Cycle.id == cycle_id).values(
        status=CycleStatus.computed, computed_at=at, rule_set_version_id=version_id,
        progress_stage=None, progress_done=None, progress_total=None, progress_at=None,
        progress_error=None,
    ).execution_options(synchronize_session=False))
    current = existing(session, cycle_id, lock=True)
    todo = []
    for person in inputs.appraised:
        old = current.get(person.id)
        if old is not None and old.state not in RECOMPUTABLE:
            result.locked += 1
            continue
        first = inputs.existing.get(person.id)
        if person.id not in scored or (old is not None and (first is None or first.inputs != old.inputs)):
            manual, adjustment, reason = ({}, 0.0, None) if old is None else (
                old.manual, old.adjustment, old.adjustment_reason)
            scored[person.id] = scorer.score(person, manual, adjustment, reason)
        todo.append((person, old))
    # After publication a station's pool is shared out: amounts keep to its terms.
    settled = incentives.settle_scored_all(session, session.get(Cycle, cycle_id), [
        (None if old is None else old.id, scored[person.id]) for person, old in todo])
    inserts, updates, events_for = [], [], []
    for (person, old), scored_one in zip(todo, settled, strict=True):
        if old is None:
            inserts.append(appraisal_row(cycle_id, version_id, person, scored_one, at))
        elif scored_one.digest == old.snapshot_hash:
            result.unchanged += 1
        else:
            amount = new_amount(scored_one)
            if moved(old, scored_one, amount):
                result.changed.append(Change(old.id, person.no, person.name, old.state, old.total,
                                             scored_one.total, old.grade, scored_one.grade,
                                             old.amount, amount))
            else:
                result.unchanged += 1
                result.rewritten += 1
            updates.append({
                "b_id": old.id, "b_state": old.state, "b_hash": old.snapshot_hash,
                "rule_set_version_id": version_id, "subtotal": scored_one.subtotal,
                "total": scored_one.total, "grade": scored_one.grade, "snapshot_json": scored_one.json,
                "snapshot_hash": scored_one.digest, "computed_at": at, "updated_at": at,
            })
            events_for.append((old.id, old.state, scored_one.digest))
    if inserts:
        ids = insert_appraisals(session, inserts, whole=True, locked=True)  # the cycle row written above
        events = [event_row(ident, actor, COMPUTE, None, State.draft.value, None, digest, at)
                  for ident, digest in ids]
        insert_many(session.connection(), AuditEvent.__table__, events, whole=True)
        result.created = len(inserts)
    if updates:
        table = Appraisal.__table__
        session.execute(
            update(table).prefix_with(WHOLE, dialect="sqlite")
            .where(table.c.id == bindparam("b_id"), table.c.state == bindparam("b_state"),
                   table.c.snapshot_hash == bindparam("b_hash"))
            .values({**{k: bindparam(k) for k in updates[0] if not k.startswith(("b_", "snapshot_json"))},
                     "snapshot": bindparam("snapshot_json", type_=RawJSON())}),
            updates,
        )
        session.execute(insert(AuditEvent.__table__).prefix_with(WHOLE, dialect="sqlite"), [
            event_row(ident, actor, RECOMPUTE, state, state, None, digest, at)
            for ident, state, digest in events_for
        ])


@contextmanager
def collection_paused():
    """The cyclic garbage collector paused for a compute. A compute makes hundreds of thousands of
    objects that live until it ends (the metrics, the results, the rows to write) and hardly any
    garbage in cycles, so each collection would walk them all again for nothing (a tenth of a compute's
    time). Reference counting still frees what is dropped; the collector runs again afterwards."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def compute_cycle(session, cycle: Cycle, progress: Progress | None = None, *, actor: Actor | None = None,
                  rebind: bool = False,
                  before_commit: Callable[[object, ComputeResult], None] | None = None) -> ComputeResult:
    """Compute (or recompute) every appraisal of ``cycle``; returns what was created and changed.

    Binds the published rule-set version on the first compute (``rebind=True`` moves a cycle to
    the version published now). Appraisals in draft or pending_review are recomputed, keeping
    their manual values and adjustment; later states are locked and left alone. One transaction;
    ``before_commit(session, result)`` writes inside it whatever must be kept with the compute or not
    at all (a background job's end), and may raise to undo everything.
    """
    started = time.perf_counter()
    report = progress or (lambda stage, done, total: None)
    cycle_id = cycle.id
    try:
        with collection_paused():
            inputs = read_inputs(session, cycle, report, rebind)
            result = ComputeResult(cycle_id, inputs.scorer.rule_version, skipped=inputs.skipped)
            scored = score_jobs(inputs, report)
            report("write", 0, 1)
            write_results(session, cycle_id, inputs, scored, actor or SYSTEM_CALLER.actor, result)
            result.seconds = time.perf_counter() - started
            session.execute(update(Cycle).where(Cycle.id == cycle_id)
                            .values(last_result=result.to_dict(limit=200))
                            .execution_options(synchronize_session=False))
            report("write", 1, 1)
            if before_commit is not None:
                before_commit(session, result)
            session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire_all()
    return result
