"""The audit trail's rows: one event per transition, review edit, compute and amendment."""

from __future__ import annotations

import datetime as dt

from ..workflow import Actor

# Events that are not transitions of the table; their labels come from the catalog.
COMPUTE, RECOMPUTE, REVIEW, AMEND = "compute", "recompute", "review", "amend"
SYSTEM = "system"  # the ``who`` of events nobody signed in caused


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SHARED, INTERNAL = "shared", "internal"  # who reads an event's comment: the employee too, or reviewers only


def event_row(appraisal_id, actor: Actor, action, from_state, to_state, comment, digest, at=None, *,
              visibility: str = SHARED) -> dict:
    """The values of one ``audit_event`` row (inserted in the caller's transaction)."""
    return {"appraisal_id": appraisal_id, "user_id": actor.user_id, "who": actor.name or SYSTEM,
            "at": at or now(), "action": action, "from_state": from_state, "to_state": to_state,
            "comment": (comment or "").strip() or None, "snapshot_hash": digest,
            "visibility": visibility}
