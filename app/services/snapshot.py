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
from json.encoder import c_make_encoder, encode_basestring
from operator import itemgetter

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


# The C encoder the canonical encoder runs (``_CANONICAL.encode`` makes a new one on every call), and the C
# string encoder: both give the canonical text of a value (None without the C accelerator).
_C_ENCODE = None if c_make_encoder is None else c_make_encoder(
    None, _CANONICAL.default, encode_basestring, None, ":", ",", True, False, False)
_KEYWORDS = {None: "null", True: "true", False: "false"}
_LINE_KEYS = ("code", "name", "category", "unit", "value", "target", "score", "weight", "effective_weight",
              "weighted", "explain", "na", "manual", "error", "source")
# A line's text: its constant fields (code, name, category, unit, manual, source) in place, the others
# filled in, in the order of the sorted keys.
_LINE_FORMAT = ('{"category":%s,"code":%s,"effective_weight":%%s,"error":%%s,"explain":%%s,"manual":%s,'
                '"na":%%s,"name":%s,"score":%%s,"source":%s,"target":%%s,"unit":%s,"value":%%s,'
                '"weight":%%s,"weighted":%%s}')
_LINE_VALUES = itemgetter("effective_weight", "error", "explain", "na", "score", "target", "value", "weight",
                          "weighted")
_CUT = object()


def _json(value) -> str:
    return "".join(_C_ENCODE(value, 0))


# A float's text by value: a person's figures recur in a snapshot (the inputs, a line, the variables) and
# a station's in each of its people's; finite non-zero ones only (0.0 and -0.0 are equal), bounded.
_FLOAT_TEXTS: dict[float, str] = {}
_FLOAT_TEXTS_KEPT = 200_000
# The format of a dict's text by its keys (in their order): '{"a":%s,"b":%s}' for the keys sorted.
_FORMATS: dict[tuple, tuple | None] = {}
_FORMATS_KEPT = 5_000


def _scalar(value) -> str:
    """The canonical text of a value (a list's is the encoder's)."""
    cls = value.__class__
    if cls is float:
        text = _FLOAT_TEXTS.get(value)
        if text is None:
            text = float.__repr__(value)
            if text[-1] in "fn":  # inf, nan: the encoder's error
                return _json(value)
            if value and len(_FLOAT_TEXTS) < _FLOAT_TEXTS_KEPT:
                _FLOAT_TEXTS[value] = text
        return text
    if cls is str:
        return encode_basestring(value)
    if value is None or cls is bool:
        return _KEYWORDS[value]
    if cls is int:
        return int.__repr__(value)
    if cls is dict:
        return _object(value)
    return _json(value)


def _object(value: dict) -> str:
    """The canonical text of a dict: its values filled into the format of its keys."""
    keys = tuple(value)
    form = _FORMATS.get(keys, _CUT)
    if form is _CUT:
        form = _object_format(keys)
        if len(_FORMATS) < _FORMATS_KEPT:
            _FORMATS[keys] = form
    if form is None:
        return _json(value)
    return form[1] % _texts(map(value.__getitem__, form[0]))


def _texts(values) -> tuple[str, ...]:
    """The texts of values: a kept float's and None's without a call."""
    get, scalar = _FLOAT_TEXTS.get, _scalar
    return tuple([(get(x) or scalar(x)) if x.__class__ is float else "null" if x is None else scalar(x)
                  for x in values])


def _object_format(keys: tuple) -> tuple | None:
    """(the keys sorted, the text with a %s for each value); None unless every key is a text."""
    if not all(key.__class__ is str for key in keys):
        return None
    ordered = tuple(sorted(keys))
    text = "{" + ",".join(encode_basestring(key).replace("%", "%%") + ":%s" for key in ordered) + "}"
    return ordered, text


class SnapshotWriter:
    """The canonical JSON of the snapshots of one cycle, rule version and company (what
    :func:`canonical_json` gives for :func:`build_snapshot`'s dict, ``tests/compute`` compares them),
    written from its parts: what every snapshot holds alike (company, cycle, rule version, the empty
    comments and trail) encoded once, each line's constant fields once, a dict's keys once per set of
    keys, a float's text once per value. Without the C encoder, :meth:`text` gives None."""

    def __init__(self, *, cycle, rule_version: str, company: str) -> None:
        self.ready = _C_ENCODE is not None
        if not self.ready:
            return
        cycle_part = {"name": cycle.name, "start": cycle.start.isoformat(), "end": cycle.end.isoformat()}
        self.after_scores = (f',"comments":[],"company":{_json(company)},"cycle":{_json(cycle_part)},'
                             '"employee":')
        self.before_station = f',"rule_version":{_json(rule_version)},"signed":null,"station":'
        self.lines: dict[tuple, str] = {}  # a line's constant fields → its format

    def text(self, *, employee, station: dict, result, variables: dict, tags: dict,
             adjustment_reason: str | None) -> str | None:
        """The snapshot's text; None when a line is not as expected (the caller encodes the dict)."""
        if not self.ready:
            return None
        lines = self._lines(result.lines)
        if lines is None:
            return None
        value = _scalar
        person = {"bonus_base": cents_text(getattr(employee, "bonus_base", None)), "name": employee.name,
                  "no": employee.no, "position": employee.position}
        return "".join((
            '{"adjustment":', value(result.adjustment),
            ',"adjustment_reason":', value(adjustment_reason or ""),
            ',"calibration":', value(result.calibration),
            ',"category_scores":', value(result.category_scores),
            self.after_scores, _object(person),
            ',"grade":', value(result.grade),
            ',"grade_label":', value(result.grade_label),
            ',"incentive":', value(result.incentive),
            ',"inputs":{"tags":', value(tags), ',"variables":', value(variables),
            '},"lines":[', ",".join(lines),
            '],"na_notes":', value(result.na_notes),
            ',"outcome_details":', value(result.outcome_details),
            ',"outcomes":', value(result.outcomes),
            self.before_station, value(station),
            ',"subtotal":', value(result.subtotal),
            ',"template":', _object({"code": result.template_code, "name": result.template_name}),
            ',"total":', value(result.total),
            ',"trail":[],"variables":', value(result.variables), "}"))

    def _lines(self, rows: list[dict]) -> list[str] | None:
        out, formats, scalar = [], self.lines, _scalar
        for row in rows:
            if tuple(row) != _LINE_KEYS:
                return None
            manual = row["manual"]  # its class in the key: True == 1 == 1.0
            fixed = (row["code"], row["name"], row["category"], row["unit"], manual, manual.__class__,
                     row["source"])
            line = formats.get(fixed)
            if line is None:
                if not all(x.__class__ is str for x in (*fixed[:4], fixed[6])) or fixed[5] is not bool:
                    return None  # kept by value: only classes whose equal values print alike
                line = formats[fixed] = _LINE_FORMAT % tuple(  # a constant's "%" is kept for the filling
                    scalar(row[key]).replace("%", "%%")
                    for key in ("category", "code", "manual", "name", "source", "unit"))
            out.append(line % _texts(_LINE_VALUES(row)))
        return out
