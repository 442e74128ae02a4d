"""A cycle's results as one workbook, the same for the API, the screens and ``flask cycle export``.

1. Results: one row per current appraisal (station, employee number, name, position, each indicator's
   value and score in the rule set's order, total, grade, outcomes, incentive amount, state, signed at).
2. Payroll: employee number, name, station and amount of every appraisal with an incentive amount.
3. Distribution: each station's grade counts and shares, the network's, and the policy's breaches.

Headers, state labels and sheet names are in the reader's language. Rows are streamed (app/exports/rows).
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, true
from sqlalchemy.sql.elements import ColumnElement

from ..models import Appraisal, Cycle, Station
from ..rules.items import Indicator
from ..rules.names import unit_label
from ..scoping import Scope, scope_clause
from ..services.errors import Kind, ServiceError
from ..services.rules import ruleset_for_version
from .distribution import distribution_sheet
from .rows import OutcomeTexts, StateLabels, incentive_amount, result_rows
from .sheets import DATETIME, MONEY, NUMBER, SCORE, SHARE, Book, Column


class CycleExportRefused(ServiceError):
    """The caller is neither HR nor a station manager (HTTP 403)."""

    kind = Kind.REFUSED
    default_message = _l("Only HR and station managers may export a cycle's results.")


def cycle_rows_clause(scope: Scope) -> ColumnElement[bool]:
    """The appraisals of a cycle that ``scope`` exports: HR and administrators every one, a station
    manager those of their stations (as far as their scope shows them); anyone else is refused."""
    if scope.everything:
        return true()
    if not scope.station_ids:
        raise CycleExportRefused()
    return Appraisal.station_id.in_(sorted(scope.station_ids)) & scope_clause(Appraisal, scope)


def cycle_indicators(session, cycle: Cycle, where: ColumnElement[bool]) -> list[Indicator]:
    """The indicators the appraisals ``where`` selects carry, in the rule set's order: those of their
    templates and of their stations' SWOT items; the cycle's rule-set version first, then any other
    (an appraisal computed with another version)."""
    used: dict[int, set[str]] = {}
    rulesets: dict = {}  # each version read once, not once per station
    template_code = Appraisal.snapshot[("template", "code")].as_string()
    for version_id, template, station in session.execute(
            select(Appraisal.rule_set_version_id, template_code, Station.code)
            .join(Station, Station.id == Appraisal.station_id).where(where).distinct()):
        ruleset = rulesets.get(version_id)
        if ruleset is None:
            ruleset = rulesets[version_id] = ruleset_for_version(session, version_id)
        codes = used.setdefault(version_id, set())
        for item in ruleset.templates:
            if item.code == template:
                codes.update(line.indicator for line in item.lines)
        for item in ruleset.swot:
            if item.station == station:
                codes.update(line.indicator for line in item.lines)
    versions = sorted(used, key=lambda v: (v != cycle.rule_set_version_id, v))
    found: dict[str, Indicator] = {}
    for version_id in versions:
        for indicator in rulesets[version_id].indicators:
            if indicator.code in used[version_id]:
                found.setdefault(indicator.code, indicator)
    return list(found.values())


def _indicator_columns(indicators: list[Indicator], locale: str) -> list[Column]:
    columns = []
    for indicator in indicators:
        name = indicator.label(locale)
        value = _("%(indicator)s value", indicator=name)
        if indicator.unit and indicator.unit != "%":
            value = _("%(header)s (%(unit)s)", header=value, unit=unit_label(indicator.unit, locale))
        columns.append(Column(value, SHARE if indicator.unit == "%" else NUMBER))
        columns.append(Column(_("%(indicator)s score", indicator=name), SCORE))
    return columns


def cycle_workbook(session, cycle: Cycle, scope: Scope, locale: str, out) -> int:
    """Write the cycle's workbook for a caller of ``scope`` in ``locale`` to ``out`` (a path or a binary
    file); returns how many appraisals it lists. Refuses (:class:`CycleExportRefused`) anyone but HR,
    administrators and station managers."""
    where = (Appraisal.cycle_id == cycle.id) & Appraisal.is_current.is_(True) & cycle_rows_clause(scope)
    with force_locale(locale), Book(out) as book:  # its first bytes are written at once
        indicators = cycle_indicators(session, cycle, where)
        results = book.sheet(_("Results"), [
            Column(_("Station")), Column(_("Employee number")), Column(_("Employee name")),
            Column(_("Position")),
            *_indicator_columns(indicators, locale),
            Column(_("Total"), SCORE), Column(_("Grade"), width=7), Column(_("Outcomes"), width=24),
            Column(_("Incentive amount (yuan)"), MONEY), Column(_("State")), Column(_("Signed at"), DATETIME),
        ])
        payroll = book.sheet(_("Payroll"), [
            Column(_("Employee number")), Column(_("Employee name")), Column(_("Station")),
            Column(_("Amount (yuan)"), MONEY),
        ])
        state_label = StateLabels(session, locale)
        outcome_text = OutcomeTexts(session, locale)
        count = 0
        codes = [indicator.code for indicator in indicators]
        for row in result_rows(session, where):
            by_code = {line.get("code"): line for line in row.lines or [] if isinstance(line, dict)}
            measured = []
            for code in codes:
                line = by_code.get(code) or {}
                measured += [line.get("value"), line.get("score")]  # the columns keep numbers only
            amount = incentive_amount(row.incentive)
            results.append([
                row.station, row.employee_no, row.name, row.position, *measured,
                row.total, row.grade, outcome_text(row), amount,
                state_label(row.state, row.rule_set_version_id), row.signed_at,
            ])
            if amount is not None:
                payroll.append([row.employee_no, row.name, row.station, amount])
            count += 1
        distribution_sheet(book, session, cycle, scope, locale)
        book.save()
    return count

