"""SQLite's query planner statistics (app.extensions): gathered at start, and by a transaction that writes
many rows of a table (an import) for that table, in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from app import extensions
from app.extensions import db
from app.models import WorkOrder
from tests.conftest import BACKEND
from tests.source.factories import ORDER_HEADER, load, order

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's statistics")


def analysed(table: str) -> int:
    return db.session.scalar(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = :table"), {"table": table})


def test_a_prepared_database_has_the_statistics_of_its_lists(appctx):
    for table in ("appraisal", "work_order", "employee", "audit_event"):
        assert analysed(table) > 0, table


def import_orders(prefix: str, rows: int):
    known = db.session.execute(select(WorkOrder.station_code, WorkOrder.technician_no).limit(1)).one()
    return load("work-orders", ORDER_HEADER, [
        order(f"{prefix}-{i}", technician_no=known.technician_no, station_code=known.station_code)
        for i in range(rows)])


def test_an_import_of_many_rows_analyses_its_table_and_a_small_one_does_not(appctx, monkeypatch):
    monkeypatch.setattr(extensions, "ANALYZE_AFTER_ROWS", 25)
    db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'work_order'"))
    db.session.commit()
    assert import_orders("FEW", 10).inserted == 10
    assert analysed("work_order") == 0
    assert import_orders("MANY", 30).inserted == 30
    assert analysed("work_order") > 0
    total = db.session.scalar(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'work_order' AND idx ="
                                   " 'ix_work_order_technician_no'"))
    assert int(total.split()[0]) == db.session.scalar(text("SELECT count(*) FROM work_order"))
