"""Rule sets in the database: load a rules/ directory, publish, export, edit drafts, what-if.

The only place that combines rule rows, the pure ``app.rules`` package and the metrics. Every
function that changes something is one transaction: it commits at its end or rolls back and raises.

* ``load_dir`` is idempotent: the canonical export is hashed, and content already published makes no
  new version (an older version with that content becomes current again);
* a published version never changes (``PublishedVersionLocked``); editing starts a new draft;
* ``ruleset_for_version`` caches published versions by id and content hash.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    PublishedVersionLocked,
    RuleGradeBand,
    RuleIndicator,
    RuleOutcome,
    RuleSetStatus,
    RuleSetVersion,
    RuleSwotItem,
    RuleSwotLine,
    RuleTemplate,
    RuleTemplateLine,
    Station,
    owning_version,
)
from ..rules import (
    RuleSet,
    content_hash,
    diff_rulesets,
    dump_files,
    evaluate_indicator,
    has_errors,
    indicators_needed,
    line_weight,
    write_dir,
)
from ..rules import load_dir as read_rules_dir
from ..rules.model import Problem, expr_text, norm_expr
from ..workflow import WorkflowTableError


class RuleSetInvalid(Exception):
    """The rule set has errors; nothing was changed. ``problems`` lists every one (warnings too)."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.is_error]
        super().__init__("; ".join(p.render("en") for p in errors[:5]))
        self.problems = problems


class NoRuleSet(LookupError):
    """No rule set has been published yet."""


class NotADraft(Exception):
    """The action needs a draft version (e.g. publishing what is published already)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _json_list(text: str) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def station_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Station.code)))


# ---------------------------------------------------------------------------------------------
# rows ⇄ RuleSet


def indicator_dict(row: RuleIndicator) -> dict:
    """One indicator row as its TOML table."""
    return {
        "code": row.code, "name": row.name, "name_en": row.name_en, "category": row.category,
        "kind": row.kind, "value": norm_expr(row.value_formula) or "", "unit": row.unit,
        "target": norm_expr(row.target) if row.target != "" else "",
        "score": norm_expr(row.score_formula) if row.score_formula != "" else "",
        "direction": row.direction, "description": row.description, "test": _json_list(row.tests),
    }


def template_dict(row: RuleTemplate) -> dict:
    return {
        "code": row.code, "name": row.name, "name_en": row.name_en,
        "positions": _json_list(row.positions), "stations": _json_list(row.stations),
        "segments": _json_list(row.segments), "description": row.description,
        "line": [{"indicator": ln.indicator_code, "weight": norm_expr(ln.weight)} for ln in row.lines],
    }


def swot_dict(row: RuleSwotItem) -> dict:
    return {
        "station": row.station_code, "year": row.year, "kind": row.kind, "title": row.title,
        "positions": _json_list(row.positions), "description": row.description,
        "line": [{"indicator": ln.indicator_code, "weight": norm_expr(ln.weight)} for ln in row.lines],
    }


def grade_dict(row: RuleGradeBand) -> dict:
    return {"grade": row.grade, "label": row.label, "label_en": row.label_en, "min": row.min_total}


def outcome_dict(row: RuleOutcome) -> dict:
    return {
        "code": row.code, "action": row.action, "when": norm_expr(row.condition),
        "coefficient": norm_expr(row.coefficient) if row.coefficient != "" else "",
        "label": row.label, "label_en": row.label_en,
    }


def version_document(version: RuleSetVersion) -> dict:
    """The canonical document of a stored version (see ``RuleSet.from_document``)."""
    try:
        extras = json.loads(version.extras or "{}")
    except ValueError:
        extras = {}
    return {
        "indicator": [indicator_dict(r) for r in version.indicators],
        "template": [template_dict(r) for r in version.templates],
        "grade": [grade_dict(r) for r in version.grade_bands],
        "outcome": [outcome_dict(r) for r in version.outcome_rules],
        "swot": [swot_dict(r) for r in version.swot_items],
        "extras": extras if isinstance(extras, dict) else {},
    }


def ruleset_from_version(version: RuleSetVersion) -> RuleSet:
    """Build the RuleSet of a stored version (draft or published), uncached."""
    ruleset, _ = RuleSet.from_document(version_document(version))
    return ruleset


def _indicator_row(ind, position: int) -> RuleIndicator:
    return RuleIndicator(
        position=position, code=ind.code, name=ind.name, name_en=ind.name_en, category=ind.category,
        kind=ind.kind, value_formula=expr_text(ind.value), unit=ind.unit, target=expr_text(ind.target),
        score_formula=expr_text(ind.score), direction=ind.direction, description=ind.description,
        tests=_dumps([t.to_dict() for t in ind.tests]),
    )


def _line_rows(cls, lines) -> list:
    return [cls(position=i, indicator_code=ln.indicator, weight=expr_text(ln.weight)) for i, ln in enumerate(lines)]


def _grade_rows(ruleset: RuleSet) -> list[RuleGradeBand]:
    return [RuleGradeBand(position=i, grade=g.grade, label=g.label, label_en=g.label_en, min_total=g.min)
            for i, g in enumerate(ruleset.grades)]


def _outcome_rows(ruleset: RuleSet) -> list[RuleOutcome]:
    return [RuleOutcome(position=i, code=o.code, action=o.action, condition=expr_text(o.when),
                        coefficient=expr_text(o.coefficient), label=o.label, label_en=o.label_en)
            for i, o in enumerate(ruleset.outcomes)]


def _fill_version(version: RuleSetVersion, ruleset: RuleSet) -> None:
    version.indicators = [_indicator_row(ind, i) for i, ind in enumerate(ruleset.indicators)]
    version.templates = [
        RuleTemplate(position=i, code=t.code, name=t.name, name_en=t.name_en,
                     positions=_dumps(list(t.positions)), stations=_dumps(list(t.stations)),
                     segments=_dumps(list(t.segments)), description=t.description,
                     lines=_line_rows(RuleTemplateLine, t.lines))
        for i, t in enumerate(ruleset.templates)
    ]
    version.grade_bands, version.outcome_rules = _grade_rows(ruleset), _outcome_rows(ruleset)
    version.swot_items = [
        RuleSwotItem(position=i, station_code=s.station, year=s.year, kind=s.kind, title=s.title,
                     positions=_dumps(list(s.positions)), description=s.description,
                     lines=_line_rows(RuleSwotLine, s.lines))
        for i, s in enumerate(ruleset.swot)
    ]
    version.extras = _dumps(dict(ruleset.extras))


# ---------------------------------------------------------------------------------------------
# reading versions


_cache: OrderedDict[tuple[int, str], RuleSet] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 32


def ruleset_for_version(session: Session, version_id: int) -> RuleSet:
    """The RuleSet of a version. Published versions never change, so theirs is cached (keyed by id and
    content hash, which keeps two databases in one process apart); a draft is read afresh."""
    version = session.get(RuleSetVersion, version_id)
    if version is None:
        raise NoRuleSet(f"no rule set version {version_id}")
    if not version.is_published or not version.content_hash:
        return ruleset_from_version(version)
    key = (version.id, version.content_hash)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    ruleset = ruleset_from_version(version)
    with _cache_lock:
        _cache[key] = ruleset
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return ruleset


def current_version(session: Session) -> RuleSetVersion | None:
    """The published version new cycles use (the one made current last)."""
    return session.scalar(
        select(RuleSetVersion)
        .where(RuleSetVersion.status == RuleSetStatus.published)
        .order_by(RuleSetVersion.current_since.desc().nulls_last(), RuleSetVersion.id.desc())
        .limit(1)
    )


def published_ruleset(session: Session) -> tuple[RuleSetVersion, RuleSet]:
    """The current published version and its RuleSet; NoRuleSet when nothing is published."""
    version = current_version(session)
    if version is None:
        raise NoRuleSet("no rule set has been published; run `flask --app run rules load`")
    return version, ruleset_for_version(session, version.id)


# ---------------------------------------------------------------------------------------------
# check, load, export


def check_ruleset(ruleset: RuleSet, session: Session | None = None) -> list[Problem]:
    """check() with the database's station codes when a session is given, and the workflow table
    (workflow.toml) when the set carries one."""
    stations = station_codes(session) if session is not None else None
    return ruleset.check(station_codes=stations) + workflow_problems(ruleset)


def workflow_problems(ruleset: RuleSet) -> list[Problem]:
    """Every reason the set's workflow.toml is unusable, as problems of that file (a compute would
    refuse the set otherwise, later and less precisely)."""
    from .transitions import WORKFLOW_FILE, table_from_text

    text = ruleset.extras.get(WORKFLOW_FILE)
    if not text:
        return []
    try:
        table_from_text(text)
    except WorkflowTableError as exc:
        return [Problem(WORKFLOW_FILE, where, "", "BAD_WORKFLOW", zh, en) for where, zh, en in exc.problems]
    return []


def check_dir(path: str | Path, session: Session | None = None) -> tuple[RuleSet, list[Problem]]:
    """Parse and check a rules/ directory: (rule set, every problem)."""
    ruleset, problems = read_rules_dir(path)
    if has_errors(problems):  # a shape error makes the formulas' context unreliable: stop here
        return ruleset, problems
    return ruleset, problems + check_ruleset(ruleset, session)


@dataclass
class LoadResult:
    version: RuleSetVersion
    created: bool  # False: the same content was published already
    reactivated: bool = False  # an older version with this content became current again
    problems: list[Problem] = field(default_factory=list)  # warnings


def _next_number(session: Session) -> int:
    return (session.scalar(select(func.max(RuleSetVersion.number))) or 0) + 1


def load_dir(session: Session, path: str | Path, *, user: str = "", note: str = "") -> LoadResult:
    """Load a rules/ directory as the current published version. Refuses a set with any error whole
    (RuleSetInvalid, nothing changed); the same content again makes no new version."""
    ruleset, problems = check_dir(path, session)
    if has_errors(problems):
        raise RuleSetInvalid(problems)
    digest = content_hash(ruleset)
    try:
        existing = session.scalar(
            select(RuleSetVersion)
            .where(RuleSetVersion.status == RuleSetStatus.published, RuleSetVersion.content_hash == digest)
            .order_by(RuleSetVersion.id.desc()).limit(1)
        )
        if existing is not None:
            current = current_version(session)
            reactivated = current is None or current.id != existing.id
            if reactivated:
                existing.current_since = _now()
                session.commit()
            return LoadResult(existing, False, reactivated, problems)
        now = _now()
        current = current_version(session)
        version = RuleSetVersion(
            number=_next_number(session), status=RuleSetStatus.published, content_hash=digest,
            based_on=current, note=note or f"loaded from {Path(path).name or path}", created_at=now,
            created_by=user, published_at=now, published_by=user, current_since=now,
        )
        _fill_version(version, ruleset)
        session.add(version)
        session.commit()
        return LoadResult(version, True, False, problems)
    except Exception:
        session.rollback()
        raise


def export_version(session: Session, path: str | Path, version_id: int | None = None) -> list[Path]:
    """Write a version (default: the current one) as a rules/ directory; returns the files."""
    if version_id is None:
        version, ruleset = published_ruleset(session)
    else:
        ruleset = ruleset_for_version(session, version_id)
    return write_dir(ruleset, path)


def export_files(session: Session, version_id: int) -> dict[str, str]:
    """The canonical files of a version (for a download)."""
    return dump_files(ruleset_for_version(session, version_id))


# ---------------------------------------------------------------------------------------------
# drafts and publishing


def new_draft(session: Session, *, based_on_id: int | None = None, user: str = "") -> RuleSetVersion:
    """A new draft holding a copy of the published version ``based_on_id`` (default: the current
    version, else empty). A draft is never based on a draft, so discarding a draft orphans nothing."""
    try:
        base = session.get(RuleSetVersion, based_on_id) if based_on_id else current_version(session)
        if based_on_id and (base is None or not base.is_published):
            raise NoRuleSet(f"no published rule set version {based_on_id}")
        version = RuleSetVersion(
            number=_next_number(session), status=RuleSetStatus.draft, based_on=base,
            created_at=_now(), created_by=user, note="",
        )
        _fill_version(version, ruleset_from_version(base) if base is not None else RuleSet())
        session.add(version)
        session.commit()
        return version
    except Exception:
        session.rollback()
        raise


def draft_or_raise(session: Session, version_id: int) -> RuleSetVersion:
    version = session.get(RuleSetVersion, version_id)
    if version is None:
        raise NoRuleSet(f"no rule set version {version_id}")
    if version.is_published:
        raise PublishedVersionLocked(version.number)
    return version


def delete_draft(session: Session, version_id: int) -> None:
    version = draft_or_raise(session, version_id)
    try:
        session.delete(version)
        session.commit()
    except Exception:
        session.rollback()
        raise


@dataclass
class PublishResult:
    version: RuleSetVersion
    previous: RuleSetVersion | None
    diff: list[dict]
    problems: list[Problem]  # warnings


def publish_preview(session: Session, version_id: int) -> tuple[RuleSet, list[Problem], RuleSetVersion | None, list[dict]]:
    """What publishing would do: (rule set, problems, version it replaces, diff against it)."""
    version = draft_or_raise(session, version_id)
    ruleset = ruleset_from_version(version)
    problems = check_ruleset(ruleset, session)
    previous = current_version(session)
    old = ruleset_for_version(session, previous.id) if previous is not None else None
    return ruleset, problems, previous, diff_rulesets(old, ruleset)


def publish(session: Session, version_id: int, *, user: str = "", note: str = "") -> PublishResult:
    """Publish a draft (it becomes current). Refused with RuleSetInvalid when check() finds an error,
    a failing test case included; with NotADraft when it is published already."""
    try:
        version = session.get(RuleSetVersion, version_id)
        if version is None:
            raise NoRuleSet(f"no rule set version {version_id}")
        if version.is_published:
            raise NotADraft(f"version {version.number} is published already")
        ruleset, problems, previous, diff = publish_preview(session, version_id)
        if has_errors(problems):
            raise RuleSetInvalid(problems)
        now = _now()
        version.status = RuleSetStatus.published
        version.content_hash = content_hash(ruleset)
        version.published_at, version.published_by, version.current_since = now, user, now
        if note:
            version.note = note
        session.commit()
        return PublishResult(version, previous, diff, problems)
    except Exception:
        session.rollback()
        raise


# ---------------------------------------------------------------------------------------------
# what-if


class WhatIfError(Exception):
    """The what-if cannot run (no such cycle, metrics unavailable); the message says why."""


def cycle_names(session: Session) -> list[str]:
    """Names of the cycles, newest first (for the what-if screen)."""
    from ..models.appraisal import Cycle

    return list(session.scalars(select(Cycle.name).order_by(Cycle.start.desc(), Cycle.id.desc())))


def _ruleset_of(session: Session, source: str | Path | int) -> RuleSet:
    if isinstance(source, int):
        return ruleset_for_version(session, source)
    ruleset, problems = check_dir(source, session)
    if has_errors(problems):
        raise RuleSetInvalid(problems)
    return ruleset


def whatif(session: Session, source: str | Path | int, cycle_name: str, *, locale: str = "zh_CN") -> dict:
    """Rescore a past cycle's employees with a rule set (a directory or a version id), changing nothing.

    Old figures are the cycle's current appraisals (total, grade); new ones come from the same period's
    metrics, the supervisor's manual values and adjustment of each appraisal, and ``source``. Returns
    {"cycle", "employees": [{"employee_no", "name", "station", "old_total", "old_grade", "new_total",
    "new_grade", "delta"}], "distribution": {"before": {grade: n}, "after": {grade: n}}, "changed"}.
    """
    from ..models.appraisal import Appraisal, Cycle
    from ..rules import EmployeeFacts

    cycle = session.scalar(select(Cycle).where(Cycle.name == cycle_name))
    if cycle is None:
        raise WhatIfError(f"no cycle named {cycle_name!r}")
    ruleset = _ruleset_of(session, source)
    appraisals = list(session.scalars(
        select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))
    ))
    try:
        metrics = _compute_metrics()(
            session, cycle.start, cycle.end, employee_ids=sorted({a.employee_id for a in appraisals}),
            station_ids=sorted({a.station_id for a in appraisals}), tag_words=tuple(sorted(ruleset.tag_words)),
        )
    except MetricsUnavailable as exc:
        raise WhatIfError("the metrics are not available") from exc
    rows = []
    for appraisal in appraisals:
        employee, station = appraisal.employee, appraisal.station
        segment = station.segment.value if hasattr(station.segment, "value") else str(station.segment)
        facts = EmployeeFacts(employee.employee_no, employee.name, employee.position, station.code,
                              station.name, segment)
        result = ruleset.appraise(
            facts, metrics.variables_for(employee.id, station.id), metrics.tags.get(employee.id, {}),
            dict(appraisal.manual or {}), appraisal.adjustment or 0.0, year=cycle.start.year, locale=locale,
        )
        old, new = appraisal.total, result.total
        rows.append({
            "employee_no": employee.employee_no, "name": employee.name, "station": station.code,
            "old_total": old, "old_grade": appraisal.grade, "new_total": new, "new_grade": result.grade,
            "delta": round(new - old, 2) if old is not None and new is not None else None,
        })
    rows.sort(key=lambda r: r["employee_no"])
    order = [g.grade for g in sorted(ruleset.grades, key=lambda g: g.min, reverse=True)]
    for row in rows:
        if row["old_grade"] and row["old_grade"] not in order:
            order.append(row["old_grade"])

    def distribution(key: str) -> dict[str, int]:
        counts = dict.fromkeys(order, 0)
        for row in rows:
            grade = row[key] or "N/A"
            counts[grade] = counts.get(grade, 0) + 1
        return counts

    return {
        "cycle": {"name": cycle.name, "start": cycle.start.isoformat(), "end": cycle.end.isoformat()},
        "employees": rows,
        "distribution": {"before": distribution("old_grade"), "after": distribution("new_grade")},
        "changed": sum(1 for r in rows if r["old_total"] != r["new_total"] or r["old_grade"] != r["new_grade"]),
    }


def replace_grades(session: Session, version_id: int, grades: list[dict], outcomes: list[dict]) -> None:
    """Replace a draft's grade bands and outcome rules (tables as in grades.toml) in one transaction;
    RuleRefused with every error about them."""
    try:
        version = draft_or_raise(session, version_id)
        doc = version_document(version)
        doc["grade"] = [{k: (norm_expr(v) if k == "min" else v) for k, v in g.items()} for g in grades]
        doc["outcome"] = [{k: (norm_expr(v) if k in ("when", "coefficient") else v) for k, v in o.items()}
                          for o in outcomes]
        ruleset, problems = RuleSet.from_document(doc)
        if not has_errors(problems):
            problems += ruleset.check()
        errors = [p for p in problems if p.is_error and p.item.split(" ")[0] in ("grade", "grades", "outcome")
                  or (p.is_error and p.file == "grades.toml")]
        if errors:
            raise RuleRefused(errors)
        # Delete the old rows first: the new ones may reuse their unique grade and code.
        version.grade_bands, version.outcome_rules = [], []
        session.flush()
        version.grade_bands, version.outcome_rules = _grade_rows(ruleset), _outcome_rows(ruleset)
        session.commit()
    except Exception:
        session.rollback()
        raise


def versions(session: Session) -> list[RuleSetVersion]:
    return list(session.scalars(select(RuleSetVersion).order_by(RuleSetVersion.number.desc())))


def problem_lines(problems: Iterable[Problem], locale: str = "zh_CN") -> list[str]:
    return [f"{'ERROR' if p.is_error else 'warning'} {p.render(locale)}" for p in problems]


# ---------------------------------------------------------------------------------------------
# editing a draft row by row (REST API and editor)


class RuleRefused(Exception):
    """A row was refused; ``problems`` are its errors (the engine's for a broken formula)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.render("en") for p in problems[:3]))
        self.problems = problems


def _strict_tests(row: RuleIndicator) -> list[Problem]:
    try:
        tests = json.loads(row.tests or "[]")
    except ValueError:
        tests = None
    if not isinstance(tests, list):
        return [Problem("indicators.toml", f"indicator {row.code}", "test", "BAD_VALUE",
                        "测试用例应为 JSON 列表", "the test cases must be a JSON list")]
    return []


def _substituted(collection: list, row, to_dict) -> tuple[list[dict], int]:
    """The collection's tables with ``row`` in its place (or appended); and its index."""
    tables, index = [], None
    for i, other in enumerate(collection):
        if other is row or (row.id is not None and other.id == row.id):
            tables.append(to_dict(row))
            index = i
        else:
            tables.append(to_dict(other))
    if index is None:
        tables.append(to_dict(row))
        index = len(tables) - 1
    return tables, index


def validate_row(session: Session, row) -> list[Problem]:
    """The errors that saving ``row`` into its (draft) version would introduce for that row's item.

    Raises PublishedVersionLocked for a published version and NoRuleSet for a missing one."""
    with session.no_autoflush:
        version = owning_version(session, row)
        if version is None:
            raise NoRuleSet("the rule set version does not exist")
        if version.is_published:
            raise PublishedVersionLocked(version.number)
        doc = version_document(version)
        if isinstance(row, RuleIndicator):
            early = _strict_tests(row)
            if early:
                return early
            doc["indicator"], _ = _substituted(version.indicators, row, indicator_dict)
            items = {f"indicator {row.code}", "indicators"}
        elif isinstance(row, RuleTemplate):
            doc["template"], _ = _substituted(version.templates, row, template_dict)
            items = {f"template {row.code}"}
        elif isinstance(row, RuleTemplateLine):
            template = row.template or session.get(RuleTemplate, row.template_id)
            lines = [ln for ln in template.lines if ln is not row and (row.id is None or ln.id != row.id)]
            table = template_dict(template)
            table["line"] = [{"indicator": ln.indicator_code, "weight": norm_expr(ln.weight)}
                             for ln in sorted([*lines, row], key=lambda ln: ln.position or 0)]
            doc["template"] = [table if t["code"] == template.code else t for t in doc["template"]]
            items = {f"template {template.code}"}
        elif isinstance(row, RuleSwotItem | RuleSwotLine):
            item = row if isinstance(row, RuleSwotItem) else (row.item or session.get(RuleSwotItem, row.swot_item_id))
            if isinstance(row, RuleSwotLine):
                lines = [ln for ln in item.lines if ln is not row and (row.id is None or ln.id != row.id)]
                table = swot_dict(item)
                table["line"] = [{"indicator": ln.indicator_code, "weight": norm_expr(ln.weight)}
                                 for ln in sorted([*lines, row], key=lambda ln: ln.position or 0)]
                tables, index = _substituted(version.swot_items, item, lambda r: table if r is item else swot_dict(r))
            else:
                tables, index = _substituted(version.swot_items, item, swot_dict)
            doc["swot"] = tables
            entry = tables[index]
            items = {f"swot {entry['station']} {entry['year']} {entry['kind']} #{index + 1}"}
        elif isinstance(row, RuleGradeBand):
            doc["grade"], _ = _substituted(version.grade_bands, row, grade_dict)
            items = {f"grade {row.grade}", "grades"}
        elif isinstance(row, RuleOutcome):
            doc["outcome"], _ = _substituted(version.outcome_rules, row, outcome_dict)
            items = {f"outcome {row.code}"}
        else:  # pragma: no cover - every rule row is handled above
            raise TypeError(type(row).__name__)
    ruleset, problems = RuleSet.from_document(doc)
    if not has_errors(problems):
        problems = problems + ruleset.check(station_codes=None)
    position = getattr(row, "position", 0)
    if not isinstance(position, int) or not 0 <= position < 2**31:
        problems.append(Problem("", next(iter(items)), "position", "BAD_VALUE", "位置应为非负整数",
                                "the position must be a whole number ≥ 0"))
    # A template is stored before its lines (the REST API adds them one by one): EMPTY blocks publishing only.
    return [p for p in problems if p.is_error and p.code != "EMPTY" and (p.item in items or any(
        p.item.startswith(i + " ") for i in items))]


def save_row(session: Session, row) -> None:
    """Validate and store one row of a draft in one transaction; RuleRefused with its errors."""
    try:
        problems = validate_row(session, row)
        if problems:
            raise RuleRefused(problems)
        session.add(row)
        session.commit()
    except Exception:
        session.rollback()
        raise


def ensure_deletable(session: Session, row) -> None:
    """Raise PublishedVersionLocked for a published version's row, RuleRefused (IN_USE) for an
    indicator that a template or SWOT item still uses."""
    version = owning_version(session, row)
    if version is not None and version.is_published:
        raise PublishedVersionLocked(version.number)
    if isinstance(row, RuleIndicator) and version is not None:
        users = [t.code for t in version.templates if any(ln.indicator_code == row.code for ln in t.lines)]
        users += [f"SWOT {s.station_code} {s.kind} {s.title}" for s in version.swot_items
                  if any(ln.indicator_code == row.code for ln in s.lines)]
        if users:
            raise RuleRefused([Problem(
                "indicators.toml", f"indicator {row.code}", "code", "IN_USE",
                f"指标仍被使用：{'、'.join(users)}", f"the indicator is still used by: {', '.join(users)}")])


def delete_row(session: Session, row) -> None:
    """Delete one row of a draft in one transaction (see ``ensure_deletable``)."""
    try:
        ensure_deletable(session, row)
        session.delete(row)
        session.commit()
    except Exception:
        session.rollback()
        raise


# ---------------------------------------------------------------------------------------------
# the editor's previews: real data through the metrics


class MetricsUnavailable(Exception):
    """The metrics module is not installed yet (or failed); previews need it."""


def _compute_metrics():
    try:
        from ..metrics import compute_metrics
    except ImportError as exc:  # the metrics are another area's; tolerate their absence
        raise MetricsUnavailable(str(exc)) from exc
    return compute_metrics


def employee_variables(session: Session, employee, start: dt.date, end: dt.date, tag_words=()):
    """(variables, tags) of one employee and period, through app.metrics."""
    metrics = _compute_metrics()(session, start, end, employee_ids=[employee.id],
                                 station_ids=[employee.station_id], tag_words=tuple(sorted(tag_words)))
    return metrics.variables_for(employee.id, employee.station_id), dict(metrics.tags.get(employee.id, {}))


def preview_indicator(session: Session, ruleset: RuleSet, indicator, employee, start: dt.date, end: dt.date,
                      *, locale: str = "zh_CN") -> dict:
    """Value, target, score and explanation of ``indicator`` (which may be unsaved) for a real
    employee and period. Other indicators it reads are evaluated first from ``ruleset``."""
    others = tuple(i for i in ruleset.indicators if i.code != indicator.code)
    trial = RuleSet(indicators=(*others, indicator), templates=ruleset.templates, grades=ruleset.grades,
                    outcomes=ruleset.outcomes, swot=ruleset.swot)
    variables, tags = employee_variables(session, employee, start, end, trial.tag_words)
    values: dict[str, Any] = dict(variables)
    result = None
    for code in indicators_needed(trial, [indicator.code]):
        result = evaluate_indicator(trial, trial.indicator(code), values, tags, locale)
        values[code] = result.value
    used = {name: values.get(name) for name in sorted(result.names)} if result else {}
    return {
        "value": result.value, "target": result.target, "score": result.score, "na": result.na,
        "explain": result.explain(locale),
        "error": result.error.to_dict(locale) | {"field": result.error_field} if result.error else None,
        "variables": used,
    }


def weight_table(session: Session, ruleset: RuleSet, template, start: dt.date, end: dt.date,
                 *, locale: str = "zh_CN") -> dict:
    """The template's weights at every station (formulas evaluated over each station's metrics of the
    period, or with no data when the metrics are unavailable): nominal, normalised to 100, and sums."""
    stations = list(session.scalars(select(Station).order_by(Station.code)))
    station_values: dict[int, dict] = {s.id: {} for s in stations}
    available = True
    try:
        metrics = _compute_metrics()(session, start, end, employee_ids=[], station_ids=[s.id for s in stations])
        for s in stations:
            station_values[s.id] = {f"station_{k}": v for k, v in metrics.stations.get(s.id, {}).items()}
    except MetricsUnavailable:
        available = False
    columns = []
    for s in stations:
        segment = s.segment.value if hasattr(s.segment, "value") else str(s.segment)
        weights = []
        for line in template.lines:
            indicator = ruleset.indicator(line.indicator)
            name = indicator.label(locale) if indicator else line.indicator
            weight, note, _ = line_weight(ruleset, line, station_values[s.id], {}, name, locale.startswith("en"), locale)
            weights.append({"weight": round(weight, 2), "note": note})
        total = sum(w["weight"] for w in weights)
        for w in weights:
            w["effective"] = round(w["weight"] / total * 100, 2) if total else 0.0
        columns.append({
            "code": s.code, "name": s.name, "segment": segment,
            "applies": (not template.stations or s.code in template.stations)
            and (not template.segments or segment in template.segments),
            "weights": weights, "sum": round(total, 2),
        })
    return {"columns": columns, "metrics_available": available}
