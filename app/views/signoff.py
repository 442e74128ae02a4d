"""Screens of sign-off and verification: the public verify page and HR's zip of a cycle's PDFs.

The zip is a background job (app/jobs/export.py): the cycle page's form starts it (or joins the one
running) and shows its progress and, when it is done, its download (``GET /api/v1/job/<id>/result``).
No request renders the PDFs.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from .. import permissions as p
from ..extensions import db
from ..jobs.export import finished_export, latest_export, start_export
from ..locales import current_locale
from ..models import Cycle
from ..web.context import current_caller, row_or_none
from ..web.verify import verify_request


class VerifyView(BaseView):
    """Drop a PDF or paste a hash: is it a signed appraisal? No login needed. The page's script
    calls ``POST /api/v1/verify``; without a script the form posts here and gets the same answer."""

    route_base = "/verify"
    default_view = "page"

    @expose("/", methods=["GET", "POST"])
    def page(self):
        result, status = None, 200
        if request.method == "POST":
            status, result = verify_request(request)
        limit = current_app.config.get("JIXIAO_VERIFY_MAX_BYTES", 10 * 1024 * 1024)
        page = self.render_template("verify.html", result=result, status=status,
                                    max_mb=limit // (1024 * 1024), max_bytes=limit)
        return page, status


class CycleExportView(BaseView):
    """HR's zip of a cycle's PDFs (the same entries as ``flask --app run pdf export``), made by a job."""

    route_base = "/cycle-export"
    class_permission_name = p.PDF_EXPORT
    method_permission_name = {"download": p.READ, "start": p.READ}
    default_view = "download"

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint=endpoint, static_folder=static_folder)
        # The cycle page's export partial (templates/appraisal/_pdf_export.html) asks for the latest export.
        blueprint.add_app_template_global(cycle_pdf_export, "cycle_pdf_export")
        return blueprint

    @expose("/<int:pk>.zip", methods=["GET"])
    @has_access
    def download(self, pk: int):
        """The zip of a finished export still kept (in the reader's language); else an export is started
        and the cycle page follows it."""
        cycle = self._cycle(pk)
        job = finished_export(db.session, cycle.id, current_locale())
        if job is not None:
            return redirect(url_for("JobApi.result", pk=job.id))
        return self._start(cycle)

    @expose("/<int:pk>", methods=["POST"])
    @has_access
    def start(self, pk: int):
        """Start the export (or join the one running) and go back to the cycle page, which follows it."""
        return self._start(self._cycle(pk))

    @staticmethod
    def _cycle(pk: int) -> Cycle:
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            abort(404)
        return cycle

    @staticmethod
    def _start(cycle: Cycle):
        start_export(db.session, cycle, current_caller(), current_locale())
        flash(_("The PDFs are being put into a zip; its download appears on this page when it is ready."),
              "info")
        return redirect(url_for("CycleView.show", pk=cycle.id) + "#jx-pdf-export")


def cycle_pdf_export(cycle_id: int) -> dict | None:
    """The cycle's latest PDF export as the progress bar shows it (``job_dict``), or None."""
    return latest_export(db.session, cycle_id, current_locale())
