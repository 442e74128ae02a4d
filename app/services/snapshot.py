"""The appraisal snapshot (what is computed, hashed and signed): built at compute time and hashed.

The stored snapshot is what was *computed*: its ``comments`` and ``trail`` are empty and ``signed``
is None, so that its hash identifies the result people approve. ``document.document_snapshot`` adds
what happened since, from the audit events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app, has_app_context
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator


class RawJSON(TypeDecorator):
    """A JSON column's bind parameter that is already JSON text: written as it is, not encoded again
    (the snapshot is serialised once, for its hash, and that same text is stored)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect):
        return None


# json.dumps with these options would make a new encoder on every call; one is enough (it keeps no state).
# A snapshot is a tree of fresh dicts and lists: no need to note each one to find a circular reference.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False,
                              check_circular=False)


def canonical_json(value) -> str:
    """The snapshot's text as hashed and stored: keys sorted, no spaces, UTF-8 characters as they are."""
    return _CANONICAL.encode(value)


def snapshot_hash(snapshot: Mapping) -> str:
    """SHA-256 of the canonical JSON of a stored snapshot."""
    return hashlib.sha256(canonical_json(snapshot).encode("utf-8")).hexdigest()


def cents_text(amount) -> str | None:
    """An amount in yuan as a snapshot stores it: a string with two decimals ("2000.00"), or None."""
    if amount is None:
        return None
    return format(Decimal(amount).quantize(Decimal("0.01")), "f")


def company_name() -> str:
    if has_app_context():
        return current_app.config.get("COMPANY_NAME", "")
    return ""


@dataclass(frozen=True)
class CycleFacts:
    """What a snapshot says of its cycle (plain data: scoring may run in a forked worker)."""

    name: str
    start: dt.date
    end: dt.date


def build_snapshot(*, cycle, rule_version: str, employee, station: Mapping, result,
                   inputs: Mapping, adjustment_reason: str | None, company: str | None = None,
                   owned: bool = False) -> dict:
    """The stored snapshot of one computed result (``result`` is an app.rules AppraisalResult).
    ``owned``: the result and the inputs are the snapshot's alone (made for it and dropped once it is
    encoded), so their dicts and lists go in as they are instead of as copies."""
    snapshot = {
        "company": company_name() if company is None else company,
        "cycle": {"name": cycle.name, "start": cycle.start.isoformat(), "end": cycle.end.isoformat()},
        "rule_version": rule_version,
        "employee": {"no": employee.no, "name": employee.name, "position": employee.position,
                     "bonus_base": cents_text(getattr(employee, "bonus_base", None))},
        "station": station if owned else dict(station),
        "adjustment_reason": adjustment_reason or "",
        "comments": [],
        "trail": [],
        "signed": None,
    }
    snapshot.update(result.to_snapshot_part(copy=not owned))
    # What the result was computed from, so that a review edit recomputes without the metrics.
    variables, tags = inputs["variables"], inputs["tags"]
    snapshot["inputs"] = {"variables": variables if owned else dict(variables),
                          "tags": tags if owned else dict(tags)}
    return snapshot
