"""The audit trail's rows: one event per transition, review edit, compute and amendment."""

from __future__ import annotations

import datetime as dt

from .. import clock
from ..workflow import Actor, Principal

# Events that are not transitions of the table; their labels come from the catalog.
COMPUTE, RECOMPUTE, REVIEW, AMEND = "compute", "recompute", "review", "amend"
# A partial approval of a countersigned step (the state stays), and HR naming another reviewer.
COUNTERSIGN, REASSIGN = "countersign", "reassign"
SYSTEM = "system"  # the ``who`` of events nobody signed in caused


def now() -> dt.datetime:
    """The application's clock (:mod:`app.clock`): tests move it."""
    return clock.now()


SHARED, INTERNAL = "shared", "internal"  # who reads an event's comment: the employee too, or reviewers only


def event_row(appraisal_id, actor: Actor, action, from_state, to_state, comment, digest, at=None, *,
              visibility: str = SHARED, on_behalf_of: Principal | None = None) -> dict:
    """The values of one ``audit_event`` row (inserted in the caller's transaction); ``on_behalf_of``:
    the principal a substitute took the step for (the trail shows "代 X")."""
    return {"appraisal_id": appraisal_id, "user_id": actor.user_id, "who": actor.name or SYSTEM,
            "at": at or now(), "action": action, "from_state": from_state, "to_state": to_state,
            "comment": (comment or "").strip() or None, "snapshot_hash": digest,
            "visibility": visibility,
            "on_behalf_of_user_id": on_behalf_of.user_id if on_behalf_of is not None else None,
            "on_behalf_of": (on_behalf_of.name or None) if on_behalf_of is not None else None}
