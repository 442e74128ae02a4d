"""A running compute's progress, on the cycle row for every worker to see, and computing in the background."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import update

from ..extensions import db
from ..models import Cycle
from ..workflow import Actor
from . import compute
from .audit import now
from .scoring_pool import Progress


class ProgressRecorder:
    """A progress callback that also writes the progress onto the cycle row, outside the compute's
    transaction (its own connection), at most every ``interval`` seconds; screens poll it. The
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
        "computed_at": cycle.computed_at.isoformat() if cycle.computed_at else None,
    }


_RUNNING: set[int] = set()
_RUNNING_LOCK = threading.Lock()


def start_compute_in_background(app, cycle_id: int, actor: Actor, *, rebind: bool = False) -> bool:
    """Compute in a thread of this process (the screens poll :func:`progress_of`); False if a
    compute of that cycle is running already (its progress is fresh, or this process runs it)."""
    with app.app_context():
        cycle = db.session.get(Cycle, cycle_id)
        if cycle is not None and progress_of(cycle)["running"]:
            return False
    with _RUNNING_LOCK:
        if cycle_id in _RUNNING:
            return False
        _RUNNING.add(cycle_id)
    # The first stage is on the cycle row before this returns: the page shown next polls the
    # progress instead of showing an idle cycle while the thread starts.
    try:
        with app.app_context():
            ProgressRecorder(db.engine, cycle_id).write(stage="rules", done=0, total=1)
    except BaseException:
        with _RUNNING_LOCK:
            _RUNNING.discard(cycle_id)
        raise

    def run() -> None:
        with app.app_context():
            recorder = ProgressRecorder(db.engine, cycle_id)
            try:
                cycle = db.session.get(Cycle, cycle_id)
                compute.compute_cycle(db.session, cycle, recorder, actor=actor, rebind=rebind)
            except compute.CycleError as exc:
                recorder.write(stage=None, error=exc.message)
            except Exception as exc:  # noqa: BLE001 - reported on the screen, logged
                app.logger.exception("compute of cycle %s failed", cycle_id)
                recorder.write(stage=None, error=type(exc).__name__)
            finally:
                db.session.remove()
                with _RUNNING_LOCK:
                    _RUNNING.discard(cycle_id)

    threading.Thread(target=run, name=f"compute-cycle-{cycle_id}", daemon=True).start()
    return True
