"""One bulk INSERT for the hot paths (imports of a million rows, a cycle's 10,000 appraisals)."""

from __future__ import annotations

import operator
from collections.abc import Collection, Mapping, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

WHOLE = "OR ROLLBACK"  # SQLite: a failing row undoes the transaction, no statement journal (insert_many)


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]], *,
                raw: Collection[str] = (), whole: bool = False,
                columns: Mapping[str, Sequence] | None = None) -> None:
    """INSERT ``rows`` (dicts with the same keys) in one executemany; ``raw`` columns are sent as
    they are (e.g. JSON text made before, not to be encoded again). ``columns``: more values given
    column by column, one per row in the rows' order, for keys the rows lack (ids the caller assigned:
    the rows' dicts stay as they are).

    ``whole``: the caller's transaction is undone whole if any row fails (it rolls back on any error,
    nothing catches one and goes on). On SQLite the statement is then ``INSERT OR ROLLBACK``: an
    ordinary INSERT in a transaction keeps a statement journal, a copy of every page each row's
    statement touches (the row's table page, one page per index), written out per row so that the one
    row could be undone alone: most of the cost of a cycle's 10,000 appraisals. After a failure SQLite
    has rolled the transaction back itself; the caller's rollback then has nothing left to undo.

    The statement is compiled once and each row only goes through the column types' bind
    processors; SQLAlchemy's per-row parameter handling would otherwise cost more than the
    database's work."""
    if not rows:
        return
    extra = dict(columns or {})
    keys = list(rows[0]) + [k for k in extra if k not in rows[0]]
    dialect = conn.dialect
    statement = insert(table).prefix_with(WHOLE, dialect="sqlite") if whole else insert(table)
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    processors = {k: table.c[k].type.dialect_impl(dialect).bind_processor(dialect)
                  for k in keys if k not in raw}
    processors = {k: f for k, f in processors.items() if f is not None}
    names = list(compiled.positiontup) if compiled.positional else keys
    # column by column, so that the loops run in C: rows -> columns -> processed -> rows
    values = [list(extra[k]) if k in extra else list(map(operator.itemgetter(k), rows)) for k in names]
    for i, name in enumerate(names):
        if name in processors:
            values[i] = processed(processors[name], values[i])
    tuples = list(zip(*values, strict=True))
    params: list = tuples if compiled.positional else [dict(zip(names, t, strict=True)) for t in tuples]
    conn.exec_driver_sql(str(compiled), params)


def processed(processor, values: list) -> list:
    """``values`` through a bind processor; once when every row holds the very same object (a batch's
    one timestamp, a shared default), as a batch's rows often do."""
    first = values[0]
    if all(map(operator.is_, values, repeat(first))):
        return [processor(first)] * len(values)
    return list(map(processor, values))
