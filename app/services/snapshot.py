"""The appraisal snapshot (contract item 3): built at compute time, hashed, and completed with the
trail, comments and signature when a screen or the PDF reads it.

The stored snapshot is what was *computed*: its ``comments`` and ``trail`` are empty and ``signed``
is None, so that its hash identifies the result people approve. :func:`document_snapshot` adds
what happened since, from the audit events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import JSON, select
from sqlalchemy.types import TypeDecorator

from ..models import Appraisal, AuditEvent
from ..workflow import State

# Events that are not transitions of the table; their labels come from the catalog.
COMPUTE, RECOMPUTE, REVIEW, AMEND = "compute", "recompute", "review", "amend"
SYSTEM = "system"


class RawJSON(TypeDecorator):
    """A JSON column's bind parameter that is already JSON text: written as it is, not encoded again
    (the snapshot is serialised once, for its hash, and that same text is stored)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect):
        return None


def canonical_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def snapshot_hash(snapshot: Mapping) -> str:
    """SHA-256 of the canonical JSON of a stored snapshot."""
    return hashlib.sha256(canonical_json(snapshot).encode("utf-8")).hexdigest()


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
                   inputs: Mapping, adjustment_reason: str | None, company: str | None = None) -> dict:
    """The stored snapshot of one computed result (``result`` is an app.rules AppraisalResult)."""
    snapshot = {
        "company": company_name() if company is None else company,
        "cycle": {"name": cycle.name, "start": cycle.start.isoformat(), "end": cycle.end.isoformat()},
        "rule_version": rule_version,
        "employee": {"no": employee.no, "name": employee.name, "position": employee.position},
        "station": dict(station),
        "adjustment_reason": adjustment_reason or "",
        "comments": [],
        "trail": [],
        "signed": None,
    }
    snapshot.update(result.to_snapshot_part())
    # What the result was computed from, so that a review edit recomputes without the metrics.
    snapshot["inputs"] = {"variables": dict(inputs["variables"]), "tags": dict(inputs["tags"])}
    return snapshot


def _local(when: dt.datetime) -> str:
    if when.tzinfo is None:  # SQLite gives back naive UTC
        when = when.replace(tzinfo=dt.UTC)
    zone = ZoneInfo(current_app.config.get("JIXIAO_TIMEZONE", "Asia/Shanghai")) if has_app_context() \
        else dt.UTC
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def event_action_label(table, action: str, locale: str | None) -> str:
    labels = {COMPUTE: _("Computed"), RECOMPUTE: _("Recomputed"), REVIEW: _("Review edit"),
              AMEND: _("Amended")}
    return labels.get(action) or table.action_label(action, locale)


def who_label(event: AuditEvent) -> str:
    return _("System") if event.user_id is None and event.who == SYSTEM else event.who


def trail(session, appraisal: Appraisal, table, locale: str | None) -> list[dict]:
    """Every event of this appraisal version, oldest first, labelled in ``locale``."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.appraisal_id == appraisal.id).order_by(AuditEvent.id)
    ).all()
    out = []
    for event in events:
        out.append({
            "when": _local(event.at),
            "who": who_label(event),
            "action": event_action_label(table, event.action, locale),
            "from": table.state_label(event.from_state, locale) if event.from_state else "",
            "to": table.state_label(event.to_state, locale),
            "comment": event.comment or "",
            "code": event.action,
            "to_code": event.to_state,
            "hash": event.snapshot_hash,
        })
    return out


def document_snapshot(session, appraisal: Appraisal, locale: str | None = None) -> dict:
    """The full snapshot of contract item 3 for the PDF and the screens: the stored one plus the trail,
    the comments and the signature, with labels in ``locale`` (the default locale if None)."""
    from .transitions import workflow_table

    locale = locale or (current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN") if has_app_context()
                        else "zh_CN")
    table = workflow_table(session, appraisal.rule_set_version_id)
    snapshot = json.loads(json.dumps(appraisal.snapshot))  # a deep copy
    with force_locale(locale):
        events = trail(session, appraisal, table, locale)
    snapshot["trail"] = [{k: e[k] for k in ("when", "who", "action", "from", "to", "comment")} for e in events]
    snapshot["comments"] = [{"who": e["who"], "when": e["when"], "text": e["comment"]}
                            for e in events if e["comment"]]
    signed = [e for e in events if e["to_code"] == State.signed.value] if appraisal.state == State.signed else []
    snapshot["signed"] = {"by": signed[-1]["who"], "at": signed[-1]["when"]} if signed else None
    snapshot["state"] = appraisal.state.value
    snapshot["appraisal_version"] = appraisal.version
    snapshot["snapshot_hash"] = appraisal.snapshot_hash
    return snapshot
