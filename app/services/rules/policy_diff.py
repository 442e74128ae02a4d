"""What changed in policy.toml between two rule sets, item by item, as people read it (shares in %)."""

from __future__ import annotations

from typing import Any

from ...rules import POLICY_FILE, RuleSet
from ...rules.model import NA, expr_text
from ...rules.policy import PolicyFile
from ...rules.pools import money_text


def _percent(share: float | None) -> str:
    if share is None:
        return ""
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _limits(read: PolicyFile) -> dict[str, dict[str, str]]:
    if read.distribution is None:
        return {}
    return {f"{limit.grade} · {limit.scope}":
            {"min": _percent(limit.min_share), "max": _percent(limit.max_share)}
            for limit in read.distribution.limits}


def _incentive(read: PolicyFile) -> dict[str, str] | None:
    if read.incentive is None:
        return None
    return {"amount": expr_text(read.incentive.amount), "cap": money_text(read.incentive.cap) or ""}


def _pools(read: PolicyFile) -> dict[str, dict[str, str]]:
    if read.incentive is None:
        return {}
    return {code: {"amount": money_text(size) or ""} for code, size in read.incentive.pools.items()}


def _tests(read: PolicyFile) -> dict[str, dict[str, str]]:
    if read.incentive is None:
        return {}
    out = {}
    for n, case in enumerate(read.incentive.tests, start=1):
        inputs = ", ".join(f"{k}={NA if v is None else v}" for k, v in case.inputs.items())
        expected = case.expected if case.expected in (None, NA) else money_text(case.expected)
        out[case.name or f"#{n}"] = {"inputs": inputs, "expected": expected or "",
                                     "capped": money_text(case.capped) or ""}
    return out


def _compare(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[dict]:
    changes = []
    for key, fields in after.items():
        if key not in before:
            changes.append({"kind": kind, "key": key, "change": "added", "fields": []})
        elif before[key] != fields:
            changes.append({"kind": kind, "key": key, "change": "changed", "fields": [
                {"field": f, "old": before[key].get(f, ""), "new": fields.get(f, "")}
                for f in dict.fromkeys([*before[key], *fields]) if before[key].get(f) != fields.get(f)]})
    changes += [{"kind": kind, "key": key, "change": "removed", "fields": []}
                for key in before if key not in after]
    return changes


def policy_changes(old: RuleSet | None, new: RuleSet) -> list[dict] | None:
    """The changes of policy.toml as diff entries (kinds ``distribution``, ``limit``, ``incentive``,
    ``pool``, ``incentive_test``); None when either side cannot be read (the file entry stays)."""
    before = old.policy_file if old is not None else PolicyFile()
    after = new.policy_file
    if before.problems or after.problems:
        return None
    changes = []
    headcounts = [read.distribution.min_headcount if read.distribution else None for read in (before, after)]
    if headcounts[0] != headcounts[1] and None not in headcounts:
        changes.append({"kind": "distribution", "key": "min_headcount", "change": "changed",
                        "fields": [{"field": "min_headcount", "old": str(headcounts[0]),
                                    "new": str(headcounts[1])}]})
    elif headcounts[0] != headcounts[1]:
        change = "added" if headcounts[0] is None else "removed"
        changes.append({"kind": "distribution", "key": "distribution", "change": change, "fields": []})
    changes += _compare("limit", _limits(before), _limits(after))
    incentives = [_incentive(read) for read in (before, after)]
    changes += _compare("incentive", *({"incentive": i} if i is not None else {} for i in incentives))
    changes += _compare("pool", _pools(before), _pools(after))
    changes += _compare("incentive_test", _tests(before), _tests(after))
    return changes


def readable_diff(changes: list[dict], old: RuleSet | None, new: RuleSet) -> list[dict]:
    """``diff_rulesets``' changes with policy.toml's file entry replaced by its items (kept when only
    its comments or layout changed, or when it cannot be read)."""
    out = []
    for change in changes:
        if change["kind"] == "file" and change["key"] == POLICY_FILE:
            items = policy_changes(old, new)
            if items:
                out += items
                continue
        out.append(change)
    return out
