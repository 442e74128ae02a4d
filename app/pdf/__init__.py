"""Appraisal PDFs: snapshot dict → PDF bytes, and a cycle's PDFs → one zip.

Pure of Flask and the database: callers pass plain dicts (format in README.md).
"""

from .export import export_zip
from .fetcher import AssetFetcher, FetchRefused
from .render import SnapshotError, render_appraisal_pdf, render_document, render_html

__all__ = [
    "AssetFetcher", "FetchRefused", "SnapshotError", "export_zip", "render_appraisal_pdf",
    "render_document", "render_html",
]
