"""What the rule set names, in the reader's language: categories, units, and a stored snapshot relabelled.

A snapshot is written once, in the configured language. Everything in it that the rule set names is
found again by its code in the appraisal's own rule-set version and shown in the reader's language:
indicator names (``name_en``), categories (a fixed vocabulary, :data:`CATEGORY_EN`), units (a small
vocabulary of unit words, :data:`UNIT_WORDS`; a unit it does not know is shown as written), the
template's name, grade labels and outcome labels (``label_en``). A missing English name falls back to
the Chinese one. The sentences (each line's explanation, the N/A notes, the incentive's note) come from
the same result scored again in the reader's language, used only where its figures are the stored ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .formulas import ENGLISH_NAMES, INCENTIVE, OUTCOME, SCORE, role_catalogue
from .model import CATEGORY_EN

# Unit words as HR writes them, longest first, and how an English page shows them.
UNIT_WORDS = (
    ("小时", "hours"), ("分钟", "minutes"), ("工单", "orders"), ("达成", "achieved"), ("人次", "visits"),
    ("分", "points"), ("元", "yuan"), ("单", "orders"), ("次", "times"), ("天", "days"), ("人", "people"),
    ("件", "items"), ("个", "items"), ("月", "months"), ("年", "years"), ("（", "("), ("）", ")"),
    ("，", ", "), ("／", "/"),
)
_SPACES = re.compile(r"\s+")
# An English category read back to its Chinese code (a snapshot written in English).
CATEGORY_ZH = {en: zh for zh, en in CATEGORY_EN.items()}


def english(locale: str | None) -> bool:
    return (locale or "").startswith("en")


def category_label(category: str | None, locale: str | None) -> str:
    """A category (stored as its Chinese code) in the reader's language."""
    if not category:
        return ""
    if english(locale):
        return CATEGORY_EN.get(category, category)
    return CATEGORY_ZH.get(category, category)


def unit_label(unit: str | None, locale: str | None) -> str:
    """A unit in the reader's language: ``分(1-5)`` reads ``points (1-5)``, ``元/单`` ``yuan/orders``."""
    if not unit or not english(locale):
        return unit or ""
    text = unit
    for word, shown in UNIT_WORDS:
        text = text.replace(word, f" {shown} ")
    text = _SPACES.sub(" ", text).replace("( ", "(").replace(" )", ")").replace(" /", "/").replace("/ ", "/")
    return text.strip()


def _chinese_aliases() -> dict[str, str]:
    """Every variable's Chinese name → its English name (the built-in ones and those of the rules)."""
    variables = [v for role in (SCORE, OUTCOME, INCENTIVE) for v in role_catalogue(role)]
    return {v.zh: ENGLISH_NAMES[v.code] for v in variables if v.zh and v.code in ENGLISH_NAMES}


_ALIASES = _chinese_aliases()
_ALIAS = re.compile("|".join(map(re.escape, sorted(_ALIASES, key=len, reverse=True))))


def explain_label(text: str | None, locale: str | None) -> str:
    """A stored explanation line for the reader: on English pages the variables' Chinese names (as a
    formula typed them) read in English, ``客户满意度 4.46 → …`` as ``Customer satisfaction 4.46 → …``.
    For a screen that lists many stored lines; one appraisal is scored again instead (:func:`relabel`)."""
    if not text or not english(locale):
        return text or ""
    return _ALIAS.sub(lambda m: _ALIASES[m.group(0)], text)


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-6
    return a == b


def relabel(snapshot: dict, ruleset, locale: str | None, rescored=None) -> dict:
    """``snapshot`` (a copy the caller owns) with what the rule set names in ``locale``. ``rescored``: the
    same appraisal scored again in ``locale`` (an AppraisalResult), whose sentences replace the stored
    ones where its figures agree."""
    template = snapshot.get("template")
    if isinstance(template, dict) and template.get("code"):
        found = next((t for t in ruleset.templates if t.code == template["code"]), None)
        if found is not None:
            template["name"] = found.label(locale)
    again = {row["code"]: row for row in (rescored.lines if rescored is not None else [])}
    for line in snapshot.get("lines") or []:
        indicator = ruleset.indicator(line.get("code", ""))
        if indicator is not None:
            line["name"] = indicator.label(locale)
            line["unit"] = unit_label(indicator.unit, locale)
            line["category"] = category_label(indicator.category, locale)
        else:
            line["category"] = category_label(line.get("category"), locale)
        other = again.get(line.get("code"))
        if other is not None and all(_same(other[k], line.get(k)) for k in ("value", "score")):
            line["explain"] = other["explain"]
    band = ruleset.band(snapshot.get("grade"))
    if band is not None:
        snapshot["grade_label"] = band.text(locale)
    _outcomes(snapshot, ruleset, locale)
    scores = snapshot.get("category_scores")
    if isinstance(scores, dict):
        snapshot["category_scores"] = {category_label(k, locale): v for k, v in scores.items()}
    if rescored is not None and _same(rescored.total, snapshot.get("total")) \
            and rescored.grade == snapshot.get("grade"):
        snapshot["na_notes"] = list(rescored.na_notes)
        incentive, again_incentive = snapshot.get("incentive"), rescored.incentive
        if isinstance(incentive, dict) and isinstance(again_incentive, dict) and incentive.get("note") \
                and again_incentive.get("note"):
            incentive["note"] = again_incentive["note"]
    return snapshot


def _outcomes(snapshot: dict, ruleset, locale: str | None) -> None:
    """Each outcome's label from its rule (by code); the outcomes' texts renamed alike."""
    details = snapshot.get("outcome_details")
    texts = outcome_texts(snapshot.get("outcomes"), details, ruleset, locale)
    if texts is None:
        return
    for detail, rule in zip(details, _rules_of(details, ruleset), strict=True):
        if rule is not None:
            detail["label"] = rule.text(locale)
    snapshot["outcomes"] = texts


def _rules_of(details: list, ruleset) -> list:
    rules = {rule.code: rule for rule in ruleset.outcomes}
    return [rules.get(detail.get("code")) for detail in details]


def outcome_texts(outcomes, details, ruleset, locale: str | None) -> list[str] | None:
    """A snapshot's ``outcomes`` (texts such as ``绩效奖金系数 ×1.20``) in ``locale``: each text's label,
    found in its ``outcome_details``, renamed by its rule (``Bonus coefficient ×1.20``); None when the
    two lists do not match."""
    if not isinstance(outcomes, list) or not isinstance(details, list) or len(outcomes) != len(details) \
            or not all(isinstance(d, Mapping) for d in details):
        return None
    texts = []
    for text, detail, rule in zip(outcomes, details, _rules_of(details, ruleset), strict=True):
        text, stored = str(text), str(detail.get("label") or "")
        if rule is not None and stored and text.startswith(stored):
            text = rule.text(locale) + text[len(stored):]
        texts.append(text)
    return texts
