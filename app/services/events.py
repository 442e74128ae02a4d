"""What happened, for whoever listens: the one hook from the services to notifications.

A service calls :func:`emit` inside its own transaction, after its audit event and before its commit;
every registered listener runs there, in the caller's session, and never commits. A listener that raises
rolls the step back, as a sign effect does. The services never import the listeners (``app/notify``
registers itself at start-up through :func:`register_listener`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The kinds of event.
TRANSITION = "transition"      # submit, approve, return, dispute, resolve, uphold, sign (one or in bulk)
COUNTERSIGN = "countersign"    # one seat of a countersigned step filled; the state stays
PUBLISH = "publish"            # a cycle's results published
AMEND = "amend"                # HR's amendment: a new version, back to review
REASSIGN = "reassign"          # HR named another reviewer
JOB_FINISHED = "job_finished"  # a background job ended (sent after the commit that ended it)

KINDS = (TRANSITION, COUNTERSIGN, PUBLISH, AMEND, REASSIGN, JOB_FINISHED)


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``key`` is unique per event ("audit:<audit_event.id>",
    "publish:<cycle>", "job:<id>:<state>"): a notification is written once per user and key."""

    kind: str
    key: str
    appraisal_ids: tuple[int, ...] = ()
    cycle_id: int | None = None
    action: str | None = None
    source: str | None = None
    target: str | None = None
    actor_user_id: int | None = None
    on_behalf_of_user_id: int | None = None
    job_id: int | None = None


Listener = Callable[..., None]
_LISTENERS: list[Listener] = []


def register_listener(fn: Listener) -> None:
    """Call ``fn(session, event)`` on every event; registering the same function twice is harmless."""
    if fn not in _LISTENERS:
        _LISTENERS.append(fn)


def unregister_listener(fn: Listener) -> None:
    """Stop calling ``fn`` (tests)."""
    if fn in _LISTENERS:
        _LISTENERS.remove(fn)


def emit(session, event: Event) -> None:
    """Run every listener on ``event`` in the caller's transaction (the caller commits or rolls back)."""
    if event.kind not in KINDS:
        raise ValueError(f"unknown event kind: {event.kind}")
    for listener in tuple(_LISTENERS):
        listener(session, event)
