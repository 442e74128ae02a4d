"""The cycle's workbook is streamed: its first bytes leave before a row is read, the whole reads back
cell for cell as the workbook written in one go (tests/exports/reference.py); refusals are clean JSON
answers before any byte; a failure after the first bytes cuts the download off without a directory, so
no reader takes it for a workbook; a client that leaves stops the writer."""

from __future__ import annotations

import io
import logging
import threading
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import app.exports.cycle as cycle_export
import app.exports.lists as list_export
from app.api.export import ExportBroken
from app.exports import cycle_workbook, results_workbook
from app.extensions import db
from app.models import Appraisal, Cycle
from app.scoping import Scope
from tests.exports.reference import ReferenceBook, cells
from tests.exports.test_cycle_export import HOSTILE, cycle_id, rename, set_amounts

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def reference(app, monkeypatch, module, write) -> dict:
    """The cells of the workbook ``write(session, out)`` makes with the writer of before."""
    out = io.BytesIO()
    with monkeypatch.context() as patch, app.test_request_context():
        patch.setattr(module, "Book", ReferenceBook)
        write(db.session, out)
        db.session.remove()
    return cells(load_workbook(io.BytesIO(out.getvalue())))


def test_the_streamed_workbook_is_cell_for_cell_the_one_written_at_once(app, api_as, monkeypatch):
    rename(app, HOSTILE)
    set_amounts(app, {"EMP1": "2000", "EMP2": "1235"})
    cid = cycle_id(app)
    response = api_as("hr").get(f"/api/v1/cycle/{cid}/export.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX and response.is_streamed
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Content-Length" not in response.headers
    streamed = cells(load_workbook(io.BytesIO(response.data)))

    def write(session, out):
        cycle_workbook(session, session.get(Cycle, cid), Scope(everything=True), "zh_CN", out)

    assert streamed == reference(app, monkeypatch, cycle_export, write)
    assert len(streamed["考核结果"]["rows"]) > 10


def test_the_list_export_is_streamed_the_same_way(app, login_as, monkeypatch):
    cid = cycle_id(app)
    response = login_as("hr").get(f"/api/v1/appraisal/export.xlsx?_flt_0_cycle={cid}")
    assert response.status_code == 200 and response.is_streamed
    streamed = cells(load_workbook(io.BytesIO(response.data)))

    def write(session, out):
        where = Appraisal.cycle_id == cid
        results_workbook(session, where, [Appraisal.id], "zh_CN", out)

    assert streamed == reference(app, monkeypatch, list_export, write)


def test_the_first_bytes_leave_before_any_row_is_read(app, api_as, monkeypatch):
    cid = cycle_id(app)
    gate = threading.Event()
    real = cycle_export.result_rows

    def held_rows(*args, **kwargs):
        assert gate.wait(30), "the test never opened the gate"
        yield from real(*args, **kwargs)

    monkeypatch.setattr(cycle_export, "result_rows", held_rows)
    response = api_as("hr").get(f"/api/v1/cycle/{cid}/export.xlsx")
    assert response.status_code == 200 and response.is_streamed
    chunks = iter(response.response)
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04") and not gate.is_set()  # sent while the rows wait
    gate.set()
    data = first + b"".join(chunks)
    assert load_workbook(io.BytesIO(data))["考核结果"].max_row > 10


def test_refusals_are_json_answers_before_any_byte(app, api_as, login_as):
    cid = cycle_id(app)
    for username in ("sup1", "emp1"):
        refused = api_as(username).get(f"/api/v1/cycle/{cid}/export.xlsx")
        assert refused.status_code == 403 and refused.json["message"]
        assert refused.mimetype == "application/json" and int(refused.headers["Content-Length"]) > 0  # whole
    missing = api_as("hr").get("/api/v1/cycle/99999/export.xlsx")
    assert missing.status_code == 404 and missing.mimetype == "application/json"
    bad = login_as("hr").get("/api/v1/appraisal/export.xlsx?_flt_0_cycle=abc")
    assert bad.status_code == 400 and bad.mimetype != XLSX and "Content-Length" in bad.headers


def test_a_failure_after_the_first_bytes_cuts_the_download_off(app, api_as, monkeypatch, caplog):
    cid = cycle_id(app)
    real = cycle_export.result_rows

    def failing_rows(*args, **kwargs):
        rows = real(*args, **kwargs)
        for _ in range(3):
            yield next(rows)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(cycle_export, "result_rows", failing_rows)
    # Alembic's fileConfig (migrations/env.py) disables the loggers that exist when a database is migrated.
    monkeypatch.setattr(logging.getLogger("app.api.export"), "disabled", False)
    response = api_as("hr").get(f"/api/v1/cycle/{cid}/export.xlsx")
    assert response.status_code == 200  # the first bytes were on their way
    received = bytearray()
    with caplog.at_level(logging.ERROR, logger="app.api.export"), pytest.raises(ExportBroken):
        for chunk in response.response:
            received += chunk
    assert received.startswith(b"PK\x03\x04")
    assert not zipfile.is_zipfile(io.BytesIO(bytes(received)))
    with pytest.raises(zipfile.BadZipFile):
        load_workbook(io.BytesIO(bytes(received)))
    assert "the database went away" in caplog.text and f"cycle-{cid}.xlsx" in caplog.text


def test_a_client_that_leaves_stops_the_writer(app, api_as, monkeypatch):
    cid = cycle_id(app)
    gate = threading.Event()
    real = cycle_export.result_rows

    def held_rows(*args, **kwargs):
        gate.wait(30)
        yield from real(*args, **kwargs)

    monkeypatch.setattr(cycle_export, "result_rows", held_rows)
    response = api_as("hr").get(f"/api/v1/cycle/{cid}/export.xlsx")
    next(iter(response.response))
    writer = next(t for t in threading.enumerate() if t.name == f"xlsx cycle-{cid}.xlsx")
    response.close()  # what the server does when the client goes
    gate.set()
    writer.join(30)
    assert not writer.is_alive()


def test_a_cycle_gone_before_the_writer_reads_it_is_not_found(app, api_as, monkeypatch):
    cid = cycle_id(app)
    monkeypatch.setattr("app.api.export._reread", lambda session, model, pk: _raise_not_found())
    answer = api_as("hr").get(f"/api/v1/cycle/{cid}/export.xlsx")
    assert answer.status_code == 404 and answer.mimetype == "application/json"


def _raise_not_found():
    from app.services.errors import NotFound  # late: the test's stand-in raises it

    raise NotFound()


def test_the_rows_are_the_callers_after_the_request_ended(app, api_as):
    """The writer runs after the request's own session is gone: a station manager's rows stay theirs."""
    cid = cycle_id(app)
    with app.app_context():
        stations = set(db.session.scalars(select(Appraisal.station_id).where(Appraisal.cycle_id == cid)))
    assert len(stations) > 1
    rows = cells(load_workbook(io.BytesIO(api_as("manager1").get(f"/api/v1/cycle/{cid}/export.xlsx").data)))
    assert {row[0][0] for row in rows["考核结果"]["rows"][1:]} == {"S01"}
