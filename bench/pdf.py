"""PDF throughput: a cycle's export through export_zip on all cores vs one long document in one
process, on the same pages. Prints one JSON line:

  pdfs, pages, workers, batch_pages_per_s, single_doc_pages_per_s, ratio (batch ÷ single),
  per_page_s (one appraisal rendered alone, in this process, seconds per page)

Usage: .venv/bin/python bench/pdf.py [--pdfs N] [--workers W]   (or JIXIAO_BENCH_PDFS=N)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader  # noqa: E402

from app.pdf import export_zip, render_appraisal_pdf, render_document  # noqa: E402
from app.pdf.export import _usable_cores  # noqa: E402
from app.pdf.sample import sample_snapshot  # noqa: E402


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=int(os.environ.get("JIXIAO_BENCH_PDFS", 40)))
    parser.add_argument("--workers", type=int, default=_usable_cores())
    args = parser.parse_args()
    snapshots = [sample_snapshot(i) for i in range(args.pdfs)]

    # One appraisal alone, after a warm-up render (fonts, stylesheet): the per-page cost.
    render_appraisal_pdf(snapshots[0])
    alone = []
    for snapshot in snapshots[:5]:
        start = time.perf_counter()
        pdf = render_appraisal_pdf(snapshot)
        alone.append((time.perf_counter() - start) / pages(pdf))

    # The cycle export as the CLI runs it: pool start-up and zip writing included.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cycle.zip"
        start = time.perf_counter()
        export_zip(((f"{i:04d}", s) for i, s in enumerate(snapshots)), path,
                   workers=args.workers, total=len(snapshots))
        batch_s = time.perf_counter() - start
        with zipfile.ZipFile(path) as archive:
            batch_pages = sum(pages(archive.read(name)) for name in archive.namelist())

    # The same pages as one long document, one process.
    start = time.perf_counter()
    document = render_document(snapshots)
    single_s = time.perf_counter() - start
    single_pages = pages(document)

    batch_rate, single_rate = batch_pages / batch_s, single_pages / single_s
    print(json.dumps({
        "pdfs": args.pdfs,
        "pages": batch_pages,
        "workers": args.workers,
        "batch_pages_per_s": round(batch_rate, 2),
        "single_doc_pages_per_s": round(single_rate, 2),
        "ratio": round(batch_rate / single_rate, 2),
        "per_page_s": round(statistics.median(alone), 3),
    }))


if __name__ == "__main__":
    main()
