"""``import_file()``: the one import, used by the CLI, the API and the upload screen.

A file is imported whole or not at all, in one transaction. Every row is checked and every
problem is reported (row number as in a spreadsheet, header = row 1; column; message in the
user's language); if there is any, the transaction is rolled back and ``ImportRejected`` carries
the list. Large files stream in chunks, so memory stays bounded whatever their size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .base import Column, Errors, Job, Kind
from .cells import CellError
from .employees import Employees
from .kinds import LabourCosts, Surveys, WorkOrders
from .reader import FileRefused, Limits, open_table

KINDS: dict[str, type[Kind]] = {k.key: k for k in (WorkOrders, Surveys, LabourCosts, Employees)}

Progress = Callable[[int, int], None]
# Called with the session and the counts just before the import commits: a caller's own write (a
# background job's end) joins the import's transaction; what it raises rolls the import back.
BeforeCommit = Callable[[Session, "ImportResult"], None]


class ImportRejected(Exception):
    """The file was refused; nothing changed. ``errors``: ``[{"row", "column", "message"}]`` (the first
    1,000, then a line saying how many more); ``count``: how many problems there are in all."""

    def __init__(self, errors: list[dict[str, Any]], count: int | None = None) -> None:
        self.count = len(errors) if count is None else count
        super().__init__(f"{self.count} problem(s)")
        self.errors = errors


@dataclass
class ImportResult:
    kind: str
    inserted: int = 0
    updated: int = 0
    # employees import: accounts created, with their one-time passwords (shown once, never stored)
    accounts: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"inserted": self.inserted, "updated": self.updated}
        if self.accounts:
            data["accounts"] = self.accounts
        return data


def _match_header(header: list[str], kind: Kind, errors: Errors) -> list[tuple[int, Column]]:
    by_name = {col.name: col for col in kind.columns}
    matched: list[tuple[int, Column]] = []
    seen: set[str] = set()
    for index, raw in enumerate(header):
        name = str(raw).strip().lstrip("\ufeff").lower()
        if not name:
            errors.add(1, None, _("Column %(n)d has no name.", n=index + 1))
        elif name not in by_name:
            errors.add(1, name, _("Unknown column “%(name)s”; the columns are: %(list)s.",
                                  name=name, list=", ".join(by_name)))
        elif name in seen:
            errors.add(1, name, _("The column “%(name)s” appears twice.", name=name))
        else:
            seen.add(name)
            matched.append((index, by_name[name]))
    for col in kind.columns:
        if col.required and col.name not in seen:
            errors.add(1, col.name, _("The required column “%(name)s” is missing.", name=col.name))
    return matched


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _converter(kind: Kind, matched: list[tuple[int, Column]], errors: Errors):
    width = max((i for i, _c in matched), default=-1) + 1
    absent = {col.name: None for col in kind.columns if col not in {c for _i, c in matched}}

    plan = [(index, col.name, col.parse, col.required) for index, col in matched]

    def convert(row: int, cells: list[Any]) -> tuple[dict[str, Any], bool]:
        """The row's values by column name (None where empty or unreadable), and whether all were read."""
        values = dict(absent)
        ok = True
        n = len(cells)
        if n > width and any(not _blank(x) for x in cells[width:]):
            errors.add(row, None, _("This row has more cells than the header has columns."))
            ok = False
        for index, name, parse, required in plan:  # the hot loop of a large import
            cell = cells[index] if index < n else ""
            if cell == "" or cell is None or (cell.__class__ is str and cell.isspace()):
                if required:
                    errors.add(row, name, _("A value is required."))
                    ok = False
                values[name] = None
                continue
            try:
                values[name] = parse(cell)
            except CellError as exc:
                errors.add(row, name, exc.message)
                values[name] = None
                ok = False
        return values, ok

    return convert


def import_file(
    session: Session,
    kind: str,
    source: str | os.PathLike | IO[bytes],
    *,
    update: bool = False,
    progress: Progress | None = None,
    before_commit: BeforeCommit | None = None,
) -> ImportResult:
    """Import ``source`` (a path or a binary file) as ``kind`` (one of ``KINDS``).

    Commits on success and returns the counts; on any problem rolls back and raises
    ``ImportRejected``. With ``update`` an existing key is replaced by the file's row (columns the
    file lacks become empty); without it an existing key is a problem. ``before_commit(session, result)``
    runs inside the import's transaction, just before it commits.
    """
    spec = KINDS[kind]()
    errors = Errors()
    try:
        table = open_table(source, Limits.from_config(current_app.config))
    except FileRefused as exc:
        raise ImportRejected([{"row": exc.row, "column": exc.column, "message": exc.message}]) from None
    matched = _match_header(table.header, spec, errors)
    if errors:
        table.rows.close()
        raise ImportRejected(errors.as_list(), errors.count)
    job = Job(session=session, update=update, errors=errors,
              timezone=ZoneInfo(current_app.config.get("JIXIAO_TIMEZONE", "Asia/Shanghai")))
    convert = _converter(spec, matched, errors)
    try:
        spec.start(job)
        chunk: list[tuple[int, dict[str, Any]]] = []
        for row, cells in table.rows:
            if all(_blank(x) for x in cells):
                continue
            values, cells_ok = convert(row, cells)
            # the row's other checks run even when a cell failed, so one pass reports everything
            if spec.check(job, row, values) and cells_ok:
                chunk.append((row, values))
            if len(chunk) >= spec.chunk_size:
                spec.write(job, chunk)
                chunk = []
                if progress:
                    progress(table.done(), table.total)
        if chunk:
            spec.write(job, chunk)
        spec.finish(job)
        if progress:
            progress(table.total, table.total)
    except FileRefused as exc:
        errors.add(exc.row, exc.column, exc.message)
    except IntegrityError:
        # Only a concurrent writer can get past the checks above.
        errors.add(None, None, _("The data changed while the file was imported (another import?); "
                                 "nothing was imported. Try again."))
    except BaseException:
        session.rollback()
        raise
    if errors:
        session.rollback()
        raise ImportRejected(errors.as_list(), errors.count)
    result = ImportResult(kind=kind, inserted=job.inserted, updated=job.updated, accounts=job.accounts)
    if before_commit is not None:
        try:
            before_commit(session, result)
        except BaseException:
            session.rollback()
            raise
    session.commit()
    return result
