"""Importing source data (work orders, call-back surveys, labour costs): one service for the CLI, the API
and the upload screen.

    import_file(session, kind, source, update=False, progress=None) -> ImportResult
    ImportRejected.errors -> [{"row", "column", "message"}]
    safe_cell(value) -> value fit for a spreadsheet export (formula-looking text gets a ')
"""

from .cells import safe_cell
from .service import KINDS, ImportRejected, ImportResult, import_file

__all__ = ["KINDS", "ImportRejected", "ImportResult", "import_file", "safe_cell"]
