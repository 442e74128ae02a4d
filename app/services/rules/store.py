"""Stored rule-set versions: rows to a RuleSet and back, the cache of published ones, the current one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import weakref

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ...kept import Kept
from ...models import (
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
)
from ...rules import (
    RuleSet,
)
from ...rules.model import expr_text, norm_expr
from .errors import NoRuleSet


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def next_number(session: Session) -> int:
    return (session.scalar(select(func.max(RuleSetVersion.number))) or 0) + 1


def json_list(text: str) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def station_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Station.code)))


def indicator_dict(row: RuleIndicator) -> dict:
    """One indicator row as its TOML table."""
    return {
        "code": row.code, "name": row.name, "name_en": row.name_en, "category": row.category,
        "kind": row.kind, "value": norm_expr(row.value_formula) or "", "unit": row.unit,
        "target": norm_expr(row.target) if row.target != "" else "",
        "score": norm_expr(row.score_formula) if row.score_formula != "" else "",
        "direction": row.direction, "description": row.description, "test": json_list(row.tests),
    }


def template_dict(row: RuleTemplate) -> dict:
    return {
        "code": row.code, "name": row.name, "name_en": row.name_en,
        "positions": json_list(row.positions), "stations": json_list(row.stations),
        "segments": json_list(row.segments), "description": row.description,
        "line": [{"indicator": ln.indicator_code, "weight": norm_expr(ln.weight)} for ln in row.lines],
    }


def swot_dict(row: RuleSwotItem) -> dict:
    return {
        "station": row.station_code, "year": row.year, "kind": row.kind, "title": row.title,
        "positions": json_list(row.positions), "description": row.description,
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
        tests=dumps([t.to_dict() for t in ind.tests]),
    )


def _line_rows(cls, lines) -> list:
    return [cls(position=i, indicator_code=ln.indicator, weight=expr_text(ln.weight))
            for i, ln in enumerate(lines)]


def grade_rows(ruleset: RuleSet) -> list[RuleGradeBand]:
    return [RuleGradeBand(position=i, grade=g.grade, label=g.label, label_en=g.label_en, min_total=g.min)
            for i, g in enumerate(ruleset.grades)]


def outcome_rows(ruleset: RuleSet) -> list[RuleOutcome]:
    return [RuleOutcome(position=i, code=o.code, action=o.action, condition=expr_text(o.when),
                        coefficient=expr_text(o.coefficient), label=o.label, label_en=o.label_en)
            for i, o in enumerate(ruleset.outcomes)]


def fill_version(version: RuleSetVersion, ruleset: RuleSet) -> None:
    version.indicators = [_indicator_row(ind, i) for i, ind in enumerate(ruleset.indicators)]
    version.templates = [
        RuleTemplate(position=i, code=t.code, name=t.name, name_en=t.name_en,
                     positions=dumps(list(t.positions)), stations=dumps(list(t.stations)),
                     segments=dumps(list(t.segments)), description=t.description,
                     lines=_line_rows(RuleTemplateLine, t.lines))
        for i, t in enumerate(ruleset.templates)
    ]
    version.grade_bands, version.outcome_rules = grade_rows(ruleset), outcome_rows(ruleset)
    version.swot_items = [
        RuleSwotItem(position=i, station_code=s.station, year=s.year, kind=s.kind, title=s.title,
                     positions=dumps(list(s.positions)), description=s.description,
                     lines=_line_rows(RuleSwotLine, s.lines))
        for i, s in enumerate(ruleset.swot)
    ]
    version.extras = dumps(dict(ruleset.extras))


# Parsed rule sets: (version id, content hash) → RuleSet. A published version's hash is its export's; a
# draft's is the digest of the document its rows make now, so a changed draft is another key.
_rulesets: Kept[tuple[int, str], RuleSet] = Kept(32)

# Per database (its engine): published version id → content hash. A published version never changes and
# is never deleted (the ``before_flush`` guard of ``app.models.rules``), so once read its hash holds for
# the life of the engine, and its rule set is found without a statement. Learnt only from a session that
# has written nothing in its transaction (a version published there is not published until it commits).
# Written under ``_published_lock``; read without it (a hash once learnt never changes).
_published: weakref.WeakKeyDictionary[Engine, dict[int, str]] = weakref.WeakKeyDictionary()
_published_lock = threading.Lock()


@event.listens_for(Session, "after_flush")
def _wrote(session: Session, _flush_context) -> None:
    session.info["jixiao_rules_wrote"] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("jixiao_rules_wrote", None)


def _draft_digest(document: dict) -> str:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return "draft:" + hashlib.sha256(text.encode()).hexdigest()


def ruleset_and_hash(session: Session, version_id: int) -> tuple[RuleSet, str | None]:
    """The RuleSet of a version and its content hash when it is published (None for a draft). A
    published version known to this process is answered without a statement; a draft's rows are read
    every time and parsed only when they changed."""
    engine = session.get_bind()
    known = _published.get(engine)
    digest = known.get(version_id) if known is not None else None
    if digest is not None:
        hit = _rulesets.get((version_id, digest))
        if hit is not None:
            return hit, digest
    version = session.get(RuleSetVersion, version_id)
    if version is None:
        raise NoRuleSet(f"no rule set version {version_id}")
    if not version.is_published or not version.content_hash:
        document = version_document(version)
        return _rulesets.get_or_build((version.id, _draft_digest(document)),
                                      lambda: RuleSet.from_document(document)[0]), None
    digest = version.content_hash
    if not session.info.get("jixiao_rules_wrote") and not session.is_modified(version):
        with _published_lock:
            _published.setdefault(engine, {})[version.id] = digest
    return _rulesets.get_or_build((version.id, digest), lambda: ruleset_from_version(version)), digest


def ruleset_for_version(session: Session, version_id: int) -> RuleSet:
    """The RuleSet of a version (see :func:`ruleset_and_hash`): published ones kept by id and content
    hash, which keeps two databases in one process apart; a draft by id and the digest of its rows."""
    return ruleset_and_hash(session, version_id)[0]


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


def versions(session: Session) -> list[RuleSetVersion]:
    """The versions, newest first, without the discarded drafts."""
    return list(session.scalars(select(RuleSetVersion).where(RuleSetVersion.discarded_at.is_(None))
                                .order_by(RuleSetVersion.number.desc())))
