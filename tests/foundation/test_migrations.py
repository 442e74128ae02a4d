"""The migrations build exactly the schema the models declare (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from app.models import Model


def test_the_migrated_database_matches_the_models(appctx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression indexes cannot be reflected on SQLite
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Model.metadata)
    assert differences == []


def _appraisal_indexes() -> set[str]:
    return {index["name"] for index in inspect(db.engine).get_indexes("appraisal")}


def test_a_fresh_and_an_upgraded_database_find_the_appraisals_of_a_reviewer_by_index(appctx):
    assert "ix_appraisal_reviewer_id" in _appraisal_indexes()  # built by the migrations from nothing
    downgrade(revision="a5c8e2d47f16")  # a database as it was before the index
    db.engine.dispose()
    assert "ix_appraisal_reviewer_id" not in _appraisal_indexes()
    upgrade()
    db.engine.dispose()
    assert "ix_appraisal_reviewer_id" in _appraisal_indexes()


def test_the_metrics_tag_pass_reads_the_partial_index_of_tagged_orders(appctx):
    import datetime as dt

    from sqlalchemy import event, text

    from app.metrics import queries

    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    lower, upper = dt.datetime(2024, 1, 1), dt.datetime(2024, 4, 1)
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        queries.tag_groups(db.session, lower, upper, ["新技术"], None, None)[1].all()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    (sql, params), = statements
    raw = db.session.connection().connection.driver_connection
    # Whether the partial index can serve the query as it is sent (with its bound ''), not which index
    # the planner picks on a nearly empty table: SQLite fails a query INDEXED BY an index it cannot use;
    # PostgreSQL is shown the query with the wide index gone, in a transaction rolled back.
    if db.engine.dialect.name == "sqlite":
        forced = sql.replace("FROM work_order", "FROM work_order INDEXED BY ix_work_order_tagged")
        plan = " ".join(str(row) for row in raw.execute("EXPLAIN QUERY PLAN " + forced, params).fetchall())
    else:
        cursor = raw.cursor()
        cursor.execute("DROP INDEX ix_work_order_metrics")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = " ".join(row[0] for row in cursor.fetchall())
        raw.rollback()
    assert "ix_work_order_tagged" in plan
    downgrade(revision="c4f7a9e2b1d8")
    db.engine.dispose()
    assert "ix_work_order_tagged" not in {i["name"] for i in inspect(db.engine).get_indexes("work_order")}
    upgrade()
    db.engine.dispose()
    assert db.session.execute(text("SELECT 1")).scalar() == 1
    assert "ix_work_order_tagged" in {i["name"] for i in inspect(db.engine).get_indexes("work_order")}
