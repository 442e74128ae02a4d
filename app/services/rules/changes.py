"""The publish screen's changes as people read them: one row per thing that changed, named in the
reader's language (an indicator's name rather than its code, "Weight of 客户满意度" rather than the
template's lines as JSON), with its value before and after.

The API keeps ``diff_against``'s entries (field names and raw values) for programs; this is for screens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from ...rules import RuleSet
from ...rules.diff import item_key
from ...rules.model import expr_text
from ...rules.names import category_label, unit_label

ITEM_KINDS = ("indicator", "template", "grade", "outcome", "swot")
IDENTITY = {"indicator": "code", "template": "code", "outcome": "code", "grade": "grade"}
FORMULA_FIELDS = frozenset({"value", "target", "score", "when", "coefficient"})


def _field_labels() -> dict[str, str]:
    return {
        "code": _("Code"), "name": _("Name"), "name_en": _("English name"), "category": _("Category"),
        "kind": _("Kind"), "value": _("Value formula"), "unit": _("Unit"), "target": _("Target"),
        "score": _("Score formula"), "direction": _("Direction"), "description": _("Description"),
        "test": _("Test cases"), "positions": _("Positions"), "stations": _("Stations"),
        "segments": _("Segments"), "station": _("Station"), "year": _("Year"), "title": _("Title"),
        "grade": _("Grade"), "label": _("Name"), "label_en": _("English name"), "min": _("Minimum total"),
        "action": _("Action"), "when": _("Condition"), "coefficient": _("Bonus coefficient"),
    }


def _value_labels() -> dict[str, str]:
    """The words an indicator's kind and direction, a SWOT item's quadrant and an outcome's action are
    stored as, as the editor's forms name them."""
    return {"formula": _("Computed by a formula"), "manual": _("Entered by the supervisor"),
            "higher": _("higher"), "lower": _("lower"), "S": _("Strengths"), "W": _("Weaknesses"),
            "O": _("Opportunities"), "T": _("Threats"), "bonus": _("Bonus coefficient"),
            "training": _("Training"), "promotion": _("Promotion candidate"),
            "improvement_plan": _("Improvement plan")}


def _policy_labels() -> dict[str, str]:
    return {"min": _("Minimum share"), "max": _("Maximum share"), "amount": _("Amount formula"),
            "cap": _("Cap (yuan)"), "inputs": _("Inputs"), "expected": _("Expected"),
            "capped": _("Capped at"), "min_headcount": _("Minimum headcount")}


def _kind_labels() -> dict[str, str]:
    return {"indicator": _("Indicator"), "template": _("Template"), "grade": _("Grade"),
            "outcome": _("Outcome rule"), "swot": "SWOT", "file": _("File"),
            "distribution": _("Forced distribution"), "limit": _("Distribution limit"),
            "incentive": _("Incentive"), "pool": _("Station pool"),
            "incentive_test": _("Incentive test case")}


def _text(field: str, value: Any, locale: str = "zh_CN", segment_name=str) -> str:
    if value is None or value == "" or value == []:
        return ""
    if field == "test":
        return _("%(n)s test cases", n=len(value))
    if field == "category":
        return category_label(value, locale)
    if field == "unit":
        return unit_label(value, locale)
    if field == "segments":
        return ", ".join(segment_name(v) for v in value)
    if field in ("kind", "direction", "action"):
        return _value_labels().get(value, str(value))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return expr_text(value) if field in FORMULA_FIELDS else str(value)


def _item_name(kind: str, item: Mapping, locale: str) -> str:
    english = (locale or "").startswith("en")
    if kind in ("indicator", "template"):
        return (item.get("name_en") if english else "") or item.get("name", "")
    if kind in ("grade", "outcome"):
        return (item.get("label_en") if english else "") or item.get("label", "")
    if kind == "swot":
        return item.get("title", "")
    return ""


def _weights(lines: list | None) -> dict[str, Any]:
    return {line.get("indicator"): line.get("weight") for line in lines or []}


def _line_rows(before: list | None, after: list | None, indicator_name) -> list[dict]:
    """A template's or SWOT item's lines, indicator by indicator: added, removed, or re-weighted."""
    old, new = _weights(before), _weights(after)
    rows = []
    for code in dict.fromkeys([*new, *old]):
        if old.get(code) == new.get(code) and code in old and code in new:
            continue
        rows.append({"field": "line", "what": _("Weight of %(indicator)s", indicator=indicator_name(code)),
                     "code": code, "before": _text("weight", old.get(code)) if code in old else "",
                     "after": _text("weight", new.get(code)) if code in new else "",
                     "formula": True})
    return rows


def _field_rows(kind: str, before: Mapping, after: Mapping, indicator_name, locale: str,
                segment_name) -> list[dict]:
    labels = _field_labels()
    rows = []
    for field in dict.fromkeys([*before, *after]):
        if before.get(field) == after.get(field) or field == IDENTITY.get(kind):
            continue
        if field == "line":
            rows += _line_rows(before.get(field), after.get(field), indicator_name)
            continue
        rows.append({"field": field, "what": labels.get(field, field), "code": "",
                     "before": _text(field, before.get(field), locale, segment_name),
                     "after": _text(field, after.get(field), locale, segment_name),
                     "formula": field in FORMULA_FIELDS})
    return rows


def readable_changes(changes: list[dict], old: RuleSet | None, new: RuleSet, locale: str,
                     segment_name=str) -> list[dict]:
    """``diff_against``'s changes for a screen: [{"kind", "kind_label", "key", "name", "change", "rows":
    [{"field", "what", "code", "before", "after", "formula"}]}]. An added item lists what it holds in
    "after", a removed one what it held in "before"; policy entries keep their own field names.
    Categories and units read in ``locale``, segments through ``segment_name``."""
    old_doc = old.to_document() if old is not None else {}
    new_doc = new.to_document()
    items = {(side, kind): {item_key(kind, i): i for i in doc.get(kind, [])}
             for side, doc in (("old", old_doc), ("new", new_doc)) for kind in ITEM_KINDS}
    rulesets = [r for r in (new, old) if r is not None]

    def indicator_name(code: str) -> str:
        for ruleset in rulesets:
            indicator = ruleset.indicator(code)
            if indicator is not None:
                return indicator.label(locale)
        return code

    kinds, policy_labels = _kind_labels(), _policy_labels()
    out = []
    for change in changes:
        kind, key = change["kind"], change["key"]
        entry = {"kind": kind, "kind_label": kinds.get(kind, kind), "key": key, "name": "",
                 "change": change["change"], "rows": []}
        if kind in ITEM_KINDS:
            before = items[("old", kind)].get(key, {})
            after = items[("new", kind)].get(key, {})
            entry["name"] = _item_name(kind, after or before, locale)
            entry["rows"] = _field_rows(kind, before, after, indicator_name, locale, segment_name)
        else:
            entry["rows"] = [{"field": f["field"], "what": policy_labels.get(f["field"], f["field"]),
                              "code": "", "before": f["old"], "after": f["new"], "formula": False}
                             for f in change.get("fields", [])]
        out.append(entry)
    return out
