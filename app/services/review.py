"""The supervisor's review edit: manual indicator values and an adjustment, rescored at once.

One transaction, one audit event (``review``); the state does not change. The snapshot is
rescored from its own inputs (no metrics query), with the one scorer compute uses. A substitute (代理)
edits where the person they stand in for could; the event is theirs, recorded for that person.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, update

from ..models import Appraisal, AuditEvent
from ..workflow import CommentTooLong, EditLimitReached, check_comment, check_review
from . import incentives, workflows
from .appraisals import load
from .audit import REVIEW, event_row, now
from .caller import Caller
from .errors import Conflict, Kind, ServiceError
from .review_note import write_note
from .rules import ruleset_for_version
from .scoring import Appraisee, Scorer
from .snapshot import snapshot_hash


class ReviewInvalid(ServiceError):
    """Bad review input (HTTP 422); ``errors`` maps a field to its message."""

    kind = Kind.INVALID
    default_message = _l("Please correct the review.")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors=errors)
        self.args = ("; ".join(f"{k}: {v}" for k, v in errors.items()),)
        self.errors = errors


def _finite(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e9:
        raise ValueError(value)
    return number


def recompute_snapshot(session, appraisal: Appraisal, manual: Mapping, adjustment: float,
                       reason: str | None) -> dict:
    """The appraisal's stored snapshot recomputed from its own inputs with new manual values and
    adjustment (no metrics query: the inputs are in the snapshot). The bonus base and HR's
    calibration, if any, stay what the snapshot says."""
    old = appraisal.snapshot
    scorer = Scorer.for_snapshot(old, ruleset_for_version(session, appraisal.rule_set_version_id))
    appraisee = Appraisee.from_snapshot(old)
    inputs = old["inputs"]
    result = scorer.appraise(appraisee, inputs["variables"], inputs["tags"], manual, adjustment,
                             kept_calibration(old))
    return scorer.snapshot(appraisee, result, inputs["variables"], inputs["tags"], reason)


def kept_calibration(snapshot: Mapping) -> dict | None:
    """HR's calibration of a stored snapshot as the override to score with again, or None."""
    calibration = snapshot.get("calibration")
    if not calibration:
        return None
    return {"total": calibration.get("total"), "grade": calibration.get("grade")}


def _checked(table, appraisal: Appraisal, caller: Caller, manual, adjustment, reason):
    """The new manual values, adjustment and reason, or ReviewInvalid naming every bad field."""
    errors: dict[str, str] = {}
    manual_codes = {line["code"] for line in appraisal.snapshot.get("lines", []) if line.get("manual")}
    values = dict(appraisal.manual or {})
    for code, raw in (manual or {}).items():
        if code not in manual_codes:
            errors[f"manual.{code}"] = _("This indicator is not entered by hand.")
            continue
        try:
            values[code] = _finite(raw)
        except (TypeError, ValueError):
            errors[f"manual.{code}"] = _("Enter a number.")
    new_adjustment = appraisal.adjustment
    if adjustment is not None and adjustment != "":
        try:
            new_adjustment = _finite(adjustment) or 0.0
        except (TypeError, ValueError):
            errors["adjustment"] = _("Enter a number.")
        else:
            limit = table.max_adjustment
            if abs(new_adjustment) > limit:
                errors["adjustment"] = _("The adjustment must be between -%(limit)s and +%(limit)s points.",
                                         limit=format(limit, "g"))
    reason = (reason or "").strip()
    adjustment_changed = new_adjustment != appraisal.adjustment
    if new_adjustment and not reason and (adjustment_changed or not appraisal.adjustment_reason):
        errors["reason"] = _("An adjustment needs a reason.")
    try:
        check_comment(reason)
    except CommentTooLong as exc:
        errors["reason"] = exc.reason(caller.locale)
    if errors:
        raise ReviewInvalid(errors)
    return values, new_adjustment, reason


def review(session, appraisal_id, caller: Caller, *, manual: Mapping | None = None,
           adjustment=None, reason: str | None = None, expected_hash: str | None = None) -> Appraisal:
    """The supervisor's review edit: manual indicator values and an adjustment (±max, with a reason);
    the total recomputes at once. One transaction, one audit event (``review``)."""
    try:
        appraisal, facts = load(session, appraisal_id, caller)
        if not appraisal.is_current or (expected_hash and expected_hash != appraisal.snapshot_hash):
            raise Conflict()
        table = workflows.workflow_table(session, appraisal.rule_set_version_id)
        try:
            principal = check_review(table, facts, caller.actor)  # a substitute edits for the principal
        except EditLimitReached as exc:
            raise ReviewInvalid({"review": exc.reason(caller.locale)}) from exc
        values, new_adjustment, reason = _checked(table, appraisal, caller, manual, adjustment, reason)
        adjustment_changed = new_adjustment != appraisal.adjustment
        # Without an adjustment there is no adjustment reason; the text is still the event's comment.
        kept_reason = (reason or appraisal.adjustment_reason or "") if new_adjustment else ""

        snapshot = recompute_snapshot(session, appraisal, values, new_adjustment, kept_reason)
        snapshot = incentives.settle(session, appraisal.cycle, appraisal.id, snapshot)
        digest = snapshot_hash(snapshot)
        at = now()
        changed = session.execute(
            update(Appraisal)
            .where(Appraisal.id == appraisal.id, Appraisal.state == facts.state,
                   Appraisal.snapshot_hash == appraisal.snapshot_hash, Appraisal.is_current.is_(True))
            .values(manual=values, adjustment=new_adjustment, adjustment_reason=kept_reason or None,
                    snapshot=snapshot, snapshot_hash=digest, subtotal=snapshot["subtotal"],
                    total=snapshot["total"], grade=snapshot["grade"], updated_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise Conflict()
        comment = write_note({code: values[code] for code in manual or {}},
                             new_adjustment if adjustment_changed else None, reason)
        session.execute(insert(AuditEvent), [event_row(appraisal.id, caller.actor, REVIEW, facts.state,
                                                       facts.state, comment, digest, at,
                                                       on_behalf_of=principal)])
        session.commit()
        session.refresh(appraisal)
        return appraisal
    except BaseException:
        session.rollback()
        raise
