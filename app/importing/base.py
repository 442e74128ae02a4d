"""What every kind of import shares: column specs, the error list, the running job."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..bulk import insert_many
from .cells import Parser

MAX_ERRORS = 1000


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = False


class Errors:
    """The problems found, in file order; beyond ``MAX_ERRORS`` only counted."""

    def __init__(self, limit: int = MAX_ERRORS) -> None:
        self.items: list[dict[str, Any]] = []
        self.more = 0
        self.limit = limit

    def add(self, row: int | None, column: str | None, message: str) -> None:
        if len(self.items) < self.limit:
            self.items.append({"row": row, "column": column, "message": str(message)})
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def count(self) -> int:
        """How many problems in all, listed or only counted."""
        return len(self.items) + self.more

    def as_list(self) -> list[dict[str, Any]]:
        items = sorted(self.items, key=lambda e: (e["row"] or 0))
        if self.more:
            items.append({"row": None, "column": None,
                          "message": _("… and %(n)d more problems not listed.", n=self.more)})
        return items


@dataclass
class Job:
    """One import run: the transaction's connection and what it has done so far."""

    session: Session
    update: bool
    errors: Errors
    timezone: ZoneInfo
    inserted: int = 0
    updated: int = 0
    accounts: list[dict[str, str]] = field(default_factory=list)  # new users and their passwords

    @property
    def conn(self) -> Connection:
        return self.session.connection()

    def max_id(self, table: Table) -> int:
        """The highest key before this import: rows above it were written by this import."""
        return self.conn.scalar(select(func.max(table.c.id))) or 0

    def __post_init__(self) -> None:
        self.fixed_offset = _fixed_offset(self.timezone)

    def hours(self, start: dt.datetime, end: dt.datetime) -> float:
        """Hours between two local wall times, by the time zone's rules (daylight saving included)."""
        if self.fixed_offset:  # e.g. Asia/Shanghai: wall-clock difference is the real one
            return (end - start).total_seconds() / 3600.0
        tz = self.timezone
        return (end.replace(tzinfo=tz).timestamp() - start.replace(tzinfo=tz).timestamp()) / 3600.0


def _fixed_offset(tz: ZoneInfo) -> bool:
    """True when the zone's UTC offset is the same in every month from 1995 to 2050."""
    offsets = {dt.datetime(year, month, 15, tzinfo=tz).utcoffset()
               for year in range(1995, 2051) for month in range(1, 13)}
    return len(offsets) == 1


def bulk_insert(job: Job, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) in one executemany, counted as inserted."""
    insert_many(job.conn, table, rows)
    job.inserted += len(rows)


class Kind:
    """One kind of file. Subclasses list their columns and write chunks of valid rows."""

    key = ""
    columns: Sequence[Column] = ()
    chunk_size = 5000

    def start(self, job: Job) -> None:
        """Load what validation needs (small lookups) before the first row."""

    def check(self, job: Job, row: int, values: dict[str, Any]) -> bool:
        """Checks across the cells of one row; add errors and return False to drop the row.
        Runs on rows with unreadable cells too (their values are None), so skip what is missing."""
        return True

    def write(self, job: Job, rows: list[tuple[int, dict[str, Any]]]) -> None:
        """Validate a chunk against the database and write it."""
        raise NotImplementedError

    def finish(self, job: Job) -> None:
        """Checks that need the whole file (references to later rows)."""


def in_chunk_duplicates(job: Job, rows, key, column: str) -> list[tuple[int, dict[str, Any]]]:
    """Drop (and report) rows whose key repeats an earlier row of the same chunk."""
    seen: dict[Any, int] = {}
    kept = []
    for row, values in rows:
        k = key(values)
        if k in seen:
            job.errors.add(row, column,
                           _("Duplicate: the same key is in row %(row)d of this file.", row=seen[k]))
            continue
        seen[k] = row
        kept.append((row, values))
    return kept
