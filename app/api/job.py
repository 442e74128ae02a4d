"""Background jobs over REST: one job, the caller's list, and a finished job's result file.

* ``GET /api/v1/job/<id>``: the job as ``app.jobs.job_dict`` shows it (``state``, ``progress``,
  ``message`` in the caller's language, ``result_url``, and the rest); the progress bars poll it.
* ``GET /api/v1/job/?page=0&page_size=25``: the caller's visible jobs, newest first (``count``, ``result``).
* ``GET /api/v1/job/<id>/result``: the result file while it is kept.

A job is visible to its owner and to HR and administrators; anyone else gets 404, as for a job that
does not exist. JWT or the browser's session, like the other APIs.
"""

from __future__ import annotations

import mimetypes

from flask import request, send_file
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _

from .. import permissions as p
from ..extensions import db
from ..jobs import storage
from ..jobs.queries import result_kept
from ..locales import current_locale
from ..web.context import current_caller
from ..web.job_rows import count_visible, job_dicts, page_of_jobs, visible_job
from ..web.verify import content_disposition

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE = 10**6


def _whole_number(name: str, default: int, low: int, high: int) -> int | None:
    """The query argument ``name`` as a number within [low, high]; None when it is not one."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 8:
        return None
    value = int(raw)
    return value if low <= value <= high else None


class JobApi(BaseApi):
    resource_name = "job"
    class_permission_name = p.JOB
    method_permission_name = {"get": p.READ, "get_list": p.READ, "result": p.READ}
    allow_browser_login = True
    openapi_spec_tag = "Job"

    def response_404(self):
        return self.response(404, message=_("Not found."))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @permission_name("get")
    def get(self, pk: int):
        """One background job: its state (``queued``, ``running``, ``retrying``, ``done``, ``failed``),
        progress, sentence in the caller's language, and the result's address while it is kept.
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema:
              type: integer
          responses:
            200:
              description: the job
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      kind: {type: string, enum: [compute, export, import, cleanup]}
                      state: {type: string, enum: [queued, running, retrying, done, failed]}
                      progress:
                        type: object
                        properties:
                          stage: {type: string, nullable: true}
                          done: {type: integer, nullable: true}
                          total: {type: integer, nullable: true}
                          percent: {type: integer, nullable: true}
                      message: {type: string, nullable: true}
                      result_url: {type: string, nullable: true}
                      result: {type: object, nullable: true}
                      created_at: {type: string, format: date-time}
                      finished_at: {type: string, format: date-time, nullable: true}
                      expires_at: {type: string, format: date-time, nullable: true}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        job = visible_job(db.session, current_caller(), pk)
        if job is None:
            return self.response_404()
        return self.response(200, **job_dicts(db.session, [job], current_locale())[0])

    @expose("/", methods=["GET"])
    @protect()
    @permission_name("get_list")
    def get_list(self):
        """The caller's jobs (HR and administrators: everybody's), newest first, a page at a time.
        ---
        get:
          parameters:
          - in: query
            name: page
            description: the page, from 0
            schema:
              type: integer
              minimum: 0
          - in: query
            name: page_size
            schema:
              type: integer
              minimum: 1
              maximum: 100
          responses:
            200:
              description: a page of jobs (each as ``GET /api/v1/job/<id>`` answers)
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      result: {type: array, items: {type: object}}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        page = _whole_number("page", 0, 0, MAX_PAGE)
        page_size = _whole_number("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        if page is None or page_size is None:
            return self.response_400(message=_(
                "“page” must be a whole number from 0, and “page_size” one from 1 to %(most)s.",
                most=MAX_PAGE_SIZE))
        caller, locale = current_caller(), current_locale()
        jobs = page_of_jobs(db.session, caller, page, page_size)
        return self.response(200, count=count_visible(db.session, caller),
                             result=job_dicts(db.session, jobs, locale))

    @expose("/<int:pk>/result", methods=["GET"])
    @protect()
    @permission_name("result")
    def result(self, pk: int):
        """A finished job's result file (a zip of PDFs, an import's report) while it is kept.
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema:
              type: integer
          responses:
            200:
              description: the file, named by the job
              content:
                application/octet-stream: {}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        job = visible_job(db.session, current_caller(), pk)
        if job is None or not result_kept(job):
            return self.response_404()
        try:
            path = storage.absolute(job.result_path)
        except ValueError:  # a stored path that leaves the job folder is never served
            return self.response_404()
        if not path.is_file():
            return self.response_404()
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = send_file(path, mimetype=mimetype, max_age=0)
        response.headers["Content-Disposition"] = content_disposition(
            f"job-{job.id}{path.suffix}", job.result_name or path.name)
        return response
