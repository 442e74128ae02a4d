"""Appraisal cycles: create, compute (and recompute) every appraisal in one pass, amend one.

``compute_cycle`` reads everything first (employees, one call of the metrics layer, the existing
appraisals), scores every employee in memory with the bound rule set, then writes in ONE
transaction: bulk inserts and updates (executemany), no per-employee round trips. A compute killed
at any moment leaves the cycle as it was before (the transaction never committed), and because a
result depends only on the data, the rule set and the review inputs, a rerun converges to what an
uninterrupted run gives.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update

from ..bulk import insert_many
from ..models import Appraisal, AuditEvent, Cycle, CycleStatus, Employee, RuleSetVersion, Station
from ..scoping import Scope, scope_clause
from ..workflow import RECOMPUTABLE_STATES, Actor, State, WorkflowTableError, check_amend
from .snapshot import (
    AMEND,
    COMPUTE,
    RECOMPUTE,
    CycleFacts,
    RawJSON,
    build_snapshot,
    canonical_json,
    company_name,
)
from .transitions import (
    SYSTEM_PERSON,
    BulkOutcome,
    Conflict,
    Person,
    _event,
    _snapshot_locale,
    bulk_transition,
    load,
    workflow_table,
)

# progress(stage, done, total); stages: "rules", "metrics", "appraise", "write".
Progress = Callable[[str, int, int], None]
RECOMPUTABLE = sorted(s.value for s in RECOMPUTABLE_STATES)


class CycleError(Exception):
    """A cycle cannot be created or computed; ``message`` is in the user's language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh_CN") if has_app_context() else "zh_CN"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- create -----------------------------------------------------------------------------------


def create_cycle(session, name: str, start: dt.date, end: dt.date,
                 station_codes: Collection[str] | None = None) -> Cycle:
    """A new cycle over ``start``–``end`` (inclusive) for the given stations (none: all). Commits."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise CycleError("BAD_NAME", _("Give the cycle a name of at most 100 characters."))
    if start is None or end is None or end < start:
        raise CycleError("BAD_PERIOD", _("The period must end on or after its start."))
    if (end - start).days > 366 * 2:
        raise CycleError("BAD_PERIOD", _("A cycle covers at most two years."))
    if session.scalar(select(func.count()).select_from(Cycle).where(Cycle.name == name)):
        raise CycleError("NAME_TAKEN", _("A cycle named “%(name)s” already exists.", name=name))
    stations: list[Station] = []
    if station_codes:
        codes = sorted({c.strip() for c in station_codes if c and c.strip()})
        stations = list(session.scalars(select(Station).where(Station.code.in_(codes))))
        unknown = sorted(set(codes) - {s.code for s in stations})
        if unknown:
            raise CycleError("UNKNOWN_STATION", _("Unknown stations: %(codes)s", codes=", ".join(unknown)))
    cycle = Cycle(name=name, start=start, end=end, stations=stations, status=CycleStatus.new)
    session.add(cycle)
    session.commit()
    return cycle


# --- compute ----------------------------------------------------------------------------------


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


@dataclass
class ComputeResult:
    cycle_id: int
    rule_version: str
    created: int = 0
    changed: list[Change] = field(default_factory=list)
    unchanged: int = 0
    locked: int = 0
    skipped: list[str] = field(default_factory=list)  # employee numbers without a template
    seconds: float = 0.0

    def to_dict(self, limit: int | None = None) -> dict:
        """Plain data for the API and the cycle screen (at most ``limit`` changes listed)."""
        return {
            "cycle_id": self.cycle_id, "rule_version": self.rule_version, "created": self.created,
            "updated": len(self.changed), "unchanged": self.unchanged, "locked": self.locked,
            "skipped": self.skipped, "seconds": round(self.seconds, 3),
            "changes": [dict(c.__dict__) for c in self.changed[:limit]],
        }


@dataclass
class _Existing:
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

    @property
    def inputs(self) -> tuple:
        return (self.state, self.version, self.manual, self.adjustment, self.adjustment_reason,
                self.snapshot_hash)


def _existing(session, cycle_id: int, *, lock: bool = False) -> dict[int, _Existing]:
    query = select(
        Appraisal.id, Appraisal.employee_id, Appraisal.state, Appraisal.version, Appraisal.manual,
        Appraisal.adjustment, Appraisal.adjustment_reason, Appraisal.snapshot_hash, Appraisal.total,
        Appraisal.grade,
    ).where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))
    if lock:
        query = query.with_for_update()
    out = {}
    for row in session.execute(query):
        out[row.employee_id] = _Existing(row.id, row.employee_id, row.state.value, row.version, row.manual or {},
                                         row.adjustment or 0.0, row.adjustment_reason, row.snapshot_hash,
                                         row.total, row.grade)
    return out


@dataclass
class _Person:
    id: int
    no: str
    name: str
    position: str
    station_id: int
    station_code: str
    station_name: str
    segment: str


def _people(session, *where, station_of_appraisal: int | None = None) -> list[_Person]:
    """Employees with their station (their current one, or ``station_of_appraisal``'s)."""
    station_id = Employee.station_id if station_of_appraisal is None else station_of_appraisal
    query = (
        select(Employee.id, Employee.employee_no, Employee.name, Employee.position,
               Station.id.label("station_id"), Station.code, Station.name.label("station_name"), Station.segment)
        .join(Station, Station.id == station_id)
        .where(*where)
        .order_by(Employee.employee_no)
    )
    return [_Person(r.id, r.employee_no, r.name, r.position, r.station_id, r.code, r.station_name,
                    r.segment.value) for r in session.execute(query)]


def _employees(session, cycle: Cycle) -> list[_Person]:
    station_ids = [s.id for s in cycle.stations]
    return _people(session, *([Employee.station_id.in_(station_ids)] if station_ids else []))


def _bind(session, cycle: Cycle, rebind: bool):
    from .rules import published_ruleset, ruleset_for_version

    if cycle.rule_set_version_id is None or rebind:
        try:
            version, ruleset = published_ruleset(session)
        except LookupError as exc:
            raise CycleError("NO_RULES", _("No rule set is published; load and publish one first.")) from exc
        if version is None:
            raise CycleError("NO_RULES", _("No rule set is published; load and publish one first."))
        return version, ruleset
    version = session.get(RuleSetVersion, cycle.rule_set_version_id)
    return version, ruleset_for_version(session, cycle.rule_set_version_id)


def _steady(value):
    """A metric rounded to 12 significant digits. A database sums floats in its scan order, which
    changes when rows move (PostgreSQL after an UPDATE); the last bits then differ from run to run.
    Rounding them away keeps a result a function of the data, so a recompute without changes shows
    none and a rerun after a crash converges to the same snapshot hashes."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.12g}")
    return value


class Scored(NamedTuple):
    """One scored employee: the snapshot as canonical JSON text (hashed and stored as it is), its
    SHA-256, and the figures that also live in columns."""

    json: str
    digest: str
    subtotal: float | None
    total: float | None
    grade: str | None


def _steady_metrics(metrics) -> None:
    """Round every fetched metric once (see :func:`_steady`), before anything reads them."""
    for values in (*metrics.employees.values(), *metrics.stations.values()):
        for code, value in values.items():
            values[code] = _steady(value)


class _Scorer:
    """Scores one employee from the fetched metrics; plain data only, so it also runs in a forked
    worker (no database, no app context)."""

    def __init__(self, cycle: Cycle, version, ruleset, metrics) -> None:
        from app.rules import EmployeeFacts

        self.cycle = CycleFacts(cycle.name, cycle.start, cycle.end)
        self.ruleset, self.metrics = ruleset, metrics
        _steady_metrics(metrics)
        self.rule_version = getattr(version, "label", None) or f"v{version.number}"
        self.facts_cls = EmployeeFacts
        self.locale = _snapshot_locale()
        self.company = company_name()
        self.year = cycle.start.year

    def template(self, person: _Person):
        return self.ruleset.template_for(person.position, person.station_code, person.segment)

    def score(self, person: _Person, manual: dict, adjustment: float, reason: str | None) -> Scored:
        facts = self.facts_cls(person.no, person.name, person.position, person.station_code,
                               person.station_name, person.segment)
        variables = self.metrics.variables_for(person.id, person.station_id)
        tags = dict(self.metrics.tags.get(person.id, {}))
        result = self.ruleset.appraise(facts, variables, tags, manual, adjustment, year=self.year,
                                       locale=self.locale)
        station = {"code": person.station_code, "name": person.station_name, "segment": person.segment}
        snapshot = build_snapshot(cycle=self.cycle, rule_version=self.rule_version, employee=facts,
                                  station=station, result=result,
                                  inputs={"variables": variables, "tags": tags},
                                  adjustment_reason=reason if adjustment else None, company=self.company)
        text = canonical_json(snapshot)
        return Scored(text, hashlib.sha256(text.encode("utf-8")).hexdigest(), snapshot["subtotal"],
                      snapshot["total"], snapshot["grade"])


# --- scoring many employees, on several cores when there are many ---------------------------------

Job = tuple[_Person, dict, float, str | None]  # person, manual values, adjustment, its reason
_FORKED: tuple[_Scorer, list[Job]] | None = None  # what forked workers read (inherited, never pickled)


def _score_chunk(bounds: tuple[int, int]) -> list[tuple[int, Scored]]:
    scorer, jobs = _FORKED
    return [(job[0].id, scorer.score(*job)) for job in jobs[bounds[0]:bounds[1]]]


def _workers(count: int) -> int:
    """Worker processes (and metric query threads) for ``count`` employees: JIXIAO_COMPUTE_WORKERS
    (default: the cores), and only from JIXIAO_COMPUTE_PARALLEL_MIN employees on (default 2,000;
    forking costs ~0.1 s)."""
    config = current_app.config if has_app_context() else {}
    wanted = int(config.get("JIXIAO_COMPUTE_WORKERS") or os.cpu_count() or 1)
    if count < int(config.get("JIXIAO_COMPUTE_PARALLEL_MIN", 2000)):
        return 1
    return max(1, min(wanted, count))


def _score_all(scorer: _Scorer, jobs: list[Job], report: Progress) -> dict[int, Scored]:
    """Every job scored: in this process, or in forked workers that inherit the rule set and the
    metrics (nothing is sent to them but index ranges; the snapshots come back)."""
    global _FORKED
    total, out = len(jobs), {}
    workers = _workers(total)
    if workers <= 1:
        step = max(1, total // 100)
        for i, job in enumerate(jobs):
            out[job[0].id] = scorer.score(*job)
            if i % step == 0:
                report("appraise", i, total)
        report("appraise", total, total)
        return out
    chunk = max(1, min(500, -(-total // (workers * 8))))
    _FORKED = (scorer, jobs)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = 0
            for rows in pool.imap_unordered(_score_chunk, [(i, min(i + chunk, total))
                                                           for i in range(0, total, chunk)]):
                out.update(rows)
                done += len(rows)
                report("appraise", done, total)
    finally:
        _FORKED = None
    return out


def _appraisal_row(cycle_id, version_id, person: _Person, scored: Scored, now, *, version=1,
                   state=State.draft.value, manual=None, adjustment=0.0, reason=None) -> dict:
    return {
        "cycle_id": cycle_id, "employee_id": person.id, "station_id": person.station_id, "version": version,
        "rule_set_version_id": version_id, "is_current": True, "state": state,
        "subtotal": scored.subtotal, "total": scored.total, "grade": scored.grade,
        "adjustment": adjustment or 0.0, "adjustment_reason": reason if adjustment else None,
        "manual": manual or {}, "snapshot": scored.json, "snapshot_hash": scored.digest,
        "computed_at": now, "updated_at": now,
    }


def _insert_appraisals(session, rows: list[dict]) -> list[tuple[int, str]]:
    """Bulk insert (the snapshots go in as the JSON text already made), then the (id, hash) of the
    new rows, read back by employee: they are the current versions now. (A RETURNING that keeps the
    parameters' order would cost one statement per row on SQLite.)"""
    table = Appraisal.__table__
    insert_many(session.connection(), table, rows, raw=("snapshot",))
    cycle_id, wanted = rows[0]["cycle_id"], {row["employee_id"] for row in rows}
    query = select(table.c.id, table.c.employee_id, table.c.snapshot_hash).where(
        table.c.cycle_id == cycle_id, table.c.is_current.is_(True))
    if len(wanted) <= 500:
        query = query.where(table.c.employee_id.in_(sorted(wanted)))
    return [(row.id, row.snapshot_hash) for row in session.execute(query) if row.employee_id in wanted]


def compute_cycle(session, cycle: Cycle, progress: Progress | None = None, *, actor: Actor | None = None,
                  rebind: bool = False) -> ComputeResult:
    """Compute (or recompute) every appraisal of ``cycle``; returns what was created and changed.

    Binds the published rule-set version on the first compute (``rebind=True`` moves a cycle to
    the version published now). Appraisals in draft or pending_review are recomputed, keeping
    their manual values and adjustment; later states are locked and left alone. One transaction.
    """
    started = time.perf_counter()
    report = progress or (lambda stage, done, total: None)
    actor = actor or SYSTEM_PERSON.actor
    cycle_id = cycle.id
    try:
        report("rules", 0, 1)
        version, ruleset = _bind(session, cycle, rebind)
        try:  # a broken workflow stops the compute before any work
            workflow_table(session, version.id)
        except WorkflowTableError as exc:
            raise CycleError("BAD_WORKFLOW", _("The workflow of the rule set is broken: %(problems)s",
                                               problems="; ".join(exc.messages(_locale())))) from exc
        people = _employees(session, cycle)
        from app.metrics import compute_metrics

        report("metrics", 0, 1)
        station_ids = [s.id for s in cycle.stations] or None
        metrics = compute_metrics(session, cycle.start, cycle.end, station_ids=station_ids,
                                  tag_words=sorted(ruleset.tag_words))
        report("metrics", 1, 1)
        scorer = _Scorer(cycle, version, ruleset, metrics)
        existing = _existing(session, cycle_id)

        result = ComputeResult(cycle_id, scorer.rule_version)
        appraised = [person for person in people if scorer.template(person) is not None]
        result.skipped = [person.no for person in people if scorer.template(person) is None]
        jobs: list[Job] = []
        for person in appraised:
            old = existing.get(person.id)
            if old is None:
                jobs.append((person, {}, 0.0, None))
            elif old.state in RECOMPUTABLE:
                jobs.append((person, old.manual, old.adjustment, old.adjustment_reason))
        scored = _score_all(scorer, jobs, report)

        # The write phase. Taking the cycle row first serialises computes of one cycle (PostgreSQL
        # row lock, SQLite write lock); then re-read the appraisals, locked, and rescore any whose
        # review inputs changed since the first read.
        report("write", 0, 1)
        now = _now()
        session.execute(update(Cycle).where(Cycle.id == cycle_id).values(
            status=CycleStatus.computed, computed_at=now, rule_set_version_id=version.id,
            progress_stage=None, progress_done=None, progress_total=None, progress_at=None,
            progress_error=None,
        ).execution_options(synchronize_session=False))
        current = _existing(session, cycle_id, lock=True)
        inserts, updates, events_for = [], [], []
        for person in appraised:
            old = current.get(person.id)
            if old is not None and old.state not in RECOMPUTABLE:
                result.locked += 1
                continue
            first = existing.get(person.id)
            if person.id not in scored or (old is not None and (first is None or first.inputs != old.inputs)):
                manual, adjustment, reason = ({}, 0.0, None) if old is None else (
                    old.manual, old.adjustment, old.adjustment_reason)
                scored[person.id] = scorer.score(person, manual, adjustment, reason)
            scored_one = scored[person.id]
            if old is None:
                inserts.append(_appraisal_row(cycle_id, version.id, person, scored_one, now))
            elif scored_one.digest == old.snapshot_hash:
                result.unchanged += 1
            else:
                updates.append({
                    "b_id": old.id, "b_state": old.state, "b_hash": old.snapshot_hash,
                    "rule_set_version_id": version.id, "subtotal": scored_one.subtotal,
                    "total": scored_one.total, "grade": scored_one.grade, "snapshot_json": scored_one.json,
                    "snapshot_hash": scored_one.digest, "computed_at": now, "updated_at": now,
                })
                events_for.append((old.id, old.state, scored_one.digest))
                result.changed.append(Change(old.id, person.no, person.name, old.state, old.total,
                                             scored_one.total, old.grade, scored_one.grade))
        if inserts:
            ids = _insert_appraisals(session, inserts)
            events = [_event(ident, actor, COMPUTE, None, State.draft.value, None, digest, now)
                      for ident, digest in ids]
            insert_many(session.connection(), AuditEvent.__table__, events)
            result.created = len(inserts)
        if updates:
            table = Appraisal.__table__
            session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"), table.c.state == bindparam("b_state"),
                       table.c.snapshot_hash == bindparam("b_hash"))
                .values({**{k: bindparam(k) for k in updates[0] if not k.startswith(("b_", "snapshot_json"))},
                         "snapshot": bindparam("snapshot_json", type_=RawJSON())}),
                updates,
            )
            session.execute(insert(AuditEvent.__table__), [
                _event(ident, actor, RECOMPUTE, state, state, None, digest, now)
                for ident, state, digest in events_for
            ])
        result.seconds = time.perf_counter() - started
        session.execute(update(Cycle).where(Cycle.id == cycle_id).values(last_result=result.to_dict(limit=200))
                        .execution_options(synchronize_session=False))
        report("write", 1, 1)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire_all()
    return result


# --- progress visible to every worker -----------------------------------------------------------


class ProgressRecorder:
    """A progress callback that also writes the progress onto the cycle row, outside the compute's
    transaction (its own connection), at most every ``interval`` seconds; screens poll it. The
    write phase is not recorded: the compute then holds the locks this would wait for."""

    def __init__(self, engine, cycle_id: int, echo: Progress | None = None, interval: float = 0.5) -> None:
        self.engine, self.cycle_id, self.echo, self.interval = engine, cycle_id, echo, interval
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.echo:
            self.echo(stage, done, total)
        now = time.monotonic()
        if stage == "write" or (now - self.last < self.interval and done not in (0, total)):
            return
        self.last = now
        self.write(stage=stage, done=done, total=total)

    def write(self, *, stage: str | None, done: int | None = None, total: int | None = None,
              error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Cycle.__table__).where(Cycle.__table__.c.id == self.cycle_id).values(
                progress_stage=stage, progress_done=done, progress_total=total, progress_at=_now(),
                progress_error=error,
            ))


STALE_SECONDS = 60


def progress_of(cycle: Cycle) -> dict:
    """The state of a running (or interrupted) compute, as the screens and the API report it."""
    at = cycle.progress_at
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    running = bool(cycle.progress_stage) and at is not None and (_now() - at).total_seconds() < STALE_SECONDS
    return {
        "status": cycle.status.value, "running": running, "stage": cycle.progress_stage,
        "done": cycle.progress_done, "total": cycle.progress_total, "error": cycle.progress_error,
        "interrupted": bool(cycle.progress_stage) and not running and not cycle.progress_error,
        "computed_at": cycle.computed_at.isoformat() if cycle.computed_at else None,
    }


_RUNNING: set[int] = set()
_RUNNING_LOCK = threading.Lock()


def start_compute_in_background(app, cycle_id: int, actor: Actor, *, rebind: bool = False) -> bool:
    """Compute in a thread of this process (the screens poll :func:`progress_of`); False if this
    process already computes that cycle."""
    from ..extensions import db

    with _RUNNING_LOCK:
        if cycle_id in _RUNNING:
            return False
        _RUNNING.add(cycle_id)
    # The first stage is on the cycle row before this returns: the page shown next polls the
    # progress instead of showing an idle cycle while the thread starts.
    try:
        with app.app_context():
            ProgressRecorder(db.engine, cycle_id).write(stage="rules", done=0, total=1)
    except BaseException:
        with _RUNNING_LOCK:
            _RUNNING.discard(cycle_id)
        raise

    def run() -> None:
        with app.app_context():
            recorder = ProgressRecorder(db.engine, cycle_id)
            try:
                cycle = db.session.get(Cycle, cycle_id)
                compute_cycle(db.session, cycle, recorder, actor=actor, rebind=rebind)
            except CycleError as exc:
                recorder.write(stage=None, error=exc.message)
            except Exception as exc:  # noqa: BLE001 - reported on the screen, logged
                app.logger.exception("compute of cycle %s failed", cycle_id)
                recorder.write(stage=None, error=type(exc).__name__)
            finally:
                db.session.remove()
                with _RUNNING_LOCK:
                    _RUNNING.discard(cycle_id)

    threading.Thread(target=run, name=f"compute-cycle-{cycle_id}", daemon=True).start()
    return True


# --- summary and amendment ----------------------------------------------------------------------


def state_counts(session, cycle_id: int, scope: Scope | None = None) -> dict[str, int]:
    """Current appraisals of the cycle per state, counting only those in ``scope`` (if given)."""
    query = (select(Appraisal.state, func.count())
             .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True)).group_by(Appraisal.state))
    if scope is not None:
        query = query.where(scope_clause(Appraisal, scope))
    return {state.value: count for state, count in session.execute(query)}


# At most this many drafts are submitted by one call (one transaction each, ~10 ms): a request
# stays short; the caller says how many remain.
MAX_SUBMIT = 1000


def drafts_of(session, cycle_id: int, scope: Scope) -> list[int]:
    """Ids of the cycle's current draft appraisals within ``scope``, in a stable order."""
    return list(session.scalars(
        select(Appraisal.id).where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True),
                                   Appraisal.state == State.draft, scope_clause(Appraisal, scope))
        .order_by(Appraisal.id)
    ))


def submit_drafts(session, cycle_id: int, person: Person, comment: str | None = None, *,
                  limit: int = MAX_SUBMIT) -> tuple[list[BulkOutcome], int]:
    """HR submits a cycle: its current drafts (in ``person``'s scope, at most ``limit``) go to
    review, each through :func:`transitions.transition` with every check, in its own transaction.
    Returns each one's outcome and how many drafts remain unsubmitted beyond ``limit``."""
    ids = drafts_of(session, cycle_id, person.scope)
    outcomes = bulk_transition(session, ids[:limit], person, "submit", comment)
    return outcomes, max(0, len(ids) - limit)


def amend_appraisal(session, appraisal_id, person: Person, reason: str) -> Appraisal:
    """HR's amendment of a locked appraisal: a new version, recomputed from today's data with the
    same manual values and adjustment, back to review. The old version stays as it was (not current)."""
    try:
        appraisal, facts = load(session, appraisal_id, person)
        if not appraisal.is_current:
            raise Conflict()
        table = workflow_table(session, appraisal.rule_set_version_id)
        target = check_amend(table, facts, person.actor, reason)
        from app.metrics import compute_metrics

        cycle = appraisal.cycle
        version, ruleset = _bind(session, cycle, rebind=False)
        (person_row,) = _people(session, Employee.id == appraisal.employee_id,
                                station_of_appraisal=appraisal.station_id)
        metrics = compute_metrics(session, cycle.start, cycle.end, employee_ids=[appraisal.employee_id],
                                  station_ids=[appraisal.station_id], tag_words=sorted(ruleset.tag_words))
        scorer = _Scorer(cycle, version, ruleset, metrics)
        scored = scorer.score(person_row, appraisal.manual or {}, appraisal.adjustment,
                              appraisal.adjustment_reason)
        now = _now()
        retired = session.execute(
            update(Appraisal).where(Appraisal.id == appraisal.id, Appraisal.is_current.is_(True),
                                    Appraisal.state == facts.state)
            .values(is_current=False, updated_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if retired != 1:
            raise Conflict()
        row = _appraisal_row(cycle.id, version.id, person_row, scored, now,
                             version=appraisal.version + 1, state=target, manual=appraisal.manual,
                             adjustment=appraisal.adjustment, reason=appraisal.adjustment_reason)
        ((new_id, _digest),) = _insert_appraisals(session, [row])
        session.execute(insert(AuditEvent), [
            _event(new_id, person.actor, AMEND, facts.state, target, reason, scored.digest, now),
        ])
        session.commit()
        return session.get(Appraisal, new_id)
    except BaseException:
        session.rollback()
        raise
