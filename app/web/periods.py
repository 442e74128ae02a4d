"""Periods and dates as the screens and the APIs read them from a request."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _


def parse_period(args) -> tuple[dt.date, dt.date]:
    """``start``/``end`` from the query (``YYYY-MM-DD``); this month so far by default.
    Raises ValueError with a translated message."""
    today = dt.date.today()
    try:
        start = dt.date.fromisoformat(args["start"]) if args.get("start") else today.replace(day=1)
        end = dt.date.fromisoformat(args["end"]) if args.get("end") else today
    except ValueError:
        raise ValueError(_("Dates must be written YYYY-MM-DD.")) from None
    if end < start:
        raise ValueError(_("The period ends before it starts."))
    if end == dt.date.max:  # a period runs to the start of the day after its end
        raise ValueError(_("The period must end before 9999-12-31."))
    return start, end


def parse_date(value) -> dt.date:
    """A date written ``YYYY-MM-DD``; ValueError for anything else."""
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError
    return dt.date.fromisoformat(value)
