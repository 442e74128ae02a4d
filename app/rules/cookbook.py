"""The formula cookbook: worked examples of the formula language from an after-sales station's appraisal,
each inserted into one field of the indicator form (value, target or score) with one click.

Every recipe carries a sample: the inputs it is evaluated on and the number it must give.
tests/rules/test_formula_cookbook.py runs each through the editor's live check and the rule set's own
compile, so a change of the language that breaks an example breaks that test, not HR's first try.
Titles and explanations are English message ids marked for the catalogs (their Chinese is in
app/translations/areas/cookbook.tsv); the screen translates them. The formulas are written with the
variables' Chinese names; an English reader gets them with their codes (``first_fix_rate``), which the
language reads the same.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.engine import builtin_catalogue

FIELDS = ("value", "target", "score")
# A quoted text (a tag word: data, kept as written) or a name.
_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|[^\W\d]\w*")


def _l(text: str) -> str:
    """A text for the message catalogs, translated by the screen (this package imports no Flask)."""
    return text


@dataclass(frozen=True)
class Recipe:
    """One example: ``formula`` for the form's ``field``; a score formula that reads ``target`` suggests one
    (filled in when the target is empty). ``sample`` (names → numbers, N/A as None) and ``tags`` give
    ``expected``."""

    key: str
    title: str
    explanation: str
    field: str
    formula: str
    sample: Mapping[str, float | None]
    expected: float | None
    target: str = ""
    tags: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def formula_in(self, locale: str | None) -> str:
        """The formula as a reader of ``locale`` reads it (see :func:`in_codes`)."""
        return in_codes(self.formula) if (locale or "").startswith("en") else self.formula

    def target_in(self, locale: str | None) -> str:
        return in_codes(self.target) if (locale or "").startswith("en") else self.target


def in_codes(text: str) -> str:
    """``text`` with every variable's Chinese name replaced by its code: ``AVG(服务态度, 维修质量)`` reads
    ``AVG(attitude, repair_quality)``. Quoted words stay as written."""
    catalogue = builtin_catalogue()

    def code(match: re.Match) -> str:
        token = match.group(0)
        return token if token[0] in "\"'" else catalogue.resolve(token) or token

    return _TOKEN.sub(code, text)


RECIPES: tuple[Recipe, ...] = (
    Recipe("satisfaction_band", _l("Satisfaction scored by band"),
           _l("Survey satisfaction (1–5) of 4.8 or more scores 100, 4.5 scores 90, 4 scores 75, "
              "3.5 scores 60, anything lower 0."),
           "score", "BAND(value, 3.5, 60, 4, 75, 4.5, 90, 4.8, 100, 0)", {"value": 4.6}, 90),
    Recipe("satisfaction_linear", _l("Satisfaction from 3 to the target"),
           _l("3 points or less scores 0, the target scores 100, and in between in proportion."),
           "score", "CLAMP((value - 3) / (target - 3) * 100, 0, 100)", {"value": 3.75, "target": 4.5}, 50,
           target="4.5"),
    Recipe("survey_mean", _l("Mean of the three survey scores"),
           _l("Attitude, repair quality and speed from the follow-up calls, averaged; a missing one is "
              "skipped."),
           "value", "AVG(服务态度, 维修质量, 响应速度评分)",
           {"attitude": 5, "repair_quality": 4, "speed_rating": None}, 4.5),
    Recipe("no_survey_station", _l("No survey: take the station's"),
           _l("An employee without follow-up surveys in the period gets the station's satisfaction "
              "instead of N/A."),
           "value", "COALESCE(客户满意度, 站点客户满意度)",
           {"satisfaction": None, "station_satisfaction": 4.2}, 4.2),
    Recipe("first_fix", _l("First-time fix rate"),
           _l("Below 60 percent scores 0, the target scores 90, every order fixed at the first visit "
              "scores 100."),
           "score", "PIECEWISE(value, 0.6, 0, target, 90, 1, 100)", {"value": 0.75, "target": 0.9}, 45,
           target="0.9"),
    Recipe("response_sla", _l("Response time against the SLA"),
           _l("Responding in half the promised hours (the target) scores 100, exactly on time 80, "
              "three times the promise 0."),
           "score", "PIECEWISE(value / target, 0.5, 100, 1, 80, 3, 0)", {"value": 4, "target": 2}, 40,
           target="2"),
    Recipe("sla_rate", _l("Enterprise orders answered in time"),
           _l("The SLA compliance rate: below 70 percent scores 0, the target 90, every promise kept 100."),
           "score", "PIECEWISE(value, 0.7, 0, target, 90, 1, 100)", {"value": 0.825, "target": 0.95}, 45,
           target="0.95"),
    Recipe("repair_hours", _l("Average repair time"),
           _l("Lower is better: 2 hours or less scores 100, the target 80, 12 hours or more 0."),
           "score", "PIECEWISE(value, 2, 100, target, 80, 12, 0)", {"value": 8, "target": 4}, 40,
           target="4"),
    Recipe("rework_penalty", _l("Rework penalty"),
           _l("Start from 100 and take 5 points off for every percentage point of rework, down to 0."),
           "score", "CLAMP(100 - 500 * value, 0, 100)", {"value": 0.04}, 80),
    Recipe("parts_delay_swot", _l("SWOT weakness: parts delays"),
           _l("For a W item: up to the target number of orders delayed by missing parts scores 100, every "
              "further one takes 15 points off."),
           "score", "IF(value <= target, 100, CLAMP(100 - 15 * (value - target), 0, 100))",
           {"value": 4, "target": 2}, 70, target="2"),
    Recipe("new_tech_swot", _l("SWOT opportunity: new techniques"),
           _l("For an O item: the employee's orders of the period tagged 新技术, to reward using a new "
              "technique first."),
           "value", 'TAGGED("新技术")', {}, 3, tags={"新技术": 3}),
    Recipe("parts_cost_station", _l("Parts cost against the station"),
           _l("Parts cost per order compared with the station's: 80 percent of it or less scores 100, "
              "equal 85, one and a half times 0."),
           "score", "PIECEWISE(value / target, 0.8, 100, 1, 85, 1.5, 0)", {"value": 125, "target": 100}, 42.5,
           target="站点单均配件成本"),
    Recipe("labour_cost", _l("Labour-cost ratio"),
           _l("Labour cost over service revenue, lower is better: 20 percent or less scores 100, "
              "the target 80, 60 percent or more 0."),
           "score", "PIECEWISE(value, 0.2, 100, target, 80, 0.6, 0)", {"value": 0.475, "target": 0.35}, 40,
           target="0.35"),
    Recipe("orders_per_month", _l("Orders per 30 days"),
           _l("Completed orders scaled to a 30-day month, so periods of different length compare."),
           "value", "工单数 / 考核天数 * 30", {"orders": 40, "period_days": 60}, 20),
    Recipe("target_capped", _l("Share of the target, at most 100"),
           _l("The value as a share of the target times 100, capped at 100 points."),
           "score", "MIN(100, value / target * 100)", {"value": 36, "target": 40}, 90),
)
