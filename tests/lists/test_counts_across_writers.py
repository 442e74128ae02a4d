"""A list's kept count (app.web.datamodel) against writes by anyone: another connection's insert, an update
of a filtered column, a delete, a bulk import, another process; the count and every page stay exact, pages
read from the end equal the same pages read forward, and a page with a kept count counts nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import create_engine, func, select, text

from app.extensions import db
from app.models import COUNTED_TABLES, TableChange, WorkOrder
from app.web import datamodel
from app.web.datamodel import interface
from tests.conftest import BACKEND
from tests.factories import counted
from tests.source.factories import ORDER_HEADER, load, order

LIST = "/api/v1/workorder/"
EMP2 = "filters:!((col:technician_no,opr:eq,value:EMP2)),order_column:reported_at,order_direction:asc,"


@pytest.fixture(autouse=True)
def _no_kept_counts(monkeypatch):
    monkeypatch.setattr(datamodel, "_kept", {})


def expected_ids(app, technician_no: str | None = None) -> list[int]:
    with app.app_context():
        if technician_no is None:
            query = select(WorkOrder.id).order_by(WorkOrder.id)
        else:
            query = (select(WorkOrder.id).where(WorkOrder.technician_no == technician_no)
                     .order_by(WorkOrder.reported_at, WorkOrder.id))
        return list(db.session.scalars(query))


def pages(api, q: str, size: int, count: int) -> list[int]:
    """Every page of the list (the later ones are read from the end), checking each page's count."""
    ids: list[int] = []
    for page in range(count // size + 1):
        r = api.get(f"{LIST}?q=({q}page:{page},page_size:{size})")
        assert r.status_code == 200 and r.json["count"] == count, (page, r.json.get("count"), count)
        ids += [row["id"] for row in r.json["result"]]
    return ids


def elsewhere(app, *statements: str) -> None:
    """``statements`` in one transaction of a connection of its own, committed."""
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
            connection.commit()
        finally:
            connection.close()


COPY = ("INSERT INTO work_order (order_no, station_code, station_id, technician_no, technician_id,"
        " customer_type, reported_at) SELECT order_no || '-{tag}', station_code, station_id, technician_no,"
        " technician_id, customer_type, reported_at FROM work_order WHERE technician_no = 'EMP2'"
        " AND id IN (SELECT id FROM work_order ORDER BY id LIMIT {n})")
UNREFERENCED = ("id NOT IN (SELECT order_id FROM survey) AND id NOT IN"
                " (SELECT rework_of_id FROM work_order WHERE rework_of_id IS NOT NULL)")


def insert(app) -> None:
    elsewhere(app, COPY.format(tag="again", n=400))


def update_filtered_column(app) -> None:
    elsewhere(app, "UPDATE work_order SET technician_no = 'EMP2' WHERE id IN (SELECT id FROM work_order"
                   " WHERE technician_no <> 'EMP2' ORDER BY id LIMIT 2)")


def delete(app) -> None:
    elsewhere(app, "DELETE FROM work_order WHERE id IN (SELECT id FROM work_order"
                   f" WHERE technician_no = 'EMP2' AND {UNREFERENCED} ORDER BY id DESC LIMIT 2)")


def bulk_import(app) -> None:
    with app.app_context():
        known = db.session.execute(select(WorkOrder.station_code, WorkOrder.reported_at)
                                   .where(WorkOrder.technician_no == "EMP2").limit(1)).one()
        rows = [order(f"BULK-{i}", technician_no="EMP2", station_code=known.station_code,
                      reported_at=f"{known.reported_at:%Y-%m-%d} 0{i % 10}:00") for i in range(30)]
        assert load("work-orders", ORDER_HEADER, rows).inserted == 30
        db.session.remove()


def other_process(app) -> None:
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
    script = textwrap.dedent(f"""
        from sqlalchemy import create_engine, text
        with create_engine({url!r}).begin() as connection:
            connection.execute(text({COPY.format(tag="process", n=300)!r}))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


WRITES = {"insert": insert, "update of a filtered column": update_filtered_column, "delete": delete,
          "bulk import": bulk_import, "another process": other_process}


@pytest.mark.parametrize("write", WRITES)
def test_a_kept_count_goes_stale_the_moment_anyone_writes(app, api_as, write):
    api = api_as("hr")
    lists = {"all": ("", None), "EMP2's by report": (EMP2, "EMP2")}
    before = {}
    for name, (q, technician_no) in lists.items():
        before[name] = expected_ids(app, technician_no)
        count = len(before[name])
        assert pages(api, q, max(2, count // 7), count) == before[name], name
        with counted(app) as statements:  # the count is kept: the page counts nothing
            assert api.get(f"{LIST}?q=({q}page:{count // 3},page_size:2)").json["count"] == count
        assert not [s for s in statements if "count(*)" in s], name

    WRITES[write](app)

    changed = False
    for name, (q, technician_no) in lists.items():
        after = expected_ids(app, technician_no)
        changed |= after != before[name]
        assert pages(api, q, max(2, len(after) // 7), len(after)) == after, name
    assert changed


def test_a_count_seen_inside_an_undone_write_is_never_used(app, monkeypatch):
    # This connection adds two orders it then rolls back; another connection adds one and changes one.
    # The change count has moved by two either way on SQLite (by one per transaction on PostgreSQL): a
    # count kept inside the undone transaction would answer N + 2 for a list of N + 1.
    with app.app_context():
        model = interface(WorkOrder)
        selected = db.session.query(WorkOrder.id)
        count, _keys = model.list_page(selected, "id", "asc", 0, 5)
        template = db.session.get(WorkOrder, db.session.scalar(select(func.min(WorkOrder.id))))
        copied = ("station_code", "station_id", "technician_no", "technician_id", "customer_type",
                  "reported_at")
        for tag in ("x", "y"):
            db.session.add(WorkOrder(order_no=f"{template.order_no}-{tag}",
                                     **{name: getattr(template, name) for name in copied}))
        db.session.flush()
        assert model.list_page(db.session.query(WorkOrder.id), "id", "asc", 0, 5)[0] == count + 2
        db.session.rollback()
        elsewhere(app, COPY.format(tag="other", n=200).replace("technician_no = 'EMP2'", "1 = 1")
                  .replace("LIMIT 200", "LIMIT 1"),
                  f"UPDATE work_order SET tags = 'changed' WHERE id = {template.id}")
        last = count // 5  # read from the end by the count
        got, keys = model.list_page(db.session.query(WorkOrder.id), "id", "asc", last, 5)
        assert got == count + 1
        assert keys == list(db.session.scalars(select(WorkOrder.id).order_by(WorkOrder.id)))[last * 5:]


@pytest.mark.parametrize("size", [2, 10])
def test_a_page_with_a_kept_count_runs_the_same_statements_wherever_it_is(app, api_as, size):
    api = api_as("hr")
    count = len(expected_ids(app))
    paths = [f"{LIST}?q=(page_size:{size})", f"{LIST}?q=(page:{count // size - 1},page_size:{size})",
             f"{LIST}?q=({EMP2}page_size:{size})"]
    runs = []
    for path in paths:
        assert api.get(path).status_code == 200  # counts and keeps
        with counted(app) as statements:
            r = api.get(path)
        assert r.status_code == 200 and len(r.json["result"]) == size, path
        assert not [s for s in statements if "count(*)" in s], path
        runs.append(len(statements))
    assert len(set(runs)) == 1, runs


def test_every_counted_table_has_its_triggers(appctx):
    if BACKEND == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    names = set(db.session.scalars(text(query)))
    for table in COUNTED_TABLES:
        expected = {f"{table}_changed"} if BACKEND == "postgresql" else {
            f"{table}_inserted", f"{table}_updated", f"{table}_deleted"}
        assert expected <= names, table
    rows = db.session.execute(select(TableChange.table_name, func.sum(TableChange.changes))
                              .group_by(TableChange.table_name)).all()
    assert {name for name, _changes in rows} == set(COUNTED_TABLES)


def changes_of(connection, table: str) -> tuple[int, int]:
    """The writes counted for ``table`` as ``connection`` sees them, and the rows holding them."""
    return connection.execute(text("SELECT coalesce(sum(changes), 0), count(*) FROM table_change"
                                   " WHERE table_name = :table"), {"table": table}).one()


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's concurrent writers")
def test_writers_never_wait_for_each_other_and_a_transaction_counts_once(appctx):
    engine = create_engine(db.engine.url)
    try:
        with engine.connect() as reader, engine.connect() as first, engine.connect() as second:
            start, _rows = changes_of(reader, "labor_cost")
            first.execute(text("UPDATE labor_cost SET salary = salary WHERE id IN"
                               " (SELECT id FROM labor_cost ORDER BY id LIMIT 3)"))
            first.execute(text("DELETE FROM labor_cost WHERE id = (SELECT max(id) FROM labor_cost)"))
            # a second writer, while the first holds its transaction open, neither waits nor fails
            second.execute(text("SET lock_timeout = '2s'"))
            second.execute(text("UPDATE labor_cost SET salary = salary WHERE id ="
                                " (SELECT id FROM labor_cost ORDER BY id OFFSET 5 LIMIT 1)"))
            second.commit()
            assert changes_of(reader, "labor_cost")[0] == start + 1
            reader.rollback()
            first.commit()
            counted_now, rows = changes_of(reader, "labor_cost")
            assert counted_now == start + 2  # once per transaction, whatever its statements
            assert rows <= 3  # folded: the rows stay few
            reader.rollback()
            with engine.begin() as third:
                third.execute(text("TRUNCATE labor_cost"))
            assert changes_of(reader, "labor_cost")[0] == start + 3
    finally:
        engine.dispose()
