"""Editing a draft row by row (the REST API and the editor): validate, save, delete."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from ...models import (
    PublishedVersionLocked,
    RuleGradeBand,
    RuleIndicator,
    RuleOutcome,
    RuleSetVersion,
    RuleSwotItem,
    RuleSwotLine,
    RuleTemplate,
    RuleTemplateLine,
    owning_version,
)
from ...rules import (
    RuleSet,
    has_errors,
)
from ...rules.forms import split_list
from ...rules.model import Problem, expr_text, norm_expr
from .errors import NoRuleSet, RuleRefused
from .store import (
    dumps,
    grade_dict,
    indicator_dict,
    outcome_dict,
    swot_dict,
    template_dict,
    version_document,
)


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
        if version is None or version.is_discarded:  # a discarded draft changes only once restored
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
            item = (row if isinstance(row, RuleSwotItem)
                    else row.item or session.get(RuleSwotItem, row.swot_item_id))
            if isinstance(row, RuleSwotLine):
                lines = [ln for ln in item.lines if ln is not row and (row.id is None or ln.id != row.id)]
                table = swot_dict(item)
                table["line"] = [{"indicator": ln.indicator_code, "weight": norm_expr(ln.weight)}
                                 for ln in sorted([*lines, row], key=lambda ln: ln.position or 0)]
                tables, index = _substituted(version.swot_items, item,
                                             lambda r: table if r is item else swot_dict(r))
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
    if version is not None and version.is_discarded:
        raise NoRuleSet("the rule set version does not exist")
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


def save_indicator(session: Session, version: RuleSetVersion, row: RuleIndicator | None, fields: dict,
                   tests: list[dict]) -> RuleIndicator:
    """Fill an indicator of a draft (a new one when ``row`` is None) from the editor's fields and test
    tables, and store it (``save_row``): RuleRefused with its errors."""
    if row is None:
        row = RuleIndicator(version_id=version.id, position=len(version.indicators))
    row.code, row.name, row.name_en = fields["code"], fields["name"], fields["name_en"]
    row.category, row.kind, row.direction = fields["category"], fields["kind"], fields["direction"]
    row.value_formula = fields["value"] if fields["kind"] != "manual" else ""
    row.unit, row.description = fields["unit"], fields["description"]
    row.target, row.score_formula = expr_text(norm_expr(fields["target"]) or ""), fields["score"]
    row.tests = dumps(tests)
    save_row(session, row)
    return row


def save_template(session: Session, version: RuleSetVersion, row: RuleTemplate | None, fields: dict,
                  lines: list[dict]) -> RuleTemplate:
    """Fill a template of a draft (a new one when ``row`` is None) and its weighted lines, and store it."""
    if row is None:
        row = RuleTemplate(version_id=version.id, position=len(version.templates))
    row.code, row.name, row.name_en = fields["code"], fields["name"], fields["name_en"]
    row.description, row.positions = fields["description"], dumps(split_list(fields["positions"]))
    row.stations, row.segments = dumps(fields["stations"]), dumps(fields["segments"])
    with session.no_autoflush:
        row.lines = [RuleTemplateLine(position=n, indicator_code=ln["indicator"], weight=ln["weight"])
                     for n, ln in enumerate(lines)]
    save_row(session, row)
    return row


def save_swot_item(session: Session, version: RuleSetVersion, row: RuleSwotItem | None, station_code: str,
                   fields: dict, lines: list[tuple[str, str]]) -> RuleSwotItem:
    """Fill a SWOT item of a draft (a new one at ``station_code`` when ``row`` is None) and its lines,
    and store it."""
    if row is None:
        row = RuleSwotItem(version_id=version.id, position=len(version.swot_items), station_code=station_code)
    row.year, row.kind = fields["year"], fields["kind"]
    row.title, row.description = fields["title"], fields["description"]
    row.positions = dumps(split_list(fields["positions"]))
    with session.no_autoflush:
        row.lines = [RuleSwotLine(position=n, indicator_code=i, weight=w) for n, (i, w) in enumerate(lines)]
    save_row(session, row)
    return row


def weight_warnings(row: RuleTemplate | RuleSwotItem) -> list[Problem]:
    """The warnings about a saved template's or SWOT item's weights (e.g. a weight formula reading a
    personal metric), for the editor to show beside "saved"."""
    version = row.version
    ruleset, _ = RuleSet.from_document(version_document(version))
    if isinstance(row, RuleTemplate):
        item = f"template {row.code}"
    else:
        item = f"swot {row.station_code} {row.year} {row.kind} #{version.swot_items.index(row) + 1}"
    return [p for p in ruleset.check(station_codes=None)
            if not p.is_error and p.item == item and p.field.endswith(" weight")]
