"""A cycle's signed or live PDFs as one zip: ``flask --app run pdf export`` and HR's download.

The current appraisals are read from the database a batch at a time (keyset pages on the id), so
memory stays bounded whatever the size of the cycle. Unsigned ones are rendered by
``app.pdf.export_zip`` on all cores; a signed appraisal's entry is its *stored* PDF, byte for byte
the document that was signed, so a copy taken from the zip verifies.

HR's download is a background job done in parts (app/jobs/export.py): ``current_appraisal_ids`` plans
the parts, ``write_appraisals`` writes one part's entries in the calling process (a worker is one
process; the parts run on several workers), with the same entries as the CLI's zip.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from ..locales import default_locale
from ..models import Appraisal, Cycle, Employee
from ..models.signoff import SignedPdf
from ..pdf import export_zip, render_appraisal_pdf
from .document import document_snapshot
from .signoff import safe_file_name

BATCH = 50


def _current(cycle_id: int):
    return (Appraisal.cycle_id == cycle_id) & Appraisal.is_current.is_(True)


def _signed():
    return exists().where(SignedPdf.appraisal_id == Appraisal.id)


def entry_name(employee_no: str, name: str) -> str:
    """The zip entry (without .pdf) of one employee: unique in a cycle through the number."""
    return safe_file_name(f"{employee_no}_{name}") or "appraisal"


def count_appraisals(session, cycle: Cycle) -> int:
    return session.scalar(select(func.count()).select_from(Appraisal).where(_current(cycle.id))) or 0


def _pages(session, query, batch: int) -> Iterator:
    """Rows of ``query`` (whose first column is Appraisal or Appraisal.id) in id order, a page at a time."""
    last = 0
    while True:
        rows = session.execute(query.where(Appraisal.id > last).order_by(Appraisal.id).limit(batch)).all()
        if not rows:
            return
        key = rows[-1][0]
        last = key if isinstance(key, int) else key.id
        yield from rows


def unsigned_snapshots(session, cycle: Cycle, locale: str, batch: int = BATCH) -> Iterator[tuple[str, dict]]:
    """(entry name, document snapshot) of every current, unsigned appraisal of the cycle, lazily."""
    query = (select(Appraisal, Employee.employee_no, Employee.name)
             .join(Employee, Employee.id == Appraisal.employee_id)
             .where(_current(cycle.id), ~_signed()))
    for appraisal, employee_no, name in _pages(session, query, batch):
        yield entry_name(employee_no, name), document_snapshot(session, appraisal, locale)


def signed_pdfs(session, cycle: Cycle, batch: int = 20) -> Iterator[tuple[str, bytes]]:
    """(entry name, stored bytes) of every current, signed appraisal of the cycle, lazily."""
    query = (select(Appraisal.id, Employee.employee_no, Employee.name, SignedPdf.pdf)
             .join(Employee, Employee.id == Appraisal.employee_id)
             .join(SignedPdf, SignedPdf.appraisal_id == Appraisal.id)
             .where(_current(cycle.id)))
    for _, employee_no, name, pdf in _pages(session, query, batch):
        yield entry_name(employee_no, name), pdf


def export_cycle(session, cycle: Cycle, zip_path: str | os.PathLike, *, workers: int | None = None,
                 progress: Callable[[int, int], None] | None = None, locale: str | None = None) -> int:
    """Write the cycle's current appraisals as ``EMPNO_Name.pdf`` entries into ``zip_path``;
    returns how many. ``progress(done, total)`` after each entry. Nothing is left under
    ``zip_path`` if it fails."""
    locale = locale or default_locale()
    total = count_appraisals(session, cycle)
    target = Path(zip_path)
    partial = target.with_name(target.name + ".rendering")
    done = 0

    def report(n: int, _total: int) -> None:
        if progress:
            progress(n, total)

    try:
        done = export_zip(unsigned_snapshots(session, cycle, locale), partial, workers=workers,
                          progress=report, total=total, locale=locale)
        with zipfile.ZipFile(partial, "a", zipfile.ZIP_DEFLATED) as archive:
            for name, pdf in signed_pdfs(session, cycle):
                archive.writestr(f"{name}.pdf", pdf)
                done += 1
                report(done, total)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return done


def current_appraisal_ids(session, cycle_id: int) -> list[int]:
    """The ids of the cycle's current appraisals, in id order (signed and unsigned)."""
    return list(session.scalars(select(Appraisal.id).where(_current(cycle_id)).order_by(Appraisal.id)))


def write_appraisals(session, appraisal_ids: Iterable[int], archive: zipfile.ZipFile, locale: str,
                     progress: Callable[[int], None] | None = None) -> int:
    """Write the given appraisals into ``archive`` as ``EMPNO_Name.pdf`` entries, in the order of the
    ids, rendering in this process; returns how many. Each id stands for its employee in its cycle:
    the entry is the version current *now* (a recompute or an amendment since the ids were chosen
    moves on to the new version), and none when the appraisal is gone. A signed one is its stored
    PDF, byte for byte. ``progress(done)`` after each entry."""
    ids = [int(i) for i in appraisal_ids]
    if not ids:
        return 0
    chosen = aliased(Appraisal)
    query = (select(Appraisal, Employee.employee_no, Employee.name, SignedPdf.pdf)
             .join(chosen, (chosen.cycle_id == Appraisal.cycle_id)
                   & (chosen.employee_id == Appraisal.employee_id))
             .join(Employee, Employee.id == Appraisal.employee_id)
             .outerjoin(SignedPdf, SignedPdf.appraisal_id == Appraisal.id)
             .where(chosen.id.in_(ids), Appraisal.is_current.is_(True))
             .order_by(chosen.id))
    done = 0
    for appraisal, employee_no, name, stored in session.execute(query).all():
        pdf = stored if stored is not None else render_appraisal_pdf(
            document_snapshot(session, appraisal, locale), locale)
        archive.writestr(f"{entry_name(employee_no, name)}.pdf", pdf)
        done += 1
        if progress:
            progress(done)
    return done
