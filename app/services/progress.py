"""A compute's progress on the cycle row, for a compute run outside the job layer (the command line's
``cycle compute``); screens and the API follow a background compute on its job (app/jobs/compute.py)."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import update

from .. import clock
from ..models import Cycle
from .audit import now
from .scoring_pool import Progress


class ProgressRecorder:
    """A progress callback that also writes the progress onto the cycle row, outside the compute's
    transaction (its own connection), at most every ``interval`` seconds; the progress API reads it. The
    write phase is not recorded: the compute then holds the locks this would wait for."""

    def __init__(self, engine, cycle_id: int, echo: Progress | None = None, interval: float = 0.5) -> None:
        self.engine, self.cycle_id, self.echo, self.interval = engine, cycle_id, echo, interval
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.echo:
            self.echo(stage, done, total)
        moment = time.monotonic()
        if stage == "write" or (moment - self.last < self.interval and done not in (0, total)):
            return
        self.last = moment
        self.write(stage=stage, done=done, total=total)

    def write(self, *, stage: str | None, done: int | None = None, total: int | None = None,
              error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Cycle.__table__).where(Cycle.__table__.c.id == self.cycle_id).values(
                progress_stage=stage, progress_done=done, progress_total=total, progress_at=now(),
                progress_error=error,
            ))


STALE_SECONDS = 60


def progress_of(cycle: Cycle) -> dict:
    """The state of a running (or interrupted) compute, as the screens and the API report it."""
    at = cycle.progress_at
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    running = bool(cycle.progress_stage) and at is not None and (now() - at).total_seconds() < STALE_SECONDS
    return {
        "status": cycle.status.value, "running": running, "stage": cycle.progress_stage,
        "done": cycle.progress_done, "total": cycle.progress_total, "error": cycle.progress_error,
        "interrupted": bool(cycle.progress_stage) and not running and not cycle.progress_error,
        "computed_at": clock.local_iso(cycle.computed_at),
    }
