"""The bulk insert of the hot paths (app/bulk.py) writes what one INSERT per row would: a value shared by
every row (a batch's timestamp, a new appraisal's empty manual values) is encoded once, and rows that differ
keep their own values."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import JSON

from app.bulk import insert_many, processed
from app.extensions import db

TABLE = Table("bulk_probe", MetaData(), Column("id", Integer, primary_key=True), Column("at", DateTime),
              Column("data", JSON))


def test_a_shared_value_is_encoded_once_and_the_others_each():
    calls = []

    def encode(value):
        calls.append(value)
        return f"<{value}>"

    shared = {"a": 1}
    assert processed(encode, [shared, shared, shared]) == ["<{'a': 1}>"] * 3 and len(calls) == 1
    assert processed(encode, [{"a": 1}, {"a": 1}]) == ["<{'a': 1}>"] * 2 and len(calls) == 3  # equal, not one
    assert processed(encode, [1, 2, 1]) == ["<1>", "<2>", "<1>"]


def test_rows_sharing_values_are_stored_as_rows_of_their_own(appctx):
    at, other, empty = dt.datetime(2024, 5, 1, 8, 30), dt.datetime(2024, 5, 2, 9, 0), {}
    conn = db.session.connection()
    TABLE.create(conn)
    try:
        insert_many(conn, TABLE, [{"id": 1, "at": at, "data": empty}, {"id": 2, "at": at, "data": empty},
                                  {"id": 3, "at": other, "data": {"k": "值"}}])
        rows = conn.execute(select(TABLE).order_by(TABLE.c.id)).all()
        assert [tuple(r) for r in rows] == [(1, at, {}), (2, at, {}), (3, other, {"k": "值"})]
    finally:
        TABLE.drop(conn)
        db.session.rollback()


def test_values_given_column_by_column_go_with_the_rows_in_their_order(appctx):
    conn = db.session.connection()
    TABLE.create(conn)
    try:
        rows = [{"data": {"n": 1}}, {"data": {"n": 2}}, {"data": {"n": 3}}]
        insert_many(conn, TABLE, rows, columns={"id": range(7, 10)})
        assert conn.execute(select(TABLE.c.id, TABLE.c.data).order_by(TABLE.c.id)).all() == [
            (7, {"n": 1}), (8, {"n": 2}), (9, {"n": 3})]
        assert rows == [{"data": {"n": 1}}, {"data": {"n": 2}}, {"data": {"n": 3}}]  # left as they were
        with pytest.raises(ValueError):  # one value per row
            insert_many(conn, TABLE, rows, columns={"id": [10, 11]})
    finally:
        TABLE.drop(conn)
        db.session.rollback()


def test_whole_rows_undo_the_transaction_when_one_fails_and_keep_no_statement_journal_on_sqlite(appctx):
    conn = db.session.connection()
    TABLE.create(conn)
    db.session.commit()
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    try:
        conn = db.session.connection()
        event.listen(conn, "before_cursor_execute", note)
        insert_many(conn, TABLE, [{"id": 1, "data": {}}], whole=True)
        sqlite = conn.dialect.name == "sqlite"
        # SQLite: a whole-transaction statement (no per-row statement journal); elsewhere a plain INSERT
        assert seen[-1].startswith("INSERT OR ROLLBACK INTO" if sqlite else "INSERT INTO bulk_probe")
        with pytest.raises(IntegrityError):
            insert_many(conn, TABLE, [{"id": 2, "data": {}}, {"id": 1, "data": {}}], whole=True)
        db.session.rollback()
        assert db.session.execute(select(TABLE.c.id)).all() == []  # the row before the failure undone too
    finally:
        db.session.rollback()
        TABLE.drop(db.session.connection(), checkfirst=True)
        db.session.commit()
