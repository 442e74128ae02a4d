"""Importing source data (work orders, call-back surveys, labour costs): one service for the CLI, the API
and the upload screen.

    import_file(session, kind, source, update=False, progress=None) -> ImportResult
    ImportRejected.errors -> [{"row", "column", "message"}]
"""

from .service import KINDS, ImportRejected, ImportResult, import_file

__all__ = ["KINDS", "ImportRejected", "ImportResult", "import_file"]
