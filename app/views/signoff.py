"""Screens of SPEC §7: the public verify page and HR's download of a cycle's PDFs as one zip.

``register(appbuilder)`` adds everything of the sign-off and dashboard area (issue 8): these
screens, the dashboards, and the PDF and verify APIs.
"""

from __future__ import annotations

import os
import tempfile

from flask import abort, current_app, request, send_file
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .. import permissions as p
from ..api.pdf import content_disposition, verify_request
from ..extensions import db
from ..models import Cycle
from ..services.pdf_export import export_cycle
from ..services.signoff import safe_file_name


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
    """HR downloads a cycle's PDFs as one zip (the same as ``flask --app run pdf export``)."""

    route_base = "/cycle-export"
    class_permission_name = p.PDF_EXPORT
    method_permission_name = {"download": p.READ}
    default_view = "download"

    @expose("/<int:pk>.zip", methods=["GET"])
    @has_access
    def download(self, pk: int):
        cycle = db.session.get(Cycle, pk) if 0 < pk < 2**31 else None
        if cycle is None:
            abort(404)
        handle, path = tempfile.mkstemp(prefix="jixiao-export-", suffix=".zip")
        os.close(handle)
        try:
            export_cycle(db.session, cycle, path, workers=current_app.config.get("JIXIAO_PDF_WORKERS"),
                         locale=str(get_locale() or "zh_CN"))
            stream = open(path, "rb")  # noqa: SIM115 - closed by the response
        finally:
            os.unlink(path)  # the open stream keeps the data until the response is sent (POSIX)
        response = send_file(stream, mimetype="application/zip", max_age=0)
        name = safe_file_name(cycle.name) or "cycle"
        response.headers["Content-Disposition"] = content_disposition(f"cycle-{cycle.id}.zip", f"{name}.zip")
        return response


def register(appbuilder) -> None:
    """The sign-off, verify, export and dashboard screens and APIs (menu names as in app.permissions)."""
    from ..api.pdf import AppraisalPdfApi, VerifyApi
    from .dashboard import DashboardView

    appbuilder.add_view(DashboardView, "Dashboards", label=_l("Dashboards"), icon="fa-bar-chart",
                        category="Appraisal", category_label=_l("Appraisal"))
    appbuilder.add_view_no_menu(VerifyView)
    appbuilder.add_link("Verify a PDF", href="/verify/", label=_l("Verify a PDF"), icon="fa-check-circle",
                        category="Appraisal", category_label=_l("Appraisal"))
    appbuilder.add_view_no_menu(CycleExportView)
    appbuilder.add_api(AppraisalPdfApi)
    appbuilder.add_api(VerifyApi)
