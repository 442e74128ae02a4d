"""Extension objects, created unbound; create_app() binds them. No global AppBuilder here:
a module-level one breaks a second create_app() in the same process (tests do that).

SQLite's query planner statistics (``sqlite_stat1``), which SQLite never gathers by itself: a transaction
that wrote at least ANALYZE_AFTER_ROWS rows of a table (an import, a cycle's compute) analyses that
table as it commits, and a connection runs ``PRAGMA optimize`` as it closes, as SQLite recommends;
``app.setup.prepare`` analyses the whole database at start. Each ANALYZE reads at most ANALYSIS_LIMIT
entries of each index (``PRAGMA analysis_limit``): milliseconds on a million rows."""

import re
import sqlite3

from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

db = SQLA()
migrate = Migrate()

ANALYZE_AFTER_ROWS = 5_000
ANALYSIS_LIMIT = 1_000
_WRITE = re.compile(r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE)
_WRITTEN = "jixiao_rows_written"


@event.listens_for(Engine, "after_cursor_execute")
def _note_rows_written(conn, cursor, statement, _parameters, _context, _executemany) -> None:
    if conn.dialect.name != "sqlite" or cursor.rowcount <= 0:
        return
    match = _WRITE.match(statement)
    if match:
        written = conn.info.setdefault(_WRITTEN, {})
        written[match.group(1)] = written.get(match.group(1), 0) + cursor.rowcount


@event.listens_for(Engine, "commit")
def _analyze_bulk_writes(conn) -> None:
    """Before a transaction commits: the tables it wrote many rows of are analysed, in it."""
    written = conn.info.pop(_WRITTEN, None)
    tables = [table for table, rows in (written or {}).items() if rows >= ANALYZE_AFTER_ROWS]
    if tables:
        analyze(conn.connection.dbapi_connection, tables)


@event.listens_for(Engine, "rollback")
def _forget_rows_written(conn) -> None:
    # An invalidated connection (a stop signal raised inside the driver's wait) has no info to forget,
    # and reading it would raise instead of letting the rollback go through.
    if conn.dialect.name == "sqlite" and not conn.invalidated:
        conn.info.pop(_WRITTEN, None)


@event.listens_for(Pool, "close")
def _optimize_on_close(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        try:
            dbapi_connection.execute("PRAGMA optimize")
        except sqlite3.Error:  # a connection closed because it failed may not answer
            pass


def analyze(dbapi_connection, tables=()) -> None:
    """ANALYZE ``tables`` (names of tables, all when none) on a SQLite DBAPI connection, bounded."""
    dbapi_connection.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    for table in tables or [""]:
        dbapi_connection.execute(f'ANALYZE "{table}"' if table else "ANALYZE")
