"""What changed between two rule sets, item by item (the publish screen and the API's diff)."""

from __future__ import annotations

import json
from typing import Any

from .ruleset import RuleSet


def item_key(kind: str, item: dict) -> str:
    """The key an item keeps from one version to the next: its code (a SWOT item: station, year, kind,
    title)."""
    if kind == "swot":
        return f"{item.get('station')} {item.get('year')} {item.get('kind')} {item.get('title')}"
    if kind == "grade":
        return str(item.get("grade"))
    return str(item.get("code"))


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def diff_rulesets(old: RuleSet | None, new: RuleSet) -> list[dict]:
    """Item by item: [{"kind", "key", "change": added|removed|changed, "fields": [{"field","old","new"}]}]."""
    old_doc = old.to_document() if old is not None else {}
    new_doc = new.to_document()
    changes: list[dict] = []
    for kind in ("indicator", "template", "grade", "outcome", "swot"):
        before = {item_key(kind, i): i for i in old_doc.get(kind, [])}
        after = {item_key(kind, i): i for i in new_doc.get(kind, [])}
        for key, item in after.items():
            if key not in before:
                changes.append({"kind": kind, "key": key, "change": "added", "fields": []})
            elif before[key] != item:
                fields = [
                    {"field": f, "old": _shown(before[key].get(f, "")), "new": _shown(item.get(f, ""))}
                    for f in dict.fromkeys([*before[key], *item])
                    if before[key].get(f) != item.get(f)
                ]
                changes.append({"kind": kind, "key": key, "change": "changed", "fields": fields})
        for key in before:
            if key not in after:
                changes.append({"kind": kind, "key": key, "change": "removed", "fields": []})
    old_extras, new_extras = old_doc.get("extras", {}), new_doc.get("extras", {})
    for name in sorted(set(old_extras) | set(new_extras)):
        if old_extras.get(name) != new_extras.get(name):
            change = "added" if name not in old_extras else "removed" if name not in new_extras else "changed"
            changes.append({"kind": "file", "key": name, "change": change, "fields": []})
    return changes
