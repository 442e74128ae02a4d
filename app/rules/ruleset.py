"""RuleSet: a whole rule set as immutable data, with the questions a cycle asks of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app.engine import FormulaError

from .appraise import AppraisalResult, EmployeeFacts
from .appraise import appraise as appraise_employee
from .check import check as check_ruleset
from .formulas import INDICATOR, SCORE, WEIGHT, Formulas
from .incentive import Incentive
from .items import GradeBand, Indicator, OutcomeRule, SwotItem, Template
from .model import FILES, POLICY_FILE, Problem
from .policy import DistributionPolicy, PolicyFile, read_policy_file


@dataclass(frozen=True, eq=True)
class RuleSet:
    indicators: tuple[Indicator, ...] = ()
    templates: tuple[Template, ...] = ()
    grades: tuple[GradeBand, ...] = ()
    outcomes: tuple[OutcomeRule, ...] = ()
    swot: tuple[SwotItem, ...] = ()
    # Other files of the rules/ directory (e.g. workflow.toml), verbatim: name → text.
    extras: Mapping[str, str] = field(default_factory=dict, compare=True)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> tuple[RuleSet, list[Problem]]:
        """From the canonical document (what :meth:`to_document` gives, e.g. stored rows)."""
        problems: list[Problem] = []
        parts = {}
        for array, item_cls, attr in (
            ("indicator", Indicator, "indicators"), ("template", Template, "templates"),
            ("grade", GradeBand, "grades"), ("outcome", OutcomeRule, "outcomes"), ("swot", SwotItem, "swot"),
        ):
            parts[attr] = tuple(
                item_cls.from_dict(t, FILES[array], i, problems) for i, t in enumerate(doc.get(array, []))
            )
        return cls(extras=dict(sorted(dict(doc.get("extras", {})).items())), **parts), problems

    def to_document(self) -> dict[str, Any]:
        return {
            "indicator": [i.to_dict() for i in self.indicators],
            "template": [t.to_dict() for t in self.templates],
            "grade": [g.to_dict() for g in self.grades],
            "outcome": [o.to_dict() for o in self.outcomes],
            "swot": [s.to_dict() for s in self.swot],
            "extras": dict(self.extras),
        }

    # -- lookups --------------------------------------------------------------------------

    @cached_property
    def indicator_map(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    def indicator(self, code: str) -> Indicator | None:
        return self.indicator_map.get(code)

    @cached_property
    def formulas(self) -> Formulas:
        return Formulas(i.code for i in self.indicators)

    def template_for(self, position: str, station_code: str, segment: str) -> Template | None:
        """The template for a position at a station: one naming the station beats one naming the
        station's segment, which beats a general one; among equals the first in the file wins."""
        key = ("template_for", position, station_code, segment)
        if key not in self.memo:
            self.memo[key] = self._template_for(position, station_code, segment)
        return self.memo[key]

    def _template_for(self, position: str, station_code: str, segment: str) -> Template | None:
        best: Template | None = None
        for template in self.templates:
            if template.applies(position, station_code, segment):
                if best is None or template.specificity > best.specificity:
                    best = template
        return best

    def swot_for(self, station_code: str, year: int | None = None) -> tuple[SwotItem, ...]:
        """A station's SWOT items in force in ``year``: those of the latest analysis year up to
        ``year`` (an analysis holds until the next one); without a year, the latest analysis."""
        key = ("swot_for", station_code, year)
        if key not in self.memo:
            self.memo[key] = self._swot_for(station_code, year)
        return self.memo[key]

    def _swot_for(self, station_code: str, year: int | None) -> tuple[SwotItem, ...]:
        years = [s.year for s in self.swot if s.station == station_code and (year is None or s.year <= year)]
        if not years:
            return ()
        latest = max(years)
        return tuple(s for s in self.swot if s.station == station_code and s.year == latest)

    @cached_property
    def policy_file(self) -> PolicyFile:
        """``policy.toml`` read (once): the distribution policy, the incentive, their shape problems."""
        return read_policy_file(self.extras.get(POLICY_FILE))

    @property
    def policy(self) -> DistributionPolicy | None:
        """The distribution policy (强制分布), or None when the rule set has none."""
        return self.policy_file.distribution

    @property
    def incentive(self) -> Incentive | None:
        """The incentive (绩效奖金) rules, or None when the rule set has none."""
        return self.policy_file.incentive

    def band(self, grade: str | None) -> GradeBand | None:
        """The band of a grade code."""
        return next((b for b in self.grades if b.grade == grade), None)

    @cached_property
    def _bands_high_first(self) -> list[GradeBand]:
        return sorted(self.grades, key=lambda b: b.min, reverse=True)

    def grade_for(self, total: float | None) -> GradeBand | None:
        if total is None:
            return None
        for band in self._bands_high_first:
            if total >= band.min:
                return band
        return None

    @cached_property
    def tag_words(self) -> set[str]:
        """Every word that a formula of this rule set passes to TAGGED or TAGGED_RATE."""
        words: set[str] = set()
        texts = [(INDICATOR, i.value) for i in self.indicators]
        texts += [(INDICATOR, i.target) for i in self.indicators]
        texts += [(SCORE, i.score) for i in self.indicators]
        texts += [(WEIGHT, line.weight) for t in self.templates for line in t.lines]
        texts += [(WEIGHT, line.weight) for s in self.swot for line in s.lines]
        for role, text in texts:
            if isinstance(text, str) and text:
                try:
                    words |= set(self.formulas.compile(role, text).tag_words)
                except FormulaError:
                    continue
        return words

    @cached_property
    def memo(self) -> dict:
        """Answers worked out from this (immutable) rule set, kept by the functions that work them
        out: a cycle asks the same few questions 10,000 times."""
        return {}

    # -- the work -------------------------------------------------------------------------

    def check(self, station_codes=None) -> list[Problem]:
        """Every problem of the rule set: formulas, references, weights, grades, test cases, and
        those of policy.toml (the distribution policy and the incentive)."""
        return check_ruleset(self, station_codes=station_codes)

    def appraise(
        self,
        employee: EmployeeFacts,
        variables: Mapping[str, float | None],
        tags: Mapping[str, int],
        manual: Mapping[str, float | None] | None = None,
        adjustment: float = 0.0,
        *,
        year: int | None = None,
        locale: str = "zh_CN",
        calibration: Mapping[str, Any] | None = None,
    ) -> AppraisalResult:
        """Score one employee; see :func:`app.rules.appraise.appraise`."""
        return appraise_employee(self, employee, variables, tags, manual or {}, adjustment, year=year,
                                 locale=locale, calibration=calibration)
