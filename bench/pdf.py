"""PDF throughput: a cycle's export through export_zip on all cores vs one long document in one
process, on the same pages. Prints one JSON line:

  pdfs, pages, workers, rounds, batch_pages_per_s, single_doc_pages_per_s, ratio (batch ÷ single),
  per_page_s (one appraisal rendered alone, in this process, seconds per page), load_avg_before

Usage: .venv/bin/python bench/pdf.py [--pdfs N] [--workers W] [--rounds R]
       (or JIXIAO_BENCH_PDFS=N, JIXIAO_BENCH_ROUNDS=R). Rates and ratio are medians over rounds.
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


def batch(snapshots: list[dict], workers: int) -> tuple[int, float]:
    """The cycle export as the CLI runs it: workers' start-up and zip writing included."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cycle.zip"
        start = time.perf_counter()
        export_zip(((f"{i:04d}", s) for i, s in enumerate(snapshots)), path,
                   workers=workers, total=len(snapshots))
        seconds = time.perf_counter() - start
        with zipfile.ZipFile(path) as archive:
            return sum(pages(archive.read(name)) for name in archive.namelist()), seconds


def single(snapshots: list[dict]) -> tuple[int, float]:
    """The same pages as one long document, rendered in this process."""
    start = time.perf_counter()
    document = render_document(snapshots)
    seconds = time.perf_counter() - start
    return pages(document), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=int(os.environ.get("JIXIAO_BENCH_PDFS", 40)))
    parser.add_argument("--workers", type=int, default=_usable_cores())
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("JIXIAO_BENCH_ROUNDS", 3)))
    args = parser.parse_args()
    snapshots = [sample_snapshot(i) for i in range(args.pdfs)]
    load = os.getloadavg()[0]

    # One appraisal alone, after a warm-up render (fonts, stylesheet): the per-page cost.
    render_appraisal_pdf(snapshots[0])
    alone = []
    for snapshot in snapshots[:5]:
        start = time.perf_counter()
        pdf = render_appraisal_pdf(snapshot)
        alone.append((time.perf_counter() - start) / pages(pdf))

    # Rounds alternate which runs first, and each ratio compares two runs close in time, so a
    # neighbour's load on a shared machine skews the figures less. Medians are reported.
    batch_rates, single_rates, ratios = [], [], []
    for round_ in range(args.rounds):
        if round_ % 2 == 0:
            b_pages, b_s = batch(snapshots, args.workers)
            s_pages, s_s = single(snapshots)
        else:
            s_pages, s_s = single(snapshots)
            b_pages, b_s = batch(snapshots, args.workers)
        batch_rates.append(b_pages / b_s)
        single_rates.append(s_pages / s_s)
        ratios.append(batch_rates[-1] / single_rates[-1])

    print(json.dumps({
        "pdfs": args.pdfs,
        "pages": b_pages,
        "workers": args.workers,
        "rounds": args.rounds,
        "batch_pages_per_s": round(statistics.median(batch_rates), 2),
        "single_doc_pages_per_s": round(statistics.median(single_rates), 2),
        "ratio": round(statistics.median(ratios), 2),
        "per_page_s": round(statistics.median(alone), 3),
        "load_avg_before": round(load, 2),
    }))


if __name__ == "__main__":
    main()
