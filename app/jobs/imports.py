"""Large imports as background jobs: the upload saved under the jobs folder, imported by a worker.

A file larger than ``JIXIAO_IMPORT_BACKGROUND_MB`` (employees never: their one-time passwords are shown
in the response) is streamed to ``uploads/<token><ext>`` and a job of kind ``import`` names it. The task
calls the same ``import_file`` as the request would, with the job's end joined to the import's
transaction (``before_commit``): the rows and "done" are committed together, or neither. A refused
file fails the job with its problems (the first 1,000 in the result, all of them in a CSV report). A
worker killed mid-import leaves nothing behind, and the job runs again from the saved file. The upload
is deleted once the job has ended, done or failed.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import secrets
import shutil
from pathlib import Path
from typing import IO

from celery import shared_task
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..exports.cells import looks_like_formula
from ..extensions import db
from ..importing import KINDS, ImportRejected, import_file
from ..locales import default_locale
from ..models import Job, JobKind
from ..services.errors import ServiceError
from . import storage
from .messages import both
from .runtime import Run, claimed
from .start import start_job

log = logging.getLogger(__name__)

# Employees are imported in the request: their generated passwords are shown once, in the answer.
IN_REQUEST_ONLY = frozenset({"employees"})
COPY_CHUNK = 1024 * 1024
MAX_NAME = 200


def upload_size(stream: IO[bytes], fallback: int | None = None) -> int:
    """The upload's size in bytes without reading it (werkzeug spools uploads to a seekable file);
    ``fallback`` (the request's length) when the stream cannot tell."""
    try:
        position = stream.tell()
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        stream.seek(position)
        return size
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return int(fallback or 0)


def in_background(kind: str, size: int) -> bool:
    """Whether an upload of ``size`` bytes of ``kind`` is imported by a job rather than in the request."""
    limit = float(current_app.config["JIXIAO_IMPORT_BACKGROUND_MB"]) * 1024 * 1024
    return kind not in IN_REQUEST_ONLY and size > limit


def threshold_mb() -> str:
    """The background threshold as people read it ("10", "0.5")."""
    return f"{float(current_app.config['JIXIAO_IMPORT_BACKGROUND_MB']):g}"


def clean_name(original_name: str | None) -> str:
    """The uploaded file's own name, without any folder a browser sent along."""
    name = re.split(r"[\\/]", original_name or "")[-1].strip()
    return name[:MAX_NAME] or "upload"


def save_upload(stream: IO[bytes], original_name: str | None) -> Path:
    """Stream the upload to a new file under ``uploads/`` (a random name, the original extension);
    its path. Never held in memory whole; the file appears only complete."""
    suffix = Path(clean_name(original_name)).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ""
    path = storage.upload_path(secrets.token_hex(16), suffix)
    try:
        stream.seek(0)
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    with storage.atomic_file(path) as out:
        shutil.copyfileobj(stream, out, COPY_CHUNK)
    return path


def start_import(session, kind: str, path: Path, update: bool, caller, original_name: str | None) -> Job:
    """Start the job importing the saved upload at ``path`` as ``kind``; commits ``session``."""
    if kind not in KINDS or kind in IN_REQUEST_ONLY:
        raise ValueError(f"{kind!r} is not imported in the background")
    params = {"kind": kind, "upload": storage.relative(path), "update": bool(update),
              "name": clean_name(original_name), "locale": caller.locale}
    return start_job(session, JobKind.IMPORT, owner_id=caller.actor.user_id, params=params)


@shared_task(bind=True, name="jixiao.import_file", acks_late=True, ignore_result=True)
def import_task(self, job_id: int) -> None:  # noqa: ARG001 - bound task: ``self`` is the Celery task
    with claimed(job_id, stage="read") as run:
        if run is None:
            return
        # The problems are written in the language of the person who uploaded the file.
        with force_locale(run.params.get("locale") or default_locale()):
            run_import(run)
    if run.finished is not None:  # done or failed, and committed: the upload has served
        remove_upload(run.params)


def run_import(run: Run) -> None:
    params = run.params
    kind, name = params.get("kind"), params.get("name") or "upload"
    if kind not in KINDS or kind in IN_REQUEST_ONLY:
        raise ServiceError(_l("This kind of data cannot be imported in the background."))
    try:
        path = storage.absolute(str(params.get("upload") or ""))
    except ValueError:
        path = None
    if path is None or not path.is_file():
        raise ServiceError(_l("The uploaded file is no longer there; upload it again."))

    def progress(done: int, total: int) -> None:
        run.progress("read" if done < total else "write", done, total)

    def finish(session, result) -> None:
        run.finish_in(session, result={"kind": kind, "inserted": result.inserted, "updated": result.updated},
                      message=both(_l("Imported %(file)s: %(inserted)d new, %(updated)d updated.",
                                      file=name, inserted=result.inserted, updated=result.updated)))

    try:
        import_file(db.session, kind, path, update=bool(params.get("update")), progress=progress,
                    before_commit=finish)
    except ImportRejected as exc:
        refuse(run, kind, name, exc)


def refuse(run: Run, kind: str, name: str, exc: ImportRejected) -> None:
    """The file was refused: the job fails with its problems and a CSV report of them."""
    report = storage.result_path(run.job_id, ".csv")
    with storage.atomic_file(report) as out:
        out.write(error_report(exc.errors))
    count = exc.count
    run.fail(both(_l("%(file)s was refused: %(n)s problems; nothing was imported.", file=name, n=count)),
             result={"kind": kind, "errors": exc.errors, "error_count": count},
             path=storage.relative(report), name=_("%(name)s-problems.csv", name=Path(name).stem))


def error_report(errors: list[dict]) -> bytes:
    """The problems as CSV (row, column, problem) in UTF-8 with a BOM, so that Excel reads the Chinese.
    A cell that a spreadsheet would take for a formula gets Excel's apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Row"), _("Column"), _("Problem")])
    for error in errors:
        row = error.get("row")
        writer.writerow(["" if row is None else row, _text(error.get("column")), _text(error.get("message"))])
    return out.getvalue().encode("utf-8-sig")


def _text(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if looks_like_formula(text) else text


def remove_upload(params: dict) -> None:
    try:
        storage.absolute(str(params.get("upload") or "")).unlink(missing_ok=True)
    except (ValueError, OSError) as exc:
        log.warning("import upload %r not removed: %s", params.get("upload"), exc)
