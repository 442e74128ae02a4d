"""The appraisal as people read it: the stored snapshot completed with the trail, the comments and
the signature from the audit events, labelled in the reader's language (screens and the PDF).

A step's comment is shared (the appraised employee reads it) or internal (reviewers and HR only). The
trail for the employee keeps every step but leaves out the internal comments; reviewers and HR read
both, the internal ones marked. The PDF always carries the shared comments only."""

from __future__ import annotations

import json

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..clock import local_text
from ..locales import default_locale
from ..models import Appraisal, AuditEvent
from ..rules.names import relabel
from ..workflow import CALIBRATE, State, Step, round_approval_positions
from . import workflows
from .audit import AMEND, COMPUTE, COUNTERSIGN, INTERNAL, REASSIGN, RECOMPUTE, REVIEW, SHARED, SYSTEM
from .bilingual import in_language
from .calibration import readable_comment
from .review_note import read_note
from .rules import ruleset_for_version

PUBLISH = "publish"  # the event publication writes on each appraisal of the cycle


def event_action_label(table, action: str, locale: str | None) -> str:
    labels = {COMPUTE: _("Computed"), RECOMPUTE: _("Recomputed"), REVIEW: _("Review edit"),
              AMEND: _("Amended"), PUBLISH: _("Results published"), COUNTERSIGN: _("Countersigned"),
              REASSIGN: _("Reviewer reassigned")}
    return labels.get(action) or table.action_label(action, locale)


def who_label(event: AuditEvent) -> str:
    """Who took the step: their name at the time, "System", or "X (for Y)" (X（代 Y）) when a substitute
    took it for Y."""
    if event.user_id is None and event.who == SYSTEM:
        return _("System")
    if event.on_behalf_of:
        return _("%(who)s (for %(principal)s)", who=event.who, principal=event.on_behalf_of)
    return event.who


def trail(session, appraisal: Appraisal, table, locale: str | None, *, internal: bool = False) -> list[dict]:
    """Every event of this appraisal version and of the versions before it (an amendment or a
    calibration starts a new version; the approvals that led there stay part of its story), oldest
    first, labelled in ``locale``. ``internal``: the reader sees internal comments too (reviewers and
    HR), each event saying its ``visibility``; otherwise (the appraised employee, the PDF) an internal
    comment is left out, the step kept."""
    versions = select(Appraisal.id).where(
        Appraisal.cycle_id == appraisal.cycle_id, Appraisal.employee_id == appraisal.employee_id,
        Appraisal.version <= appraisal.version,
    )
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.appraisal_id.in_(versions.scalar_subquery()))
        .order_by(AuditEvent.id)
    ).all()
    lines = None
    out = []
    for event in events:
        hidden = event.visibility == INTERNAL and not internal
        comment = "" if hidden else event.comment or ""
        if event.action == REVIEW and comment:  # stored in codes (app/services/review_note.py)
            lines = named_lines(session, appraisal, locale) if lines is None else lines
            comment = read_note(comment, lines, locale)
        elif event.action == CALIBRATE:  # written in the configured language
            comment = readable_comment(comment, locale)
        out.append({
            "when": local_text(event.at),
            "who": who_label(event),
            "action": event_action_label(table, event.action, locale),
            "from": table.state_label(event.from_state, locale) if event.from_state else "",
            "to": table.state_label(event.to_state, locale),
            "comment": comment,
            "visibility": SHARED if hidden else event.visibility or SHARED,
            "action_code": event.action,
            "from_code": event.from_state,
            "to_code": event.to_state,
            "hash": event.snapshot_hash,
        })
    return out


def named_lines(session, appraisal: Appraisal, locale: str | None) -> list[dict]:
    """The appraisal's lines with what its rule set names (indicator, unit) in ``locale``."""
    lines = [dict(line) for line in (appraisal.snapshot or {}).get("lines", [])]
    return relabel({"lines": lines}, ruleset_for_version(session, appraisal.rule_set_version_id),
                   locale)["lines"]


# The labels people read, then the codes beside them for programs (the action's and the states' codes
# of the workflow table; ``from_code`` is null for the compute that created the appraisal).
TRAIL_KEYS = ("when", "who", "action", "from", "to", "comment", "action_code", "from_code", "to_code")


def trail_rows(events: list[dict], internal: bool) -> list[dict]:
    """The trail as screens and API answers show it: each row's labels in the reader's language and
    the codes beside them; for reviewers and HR each row says its comment's ``visibility``; for the
    appraised employee the rows carry shared comments only and no such key."""
    keys = (*TRAIL_KEYS, "visibility") if internal else TRAIL_KEYS
    return [{k: e[k] for k in keys} for e in events]


def document_snapshot(session, appraisal: Appraisal, locale: str | None = None, *,
                      internal: bool = False) -> dict:
    """The full snapshot for the PDF and the screens: the stored one plus the trail, the comments,
    the signature and the approvals of the current round (``approved``: who and when), with labels
    in ``locale`` (the configured language if None). Only shared comments unless ``internal`` (a
    reviewer's or HR's screen; never the PDF)."""
    locale = locale or default_locale()
    table = workflows.workflow_table(session, appraisal.rule_set_version_id)
    snapshot = in_language(session, appraisal, json.loads(json.dumps(appraisal.snapshot)), locale)  # a copy
    with force_locale(locale):
        events = trail(session, appraisal, table, locale, internal=internal)
    snapshot["trail"] = trail_rows(events, internal)
    snapshot["comments"] = [{"who": e["who"], "when": e["when"], "text": e["comment"],
                             **({"visibility": e["visibility"]} if internal else {})}
                            for e in events if e["comment"]]
    signed = ([e for e in events if e["to_code"] == State.signed.value]
              if appraisal.state == State.signed else [])
    snapshot["signed"] = {"by": signed[-1]["who"], "at": signed[-1]["when"]} if signed else None
    steps = [Step(e["from_code"], e["to_code"]) for e in events]
    snapshot["approved"] = [{"by": events[i]["who"], "at": events[i]["when"]}
                            for i in round_approval_positions(steps)]
    snapshot["state"] = appraisal.state.value
    snapshot["appraisal_version"] = appraisal.version
    snapshot["snapshot_hash"] = appraisal.snapshot_hash
    return snapshot
