"""The appraisal as people read it: the stored snapshot completed with the trail, the comments and
the signature from the audit events, labelled in the reader's language (screens and the PDF)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..locales import default_locale
from ..models import Appraisal, AuditEvent
from ..workflow import State
from . import workflows
from .audit import AMEND, COMPUTE, RECOMPUTE, REVIEW, SYSTEM


def local_text(when: dt.datetime) -> str:
    """A stored UTC time as ``YYYY-MM-DD HH:MM`` in the configured time zone."""
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
            "when": local_text(event.at),
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
    """The full snapshot for the PDF and the screens: the stored one plus the trail, the comments
    and the signature, with labels in ``locale`` (the configured language if None)."""
    locale = locale or default_locale()
    table = workflows.workflow_table(session, appraisal.rule_set_version_id)
    snapshot = json.loads(json.dumps(appraisal.snapshot))  # a deep copy
    with force_locale(locale):
        events = trail(session, appraisal, table, locale)
    shown = ("when", "who", "action", "from", "to", "comment")
    snapshot["trail"] = [{k: e[k] for k in shown} for e in events]
    snapshot["comments"] = [{"who": e["who"], "when": e["when"], "text": e["comment"]}
                            for e in events if e["comment"]]
    signed = ([e for e in events if e["to_code"] == State.signed.value]
              if appraisal.state == State.signed else [])
    snapshot["signed"] = {"by": signed[-1]["who"], "at": signed[-1]["when"]} if signed else None
    snapshot["state"] = appraisal.state.value
    snapshot["appraisal_version"] = appraisal.version
    snapshot["snapshot_hash"] = appraisal.snapshot_hash
    return snapshot
