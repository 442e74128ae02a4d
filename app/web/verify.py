"""What the PDF download and the verify answer look like, for the API and the screens alike.

The verify answer tells whose appraisal it is (id, full name, employee number, a link) only to a
caller whose scope includes that appraisal; anyone else learns that it matches, the cycle, when it
was signed and a masked name. It is limited in size (413) and in calls per address (429).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..scoping import current_scope
from ..security import client_address
from ..services import signoff

VERIFY_MAX_BYTES = 10 * 1024 * 1024
VERIFY_PER_WINDOW = 30
VERIFY_WINDOW_SECONDS = 60


def content_disposition(ascii_name: str, full_name: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII ``filename`` every client reads, and ``filename*`` in UTF-8 for the rest."""
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full_name, safe='')}"


def pdf_response(data: bytes, ascii_name: str, full_name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(ascii_name, full_name)
    return response


def verify_request(req) -> tuple[int, dict]:
    """Answer one verify call (the API and the page's no-script form share it): (status, body)."""
    status, body = _verify(req)
    if body.get("appraisal_id") is not None:  # only within the caller's scope
        body["url"] = url_for("AppraisalView.show", pk=body["appraisal_id"])
    return status, body


def _verify(req) -> tuple[int, dict]:
    cfg = current_app.config
    limit = cfg.get("JIXIAO_VERIFY_MAX_BYTES", VERIFY_MAX_BYTES)
    if not signoff.verify_attempt_allowed(
            db.session, client_address(), limit=cfg.get("JIXIAO_VERIFY_PER_WINDOW", VERIFY_PER_WINDOW),
            window_seconds=cfg.get("JIXIAO_VERIFY_WINDOW_SECONDS", VERIFY_WINDOW_SECONDS)):
        return 429, {"message": _("Too many verification requests; wait a minute and try again.")}
    too_large = {"message": _("The file is too large (at most %(mb)s MB).", mb=limit // (1024 * 1024))}
    # A multipart body holds the file plus a little framing.
    if (req.content_length or 0) > limit + 64 * 1024:
        return 413, too_large
    req.max_content_length = limit + 64 * 1024  # also for a body sent without Content-Length
    if req.mimetype == "multipart/form-data":
        upload = req.files.get("file")
        # A browser form sends an empty file part when only the hash was filled in.
        if upload is not None and (upload.filename or not req.form.get("sha256")):
            data = upload.stream.read(limit + 1)
            if len(data) > limit:
                return 413, too_large
            return 200, signoff.verify_pdf_bytes(db.session, data, current_scope())
        digest = req.form.get("sha256")
    else:
        body = req.get_json(silent=True)
        digest = body.get("sha256") if isinstance(body, dict) else None
    if digest is None or digest == "":
        return 422, {"message": _("Send a PDF file (field “file”) or a SHA-256 (“sha256”).")}
    try:
        return 200, signoff.verify_sha256(db.session, digest, current_scope())
    except signoff.InvalidDigest:
        return 422, {"message": _("A SHA-256 is 64 hexadecimal characters.")}
