"""One way to score an employee with a rule set: compute, amendment, review edits and what-if all use it.

:class:`Appraisee` is who is scored (plain data); :class:`Scorer` turns an appraisee, the variables
and the review inputs into an ``AppraisalResult`` and, for storing, into the snapshot's canonical
JSON and hash. Both hold plain data only, so scoring also runs in a forked worker (no database, no
app context).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from sqlalchemy import select

from ..locales import default_locale
from ..metrics import CODES
from ..models import Employee, Station
from ..rules import AppraisalResult, EmployeeFacts
from .snapshot import CycleFacts, build_snapshot, canonical_bytes, company_name


@dataclass(frozen=True)
class Appraisee:
    """An employee as scored: who, and the station the appraisal belongs to."""

    id: int | None
    no: str
    name: str
    position: str
    station_id: int | None
    station_code: str
    station_name: str
    segment: str
    bonus_base: Decimal | None = None  # yuan per month, for the incentive formula

    def facts(self) -> EmployeeFacts:
        return EmployeeFacts(self.no, self.name, self.position, self.station_code, self.station_name,
                             self.segment, bonus_base=self.bonus_base)

    def station(self) -> dict:
        return {"code": self.station_code, "name": self.station_name, "segment": self.segment}

    @classmethod
    def from_snapshot(cls, snapshot: Mapping) -> Appraisee:
        """The appraisee a stored snapshot names (for rescoring it from its own inputs)."""
        employee, station = snapshot["employee"], snapshot["station"]
        return cls(None, employee["no"], employee["name"], employee["position"], None, station["code"],
                   station["name"], station["segment"], stored_money(employee.get("bonus_base")))

    @classmethod
    def from_rows(cls, employee: Employee, station: Station) -> Appraisee:
        """The appraisee of an employee row at a station row."""
        segment = station.segment.value if hasattr(station.segment, "value") else str(station.segment)
        return cls(employee.id, employee.employee_no, employee.name, employee.position, station.id,
                   station.code, station.name, segment, employee.bonus_base)


def stored_money(text) -> Decimal | None:
    """An amount as a snapshot stores it (a string such as "2000.00"), or None."""
    if text is None or text == "":
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None


def appraisees(session, *where, station_of_appraisal: int | None = None) -> list[Appraisee]:
    """Employees matching ``where`` with their station (their current one, or ``station_of_appraisal``)."""
    station_id = Employee.station_id if station_of_appraisal is None else station_of_appraisal
    query = (
        select(Employee.id, Employee.employee_no, Employee.name, Employee.position,
               Station.id.label("station_id"), Station.code, Station.name.label("station_name"),
               Station.segment, Employee.bonus_base)
        .join(Station, Station.id == station_id)
        .where(*where)
        .order_by(Employee.employee_no)
    )
    # rows unpacked by position: reading nine columns by name is most of the time for ten thousand people
    return [Appraisee(ident, no, name, position, station, code, station_name, segment.value, bonus_base)
            for ident, no, name, position, station, code, station_name, segment, bonus_base
            in session.execute(query)]


def steady(value):
    """A metric rounded to 12 significant digits. A database sums floats in its scan order, which
    changes when rows move (PostgreSQL after an UPDATE); the last bits then differ from run to run.
    Rounding them away keeps a result a function of the data, so a recompute without changes shows
    none and a rerun after a crash converges to the same snapshot hashes."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.12g}")
    return value


def steady_stations(metrics) -> None:
    """Round the stations' fetched metrics once (see :func:`steady`), before anything reads them; an
    employee's are rounded as they are read (:meth:`Scorer.variables`)."""
    for values in metrics.stations.values():
        for code, value in values.items():
            values[code] = steady(value)


class Scored(NamedTuple):
    """One scored employee: the snapshot as canonical JSON text (hashed and stored as it is), its
    SHA-256, and the figures that also live in columns."""

    json: str
    digest: str
    subtotal: float | None
    total: float | None
    grade: str | None

    @classmethod
    def of(cls, encoded: tuple) -> Scored:
        """The scored employee of :meth:`Scorer.score_encoded`'s tuple."""
        data, digest, subtotal, total, grade = encoded
        return cls(data.decode("utf-8"), digest, subtotal, total, grade)


class Scorer:
    """Scores appraisees of one cycle with one rule set.

    ``metrics`` (the metrics layer's result, rounded here once) serves :meth:`score`; without it,
    :meth:`appraise` and :meth:`snapshot` take the variables and tags from the caller.
    """

    def __init__(self, cycle: CycleFacts, rule_version: str, ruleset, metrics=None, *,
                 locale: str | None = None, company: str | None = None) -> None:
        self.cycle, self.rule_version, self.ruleset, self.metrics = cycle, rule_version, ruleset, metrics
        if metrics is not None:
            # the stations' figures now (a few hundred); each employee's as they are scored, in the
            # scoring workers, not all ten thousand here before the workers start
            steady_stations(metrics)
        self.locale = locale or default_locale()
        self.company = company_name() if company is None else company
        self.year = cycle.start.year

    @classmethod
    def for_cycle(cls, cycle, version, ruleset, metrics=None, **options) -> Scorer:
        """The scorer of a cycle row with a rule-set version row."""
        rule_version = getattr(version, "label", None) or f"v{version.number}"
        return cls(CycleFacts(cycle.name, cycle.start, cycle.end), rule_version, ruleset, metrics, **options)

    @classmethod
    def for_snapshot(cls, snapshot: Mapping, ruleset) -> Scorer:
        """The scorer that made a stored snapshot (its cycle, rule version and company)."""
        cycle = CycleFacts(snapshot["cycle"]["name"], dt.date.fromisoformat(snapshot["cycle"]["start"]),
                           dt.date.fromisoformat(snapshot["cycle"]["end"]))
        return cls(cycle, snapshot["rule_version"], ruleset, company=snapshot.get("company"))

    def template(self, appraisee: Appraisee):
        """The appraisee's template in the rule set, or None (not appraised)."""
        return self.ruleset.template_for(appraisee.position, appraisee.station_code, appraisee.segment)

    def appraise(self, appraisee: Appraisee, variables: Mapping, tags: Mapping, manual: Mapping | None = None,
                 adjustment: float = 0.0, calibration: Mapping | None = None) -> AppraisalResult:
        """The rule set's result for these inputs (``calibration``: HR's ``{"total", "grade"}``)."""
        return self.ruleset.appraise(appraisee.facts(), variables, tags, manual, adjustment, year=self.year,
                                     locale=self.locale, calibration=calibration)

    def snapshot(self, appraisee: Appraisee, result: AppraisalResult, variables: Mapping, tags: Mapping,
                 adjustment_reason: str | None) -> dict:
        """The stored snapshot of a result (``adjustment_reason`` only where there is an adjustment)."""
        return build_snapshot(cycle=self.cycle, rule_version=self.rule_version, employee=appraisee.facts(),
                              station=appraisee.station(), result=result,
                              inputs={"variables": variables, "tags": tags},
                              adjustment_reason=adjustment_reason, company=self.company)

    def variables(self, appraisee: Appraisee) -> dict:
        """What the formulas see for ``appraisee``: its own metrics rounded (see :func:`steady`; the
        station's were rounded when the scorer was made) and its station's."""
        variables = self.metrics.variables_for(appraisee.id, appraisee.station_id)
        for code in CODES:
            value = variables.get(code)
            if value.__class__ is float:
                variables[code] = steady(value)
        return variables

    def score(self, appraisee: Appraisee, manual: Mapping, adjustment: float, reason: str | None,
              calibration: Mapping | None = None) -> Scored:
        """Score from the fetched metrics, ready to store."""
        return Scored.of(self.score_encoded(appraisee, manual, adjustment, reason, calibration))

    def score_encoded(self, appraisee: Appraisee, manual: Mapping, adjustment: float, reason: str | None,
                      calibration: Mapping | None = None) -> tuple:
        """:meth:`score` with the snapshot's text still in UTF-8: (bytes, digest, subtotal, total,
        grade). A scoring worker sends that back as it is (no text to encode again for the pipe)."""
        variables = self.variables(appraisee)
        tags = dict(self.metrics.tags.get(appraisee.id, {}))
        facts = appraisee.facts()
        result = self.ruleset.appraise(facts, variables, tags, manual, adjustment, year=self.year,
                                       locale=self.locale, calibration=calibration)
        # the result, the variables and the tags are this snapshot's alone: no copies
        snapshot = build_snapshot(cycle=self.cycle, rule_version=self.rule_version, employee=facts,
                                  station=appraisee.station(), result=result,
                                  inputs={"variables": variables, "tags": tags},
                                  adjustment_reason=reason if adjustment else None, company=self.company,
                                  owned=True)
        data = canonical_bytes(snapshot)
        digest = hashlib.sha256(data).hexdigest()
        return data, digest, snapshot["subtotal"], snapshot["total"], snapshot["grade"]
