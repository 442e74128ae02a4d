"""The appraisal snapshot (what is computed, hashed and signed): built at compute time and hashed.

The stored snapshot is what was *computed*: its ``comments`` and ``trail`` are empty and ``signed``
is None, so that its hash identifies the result people approve. ``document.document_snapshot`` adds
what happened since, from the audit events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import orjson
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


# The reference encoder: json.dumps with these options would make a new encoder on every call; one is
# enough (it keeps no state). A snapshot is a tree of fresh dicts and lists: no need to note each one to
# find a circular reference.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False,
                              check_circular=False)
# orjson writes the same text three to four times faster (a fifth of scoring an employee). It is used only
# where its text is the reference's: dates, times and dataclasses are not written by it (the reference
# refuses them), what it refuses (integers past 64 bits, keys that are not text, lone surrogates, float
# subclasses) goes to the reference, and a number that it writes otherwise, those from 1e-9 to 1e-4
# ("0.00001" and "1.5e-7" where Python writes "1e-05" and "1.5e-07"), sends the whole value to the
# reference too. Such a number holds "0.0000" or "e-" (two fast searches); _OTHER_FLOAT then tells a number
# from text that only looks like one. A NaN or an infinity, which the formula engine never gives and
# imports refuse, is written as null (the reference refuses it).
_FAST = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_OTHER_FLOAT = re.compile(rb"(?:^|[:,\[])-?(?:0\.0000|\d(?:\.\d+)?e-)")


def _fast(value) -> bytes | None:
    """orjson's text of ``value`` when it is the reference's, else None."""
    try:
        data = orjson.dumps(value, option=_FAST)
    except TypeError:  # orjson.JSONEncodeError: something only the reference writes (or refuses)
        return None
    if (b"e-" in data or b"0.0000" in data) and _OTHER_FLOAT.search(data) is not None:
        return None
    return data


def canonical_bytes(value) -> bytes:
    """The canonical JSON text (:func:`canonical_json`) in UTF-8, as hashed."""
    data = _fast(value)
    return _CANONICAL.encode(value).encode("utf-8") if data is None else data


def canonical_json(value) -> str:
    """The snapshot's text as hashed and stored: keys sorted, no spaces, UTF-8 characters as they are."""
    data = _fast(value)
    return _CANONICAL.encode(value) if data is None else data.decode("utf-8")


def snapshot_hash(snapshot: Mapping) -> str:
    """SHA-256 of the canonical JSON of a stored snapshot."""
    return hashlib.sha256(canonical_bytes(snapshot)).hexdigest()


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
