"""When a cycle's appraisals were last written: what every figure a web worker keeps per cycle (HR's home
counts, the cycle page, the calibration screen, HR's dashboard) is checked against on each view.

Every write to an appraisal stamps its ``updated_at`` (new rows too), so the latest stamp of a cycle's
appraisals moves with any change; reading it is one descent of the index on (cycle, updated_at). Two writes
in flight at once may commit the earlier stamp last: figures are kept only once the latest write is
``SETTLE`` old, longer than any write transaction takes from stamping to committing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ..models import Appraisal

SETTLE = dt.timedelta(minutes=5)


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
