"""How often the tables behind the big lists were written: a change count per table that the database
keeps itself, so that a count of rows kept by any process can be checked against it in the same statement
that reads a page (app.web.datamodel).

Triggers (migration c4f7a9e2b1d8) add to ``table_change`` whenever a row of a counted table is inserted,
updated or deleted, by whatever writes it: a web worker, an import, a background job, raw SQL.

- SQLite: one row per table; a row trigger adds one per row written. SQLite has one writer at a time,
  so the row is never contended; the trigger costs about a microsecond per imported row.
- PostgreSQL: a statement trigger, once per transaction and table (the trigger's ``WHEN`` reads a
  transaction-local setting ``jixiao.changed_<table>`` that the trigger function sets). The function
  never waits for another writer: it inserts a row of its own, and folds into it the rows of committed
  writers that no one else holds (``FOR UPDATE SKIP LOCKED``), so the rows stay few and concurrent
  writers never block or deadlock on them. What a transaction sees of a table's ``sum(changes)`` grows by
  exactly one with each committed transaction that wrote it, and what two snapshots see of a database
  only grows with time, so an equal sum means the same committed writes.

A reader (:func:`version_of`) reads the sum over the tables its query reads. A transaction that wrote one
of them itself sees its own uncommitted change, which may still be undone: its sum is not used
(NULL on PostgreSQL, where the setting tells; on SQLite the caller sees the driver's open transaction).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, case, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from .base import Model

# The tables whose writes are counted: the big lists' tables and those their scopes read. A list
# reading any other table is counted afresh on every page.
COUNTED_TABLES = ("appraisal", "cycle", "employee", "labor_cost", "station", "survey", "work_order")


class TableChange(Model):
    """Writes to a counted table: on SQLite one row per table, on PostgreSQL a few rows summed."""

    __tablename__ = "table_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    changes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


def version_of(tables, dialect_name: str) -> ColumnElement:
    """A scalar SQL expression: the writes to ``tables`` (counted tables) as this statement sees them;
    NULL on PostgreSQL when this transaction wrote one of them (its own writes may still be undone)."""
    names = sorted(tables)
    changes = select(func.sum(TableChange.changes)).where(TableChange.table_name.in_(names)).scalar_subquery()
    if dialect_name != "postgresql":
        return changes
    wrote = or_(*(func.current_setting(f"jixiao.changed_{name}", True) == "y" for name in names))
    return case((wrote, None), else_=changes)
