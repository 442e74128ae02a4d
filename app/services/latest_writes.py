"""When a cycle's appraisals were last written: what every figure a web worker keeps per cycle (HR's home
counts, the cycle page, the calibration screen, HR's dashboard) is checked against on each view.

Every write to an appraisal stamps its ``updated_at`` (new rows too), so the latest stamp of a cycle's
appraisals moves with any change; reading it is one descent of the index on (cycle, updated_at). Two writes
in flight at once may commit the earlier stamp last: figures are kept only once the latest write is
``SETTLE`` old, longer than any write transaction takes from stamping to committing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import bindparam, func, select

from ..models import Appraisal, Cycle

SETTLE = dt.timedelta(minutes=5)
# The latest write of a cycle's appraisals as a column of a statement over the cycles.
LATEST_WRITE = (select(func.max(Appraisal.updated_at)).where(Appraisal.cycle_id == Cycle.id)
                .scalar_subquery())
_EVERY_CYCLE = select(Cycle.id, LATEST_WRITE)
_SOME_CYCLES = _EVERY_CYCLE.where(Cycle.id.in_(bindparam("ids", expanding=True)))


def aware(moment) -> dt.datetime | None:
    """A stored moment as an aware UTC datetime (SQLite returns naive ones, or text from an aggregate)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def latest_write(session, cycle_id: int) -> dt.datetime | None:
    """When the cycle's appraisals were last written; None without appraisals."""
    return aware(session.scalar(select(func.max(Appraisal.updated_at)).where(Appraisal.cycle_id == cycle_id)))


def latest_writes(session, cycle_ids: Iterable[int] | None = None) -> dict[int, dt.datetime]:
    """Cycle id → when its appraisals were last written (aware UTC), for these cycles (None: every cycle);
    a cycle without appraisals is absent. One statement, one descent of the index per cycle."""
    if cycle_ids is None:
        rows = session.execute(_EVERY_CYCLE)
    else:
        ids = sorted(set(cycle_ids))
        if not ids:
            return {}
        rows = session.execute(_SOME_CYCLES, {"ids": ids})
    return {cycle_id: aware(moment) for cycle_id, moment in rows if moment is not None}
