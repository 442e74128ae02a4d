"""The time of the application: one place to read "now", so that tests move it instead of sleeping.

``now()`` is ``JIXIAO_CLOCK()`` when configured (tests only: a zero-argument callable returning an aware
datetime), else the UTC time. Everything is computed in UTC; only dates people enter or read go through
``zone()`` (``JIXIAO_TIMEZONE``).

Every moment people read goes through one formatter: ``local_text`` (screens, the PDF, exports: the wall
time of the configured zone, ``2026-12-02 10:40``), ``local_date_text`` and ``local_iso`` (API answers:
ISO 8601 with the zone's offset, ``2026-12-02T10:40:00+08:00``). Templates have them as the filters
``local_time``, ``local_date`` and ``local_iso`` (:func:`register_filters`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def now() -> dt.datetime:
    """The current moment, aware, in UTC."""
    clock = current_app.config.get("JIXIAO_CLOCK") if has_app_context() else None
    if clock is None:
        return dt.datetime.now(dt.UTC)
    moment = clock()
    if moment.tzinfo is None:
        raise ValueError("JIXIAO_CLOCK must return an aware datetime")
    return moment.astimezone(dt.UTC)


def zone() -> ZoneInfo:
    """The zone dates are entered and shown in (``JIXIAO_TIMEZONE``)."""
    name = current_app.config.get("JIXIAO_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_ZONE)


def to_local(moment: dt.datetime | str) -> dt.datetime:
    """An aware moment in the local zone (a naive one is taken as UTC, as SQLite returns it; ISO text
    is read first)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone())


def local_text(moment: dt.datetime | str | None, *, seconds: bool = False) -> str:
    """A stored moment as people read it: ``YYYY-MM-DD HH:MM`` (``:SS`` with ``seconds``) in the local
    zone; "" for none. A date stays a date."""
    if not moment:
        return ""
    if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
        return moment.isoformat()
    return to_local(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_date_text(moment: dt.datetime | dt.date | str | None) -> str:
    """The local day of a moment as ``YYYY-MM-DD`` (a date as it is); "" for none."""
    if not moment:
        return ""
    if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
        return moment.isoformat()
    return to_local(moment).date().isoformat()


def local_iso(moment: dt.datetime | str | None) -> str | None:
    """A stored moment as ISO 8601 with the local zone's offset, to the second (API answers); None
    stays None."""
    if not moment:
        return None
    return to_local(moment).isoformat(timespec="seconds")


def register_filters(app) -> None:
    """The formatter as Jinja filters and globals: ``{{ when|local_time }}``, ``|local_date``,
    ``|local_iso``; ``local_time(when)`` also as a function."""
    app.jinja_env.filters["local_time"] = local_text
    app.jinja_env.filters["local_date"] = local_date_text
    app.jinja_env.filters["local_iso"] = local_iso
    app.jinja_env.globals["local_time"] = local_text


def local_today(at: dt.datetime | None = None) -> dt.date:
    """The local date at ``at`` (default: now)."""
    return to_local(at or now()).date()


def end_of_local_day(day: dt.date) -> dt.datetime:
    """The last microsecond of the local ``day``, in UTC: a due date "by 10 December" ends there."""
    start_of_next = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone())
    return (start_of_next - dt.timedelta(microseconds=1)).astimezone(dt.UTC)
