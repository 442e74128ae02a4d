"""Screens of sign-off and verification: the public verify page and HR's download of a cycle's PDFs
as one zip."""

from __future__ import annotations

import os
import tempfile

from flask import abort, current_app, request, send_file
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from .. import permissions as p
from ..extensions import db
from ..locales import current_locale
from ..models import Cycle
from ..services.pdf_export import export_cycle
from ..services.signoff import safe_file_name
from ..web.context import row_or_none
from ..web.verify import content_disposition, verify_request


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
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            abort(404)
        handle, path = tempfile.mkstemp(prefix="jixiao-export-", suffix=".zip")
        os.close(handle)
        try:
            export_cycle(db.session, cycle, path, workers=current_app.config.get("JIXIAO_PDF_WORKERS"),
                         locale=current_locale())
            stream = open(path, "rb")  # noqa: SIM115 - closed by the response
        finally:
            os.unlink(path)  # the open stream keeps the data until the response is sent (POSIX)
        response = send_file(stream, mimetype="application/zip", max_age=0)
        name = safe_file_name(cycle.name) or "cycle"
        response.headers["Content-Disposition"] = content_disposition(f"cycle-{cycle.id}.zip", f"{name}.zip")
        return response

