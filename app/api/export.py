"""Excel downloads (app/exports): a cycle's workbook, the results list as filtered on screen, the
dashboard's ranking and the what-if table. JWT or the browser's session, like the other APIs.

* ``GET /api/v1/cycle/<id>/export.xlsx``: HR and administrators every station, a station manager
  their stations; anyone else 403 (an unknown cycle 404).
* ``GET /api/v1/appraisal/export.xlsx?_flt_…``: the appraisal list screen's filters and order
  (its query string as it is), within the caller's scope.
* ``GET /api/v1/dashboard/ranking.xlsx?cycle=<id>&station=<id>``: whoever sees the network view.
* ``GET /api/v1/ruleset/<id>/whatif.xlsx?cycle=<name>``: who may run the what-if (HR).
* ``POST /api/v1/cycle/<id>/pdfs``: HR starts the zip of the cycle's PDFs, a background job (202
  ``{"job_id"}``; an unfinished one of the same cycle and language is joined). Follow it at
  ``GET /api/v1/job/<id>``; download it from ``GET /api/v1/job/<id>/result``.

Each workbook is streamed as it is written (``xlsx_response``): everything that can refuse a request
(permission, the cycle, the caller's scope, the filters) is checked before the first byte, so a refusal
is a clean 4xx JSON answer; the workbook is then written in a thread of its own into a bounded queue
the response sends from, its first bytes within milliseconds. A failure after the first byte cannot
change the status: it is logged and the download is cut off before the zip's directory, so the client
never holds a complete-looking file.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from flask import Flask, Response, current_app, jsonify, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import permission_name, protect
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import gettext as _
from sqlalchemy import select

from .. import permissions as p
from ..exports import (
    XLSX_MIMETYPE,
    cycle_rows_clause,
    cycle_workbook,
    ranking_workbook,
    results_workbook,
    whatif_workbook,
)
from ..extensions import db
from ..jobs.compute import whatif_jobs
from ..jobs.export import start_export
from ..locales import current_locale
from ..models import Appraisal, Cycle, JobState, RuleSetVersion, Station
from ..scoping import current_scope, scope_clause
from ..services import dashboard as dash
from ..services.errors import NotFound, ServiceError
from ..services.signoff import safe_file_name
from ..web.context import current_caller, row_or_none
from ..web.datamodel import interface
from ..web.verify import content_disposition
from .base import service_error

# The appraisal list screen's filter columns and the columns it sorts by (its query string's
# ``_flt_<n>_<column>`` and ``_oc_AppraisalView``/``_od_AppraisalView``).
RESULT_FILTERS = ["cycle", "employee", "station", "state", "grade", "is_current", "total"]
RESULT_ORDER = {"state": Appraisal.state, "total": Appraisal.total, "grade": Appraisal.grade,
                "version": Appraisal.version}
LIST_SCREEN = "AppraisalView"

log = logging.getLogger(__name__)

CHUNK = 64 * 1024  # bytes handed to the server at a time
IN_FLIGHT = 16  # chunks the writer may run ahead of the client: about 1 MB per download at most

# write(session, out): writes the workbook to ``out`` with the writer thread's own database session.
Write = Callable[[object, IO[bytes]], object]


class ExportBroken(RuntimeError):
    """A workbook failed after its first bytes were sent: the download is cut off, never completed."""


class _ClientGone(Exception):
    """The response was closed before the workbook was done: its writer stops."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


class _Pipe:
    """The binary file a workbook is written to in its writer thread: chunks of ``CHUNK`` bytes go to the
    response through a bounded queue (the writer waits while the client is slow); ``flush`` hands over
    what there is (the workbook's first bytes)."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue(IN_FLIGHT)
        self.closed = threading.Event()
        self.buffer = bytearray()

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.put(bytes(self.buffer))
            self.buffer.clear()

    def put(self, item) -> None:
        while not self.closed.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise _ClientGone()


def _write_workbook(app: Flask, write: Write, pipe: _Pipe) -> None:
    """The writer thread: the workbook into ``pipe`` within an application context (and database
    session) of its own, then the end, or the failure."""
    try:
        with app.app_context():
            write(db.session, pipe)
        pipe.flush()
        pipe.put(_DONE)
    except _ClientGone:
        pass
    except BaseException as exc:  # handed to the request, which answers or logs it; it never waits in vain
        try:
            pipe.put(_Failed(exc))
        except _ClientGone:
            pass
        if not isinstance(exc, Exception):
            raise


def _chunks(first, pipe: _Pipe, name: str) -> Iterator[bytes]:
    item = first
    try:
        while item is not _DONE:
            if isinstance(item, _Failed):
                log.error("The Excel download %s failed after its first bytes; it is cut off", name,
                          exc_info=item.error)
                raise ExportBroken(f"{name}: cut off") from item.error
            yield item
            item = pipe.queue.get()
    finally:
        pipe.closed.set()  # a client gone: the writer stops at its next chunk


def xlsx_response(write: Write, ascii_name: str, full_name: str):
    """Stream the workbook ``write(session, out)`` writes as the download. It runs in a thread of its
    own (with its own database session: ORM objects of the request are read again there by id); the
    answer starts with its first bytes. An error before them is the request's error as usual."""
    pipe = _Pipe()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    threading.Thread(target=_write_workbook, args=(app, write, pipe), name=f"xlsx {ascii_name}",
                     daemon=True).start()
    first = pipe.queue.get()
    if isinstance(first, _Failed):
        raise first.error
    response = Response(_chunks(first, pipe, ascii_name), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = content_disposition(ascii_name, full_name)
    response.cache_control.no_cache = True
    response.cache_control.max_age = 0
    response.expires = dt.datetime.now(dt.UTC)
    response.headers["X-Accel-Buffering"] = "no"  # a proxy in front passes the bytes on as they come
    return response


def _reread(session, model, pk: int):
    """The row of the request read again in the writer's session (gone meanwhile: not found)."""
    row = session.get(model, pk)
    if row is None:
        raise NotFound()
    return row


def file_name(*parts: str) -> str:
    return safe_file_name("-".join(part for part in parts if part)) + ".xlsx"


class _XlsxApi(BaseApi):
    allow_browser_login = True

    def response_404(self):
        return self.response(404, message=_("Not found."))

    def refused(self, message: str):
        return self.response(403, message=message)


class CycleExportApi(_XlsxApi):
    resource_name = "cycle"
    class_permission_name = p.CYCLE
    method_permission_name = {"export_xlsx": p.READ}
    openapi_spec_tag = "Cycle"

    @expose("/<int:pk>/export.xlsx", methods=["GET"])
    @protect()
    @permission_name("export_xlsx")
    def export_xlsx(self, pk: int):
        """The cycle as an Excel workbook: results, payroll, distribution (HR all, a station manager
        their stations).
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema:
              type: integer
          responses:
            200:
              description: the workbook
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            return self.response_404()
        scope, locale, cycle_id = current_scope(), current_locale(), cycle.id
        try:
            cycle_rows_clause(scope)  # refuses anyone but HR and station managers, before any byte

            def write(session, out):
                return cycle_workbook(session, _reread(session, Cycle, cycle_id), scope, locale, out)

            return xlsx_response(write, f"cycle-{cycle.id}.xlsx", file_name(cycle.name))
        except ServiceError as exc:
            return service_error(self, exc)


class ResultsExportApi(_XlsxApi):
    resource_name = "appraisal"
    class_permission_name = p.APPRAISAL
    method_permission_name = {"export_xlsx": p.READ}
    openapi_spec_tag = "Appraisal"

    @expose("/export.xlsx", methods=["GET"])
    @protect()
    @permission_name("export_xlsx")
    def export_xlsx(self):
        """The appraisal list as filtered on screen (its query string), within the caller's scope.
        ---
        get:
          parameters:
          - in: query
            name: _flt_0_cycle
            schema:
              type: integer
          responses:
            200:
              description: the workbook
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        datamodel = interface(Appraisal)
        filters = datamodel.get_filters(RESULT_FILTERS)
        get_filter_args(filters)
        query = datamodel.apply_filters(db.session.query(Appraisal), filters)
        where = Appraisal.id.in_(query.with_entities(Appraisal.id).statement) & scope_clause(Appraisal)
        column, direction = get_order_args().get(LIST_SCREEN, ("", ""))
        order_by = None
        if column in RESULT_ORDER:
            order_by = [RESULT_ORDER[column].desc() if direction == "desc" else RESULT_ORDER[column].asc()]
        elif not column:
            order_by = [Appraisal.id]  # the list screen's own order
        locale = current_locale()
        return xlsx_response(lambda session, out: results_workbook(session, where, order_by, locale, out),
                             "appraisals.xlsx", file_name(_("Appraisals")))


def _chosen(items, arg: str):
    """(found, item): the item whose id the query argument names, (True, None) without one."""
    raw = request.args.get(arg, "")
    if not raw:
        return True, None
    item = next((item for item in items if str(item.id) == raw), None)
    return item is not None, item


class RankingExportApi(_XlsxApi):
    resource_name = "dashboard"
    class_permission_name = p.DASHBOARD
    method_permission_name = {"ranking_xlsx": p.READ}
    openapi_spec_tag = "Dashboard"

    @expose("/ranking.xlsx", methods=["GET"])
    @protect()
    @permission_name("ranking_xlsx")
    def ranking_xlsx(self):
        """The dashboard's ranking of a cycle (default the latest), of one station or all.
        ---
        get:
          parameters:
          - in: query
            name: cycle
            schema:
              type: integer
          - in: query
            name: station
            schema:
              type: integer
          responses:
            200:
              description: the workbook
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        scope = current_scope()
        if not dash.is_manager_view(scope):
            return self.refused(_("Only HR, station managers and supervisors see rankings."))
        cycles = dash.cycles(db.session, scope)
        found, cycle = _chosen(cycles, "cycle")
        cycle = cycle or (cycles[-1] if cycles and found else None)
        found, station = _chosen(dash.stations(db.session, scope), "station")
        if cycle is None or not found:
            return self.response_404()
        locale, cycle_id, station_id = current_locale(), cycle.id, station.id if station else None

        def write(session, out):
            station = _reread(session, Station, station_id) if station_id else None
            return ranking_workbook(session, scope, _reread(session, Cycle, cycle_id), station, locale, out)

        return xlsx_response(write, f"ranking-{cycle.id}.xlsx",
                             file_name(cycle.name, station.code if station else "", _("Ranking")))


class WhatIfExportApi(_XlsxApi):
    resource_name = "ruleset"
    class_permission_name = p.RULES
    method_permission_name = {"whatif_xlsx": p.WRITE}  # like the what-if screen: HR
    openapi_spec_tag = "Rule sets"

    @expose("/<int:pk>/whatif.xlsx", methods=["GET"])
    @protect()
    @permission_name("whatif_xlsx")
    def whatif_xlsx(self, pk: int):
        """A past cycle scored again with this rule-set version: each employee before and after.
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema:
              type: integer
          - in: query
            name: cycle
            schema:
              type: string
          responses:
            200:
              description: the workbook
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: '{"code": "WHATIF_NOT_RUN"}: the caller has no finished what-if of this version
                and cycle (the rules editor runs one as a background job)'
            422:
              description: no such cycle
        """
        version = row_or_none(RuleSetVersion, pk)
        cycle = request.args.get("cycle", "")
        if version is None or not cycle or len(cycle) > 100:
            return self.response_404()
        if db.session.scalar(select(Cycle.id).where(Cycle.name == cycle)) is None:
            return self.response(422, message=_("There is no cycle named “%(name)s”.", name=cycle))
        # The answer of the caller's latest finished what-if of this version and cycle (a job: the
        # request never scores a cycle).
        done = [job for job in whatif_jobs(db.session, current_caller(), version.id, cycle)
                if job.state == JobState.DONE and job.result]
        if not done:
            # Not ``self.response(409, code=…)``: ``code`` is that method's own first parameter.
            answer = jsonify(code="WHATIF_NOT_RUN", message=_(
                "Run the what-if of this version on this cycle first; its answer is what the workbook "
                "holds."))
            answer.status_code = 409
            return answer
        result, locale = done[0].result, (done[0].params or {}).get("locale") or current_locale()
        return xlsx_response(lambda _session, out: whatif_workbook(result, locale, out),
                             f"whatif-v{version.number}.xlsx", file_name(cycle, f"v{version.number}"))


class CyclePdfsApi(_XlsxApi):
    resource_name = "cycle"
    class_permission_name = p.PDF_EXPORT  # as the cycle page's zip: HR
    method_permission_name = {"pdfs": p.READ}
    openapi_spec_tag = "Cycle"

    @expose("/<int:pk>/pdfs", methods=["POST"])
    @protect()
    @permission_name("pdfs")
    def pdfs(self, pk: int):
        """Start the zip of every current appraisal's PDF of the cycle (HR): a background job, answered at
        once. An unfinished export of the same cycle in the same language is joined (its id).
        ---
        post:
          parameters:
          - in: path
            name: pk
            schema:
              type: integer
          responses:
            202:
              description: '{"job_id"}: follow it at GET /api/v1/job/<id>, download its zip from
                GET /api/v1/job/<id>/result'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            return self.response_404()
        job = start_export(db.session, cycle, current_caller(), current_locale())
        return self.response(202, job_id=job.id)


EXPORT_APIS = (CycleExportApi, ResultsExportApi, RankingExportApi, WhatIfExportApi, CyclePdfsApi)
