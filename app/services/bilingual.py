"""A stored appraisal snapshot in the reader's language (screens, the PDF, API answers).

The snapshot is written once, in the configured language. What the rule set names in it is looked up by
code in the appraisal's own rule-set version (``app.rules.names.relabel``); its sentences (explanations,
N/A notes) come from the same inputs scored again in the reader's language, when that differs.
"""

from __future__ import annotations

from app.engine import FormulaError

from ..locales import default_locale, is_english
from ..models import Appraisal
from ..rules.names import relabel
from .review import kept_calibration
from .rules import ruleset_for_version
from .scoring import Appraisee, Scorer


def rescored(snapshot: dict, ruleset, appraisal: Appraisal, locale: str):
    """The appraisal scored again from its snapshot's inputs, in ``locale``; None when it cannot be."""
    inputs = snapshot.get("inputs")
    if not isinstance(inputs, dict):
        return None
    try:
        scorer = Scorer.for_snapshot(snapshot, ruleset)
        scorer.locale = locale
        return scorer.appraise(Appraisee.from_snapshot(snapshot), inputs.get("variables") or {},
                               inputs.get("tags") or {}, appraisal.manual or {}, appraisal.adjustment or 0.0,
                               kept_calibration(snapshot))
    except (FormulaError, KeyError, TypeError, ValueError):
        return None


def in_language(session, appraisal: Appraisal, snapshot: dict, locale: str | None) -> dict:
    """``snapshot`` (a copy the caller owns) labelled in ``locale``."""
    locale = locale or default_locale()
    ruleset = ruleset_for_version(session, appraisal.rule_set_version_id)
    again = None
    if is_english(locale) != is_english(default_locale()):
        again = rescored(snapshot, ruleset, appraisal, locale)
    return relabel(snapshot, ruleset, locale, again)
