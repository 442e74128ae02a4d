"""The appraisal rows every results workbook reads, streamed: one query, read in chunks.

Only the parts of the snapshot a sheet shows are read (its lines, outcomes and incentive), so a row
costs what its cells cost and memory stays flat however many rows there are.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from ..locales import is_english
from ..models import Appraisal, Cycle, Employee, SignedPdf, Station
from ..rules.names import outcome_texts
from ..rules.pools import stored_money
from ..services.rules import ruleset_for_version
from ..services.workflows import workflow_table

CHUNK = 500  # rows fetched from the database at a time


def result_rows(session, where: ColumnElement[bool], order_by=None, *, lines: bool = True) -> Iterator:
    """Rows of the appraisals ``where`` selects (joined with their cycle, employee, station and the
    signed PDF's time), in ``order_by`` (default: station code, employee number), fetched in chunks.

    Each row has ``id, cycle, station, station_name, employee_no, name, position, state, total, grade,
    version, is_current, rule_set_version_id, outcomes, outcome_details, incentive, signed_at`` and, with
    ``lines``,
    ``lines`` (the snapshot's indicator lines)."""
    columns = [
        Appraisal.id, Cycle.name.label("cycle"), Station.code.label("station"),
        Station.name.label("station_name"), Employee.employee_no, Employee.name, Employee.position,
        Appraisal.state, Appraisal.total, Appraisal.grade, Appraisal.version, Appraisal.is_current,
        Appraisal.rule_set_version_id, Appraisal.snapshot["outcomes"].label("outcomes"),
        Appraisal.snapshot["outcome_details"].label("outcome_details"),
        Appraisal.snapshot["incentive"].label("incentive"), SignedPdf.signed_at,
    ]
    if lines:
        columns.append(Appraisal.snapshot["lines"].label("lines"))
    query = (select(*columns)
             .join(Cycle, Cycle.id == Appraisal.cycle_id)
             .join(Employee, Employee.id == Appraisal.employee_id)
             .join(Station, Station.id == Appraisal.station_id)
             .outerjoin(SignedPdf, SignedPdf.appraisal_id == Appraisal.id)
             .where(where)
             .order_by(*(order_by if order_by is not None else (Station.code, Employee.employee_no)),
                       Appraisal.id)
             .execution_options(yield_per=CHUNK))
    yield from session.execute(query)


def incentive_amount(incentive) -> Decimal | None:
    """The incentive amount of a snapshot's ``incentive`` part (None without one)."""
    return stored_money(incentive.get("amount")) if isinstance(incentive, dict) else None


def outcomes_text(outcomes, locale: str) -> str:
    """The outcomes a snapshot lists, as one cell."""
    if not isinstance(outcomes, list):
        return ""
    return ("; " if is_english(locale) else "；").join(str(o) for o in outcomes if o)


class OutcomeTexts:
    """A row's outcomes as one cell in the reader's language, named by the rules of its rule-set version
    (the snapshot keeps the texts of the language it was computed in)."""

    def __init__(self, session, locale: str) -> None:
        self.session = session
        self.locale = locale
        self.rulesets: dict = {}  # once per workbook, not a lookup of the version per row

    def __call__(self, row) -> str:
        texts = None
        version_id = row.rule_set_version_id
        if version_id is not None:
            ruleset = self.rulesets.get(version_id)
            if ruleset is None:
                ruleset = self.rulesets[version_id] = ruleset_for_version(self.session, version_id)
            texts = outcome_texts(row.outcomes, row.outcome_details, ruleset, self.locale)
        return outcomes_text(row.outcomes if texts is None else texts, self.locale)


class StateLabels:
    """A state's label in the reader's language, from the workflow table of each rule-set version."""

    def __init__(self, session, locale: str) -> None:
        self.session = session
        self.locale = locale
        self.tables: dict = {}

    def __call__(self, state, rule_set_version_id: int | None) -> str:
        state = getattr(state, "value", state)
        table = self.tables.get(rule_set_version_id)
        if table is None:
            table = self.tables[rule_set_version_id] = workflow_table(self.session, rule_set_version_id)
        return table.state_label(state, self.locale)
