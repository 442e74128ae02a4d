"""The time of the application: one place to read "now", so that tests move it instead of sleeping.

``now()`` is ``JIXIAO_CLOCK()`` when configured (tests only: a zero-argument callable returning an aware
datetime), else the UTC time. Everything is computed in UTC; only dates people enter or read go through
``zone()`` (``JIXIAO_TIMEZONE``).
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


def to_local(moment: dt.datetime) -> dt.datetime:
    """An aware moment in the local zone (a naive one is taken as UTC, as SQLite returns it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone())


def local_today(at: dt.datetime | None = None) -> dt.date:
    """The local date at ``at`` (default: now)."""
    return to_local(at or now()).date()


def end_of_local_day(day: dt.date) -> dt.datetime:
    """The last microsecond of the local ``day``, in UTC: a due date "by 10 December" ends there."""
    start_of_next = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone())
    return (start_of_next - dt.timedelta(microseconds=1)).astimezone(dt.UTC)
