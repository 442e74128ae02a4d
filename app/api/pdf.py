"""REST endpoints of PDFs, sign-off and verification: an appraisal's PDF (scoped) and the public verify.

``GET /api/v1/appraisal/<id>/pdf`` lives in its own small API class with the same resource name
and permission as the appraisal API (``Appraisal``, read): scoping answers 404 outside the caller's
scope. Neither uses FAB's ``@safe`` (it turns a 404 into a 500): errors go through app.hardening.
``POST /api/v1/verify`` needs no login; it is limited in size (413) and in calls per
address (429). Whose appraisal it is (id, full name, employee number, a link) it tells only a
caller whose scope includes that appraisal; anyone else learns that it matches, the cycle, when
it was signed and a masked name. A browser signed in by cookie must still send ``X-CSRFToken``
(app.hardening).
"""

from __future__ import annotations

from flask import Response, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import permission_name, protect

from .. import permissions as p
from ..extensions import db
from ..hardening import error_response
from ..locales import current_locale
from ..models import Appraisal
from ..scoping import get_or_404
from ..services import signoff
from ..web.verify import pdf_response, verify_request


def appraisal_pdf_response(pk) -> Response:
    """The scoped PDF download shared by the API and the screens (404 outside the scope)."""
    appraisal = get_or_404(Appraisal, pk)
    data = signoff.appraisal_pdf(db.session, appraisal, current_locale())
    return pdf_response(data, *signoff.pdf_filename(appraisal))


class AppraisalPdfApi(BaseApi):
    resource_name = "appraisal"
    class_permission_name = p.APPRAISAL
    method_permission_name = {"pdf": p.READ}
    allow_browser_login = True
    openapi_spec_tag = "Appraisal"

    @expose("/<int:pk>/pdf", methods=["GET"])
    @protect()
    @permission_name("pdf")
    def pdf(self, pk: int):
        """The appraisal as a PDF: the signed bytes once signed, else rendered now.
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema:
              type: integer
          responses:
            200:
              description: the PDF
              content:
                application/pdf: {}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        return appraisal_pdf_response(pk)


class VerifyApi(BaseApi):
    resource_name = "verify"
    openapi_spec_tag = "Verify"

    @expose("", methods=["POST"])
    def verify(self):
        """Whether a PDF (multipart ``file``) or a SHA-256 (``{"sha256"}``) is a signed appraisal; no login.

        A match answers ``{"match": true, "signed_at", "cycle", "employee", "sha256"}``. Signed in as
        someone whose scope includes the appraisal (its employee, their reviewers, HR), the answer
        also names it: ``appraisal_id``, ``employee`` in full, ``employee_no`` and ``url`` (its page).
        To anyone else ``employee`` is masked (张伟 → 张*) and ``appraisal_id`` and ``employee_no``
        are null: holding the document or its hash does not tell who else was appraised.
        ---
        post:
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    file:
                      type: string
                      format: binary
              application/json:
                schema:
                  type: object
                  properties:
                    sha256:
                      type: string
          responses:
            200:
              description: 'a match: {"match": true, "signed_at", "cycle", "employee", "appraisal_id",
                "employee_no", "url", "sha256"}, where outside the scope of the caller employee is masked and
                appraisal_id and
                employee_no are null (no url); no match: {"match": false, "sha256"}'
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      match:
                        type: boolean
                      signed_at:
                        type: string
                        format: date-time
                      cycle:
                        type: string
                      employee:
                        type: string
                        description: the full name within the scope of the caller, else masked (张*)
                      appraisal_id:
                        type: integer
                        nullable: true
                        description: null outside the scope of the caller
                      employee_no:
                        type: string
                        nullable: true
                        description: null outside the scope of the caller
                      url:
                        type: string
                        description: the page of the appraisal; only within the scope of the caller
                      sha256:
                        type: string
            413:
              description: the file is too large
            422:
              $ref: '#/components/responses/422'
            429:
              description: too many calls from this address
        """
        status, body = verify_request(request)
        if status != 200:
            return error_response(status, body["message"])
        return self.response(200, **body)
