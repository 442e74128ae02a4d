"""PDF throughput: a cycle's export through export_zip on all cores vs one long document in one
process, on the same pages. Prints one JSON line:

  pdfs, pages, workers, rounds, batch_pages_per_s, single_doc_pages_per_s, ratio (batch ÷ single),
  per_page_s (one appraisal rendered alone, in this process, seconds per page), load_avg_before

and, to read the ratio on a machine other people load, CPU seconds (medians over rounds):

  batch_cpu_s        the export's own processes (workers, and the fork server the first time)
  batch_main_cpu_s   this process during the export (reading snapshots, sending them, writing the zip)
  single_cpu_s       the long document
  batch_cores_used, single_cores_used   CPU seconds ÷ wall seconds: the CPU the machine gave each
                     (the kernel shares CPU between sessions, so under load two workers may get no
                     more than one process would)
  cpu_ratio          single_cpu_s ÷ ((batch_cpu_s + batch_main_cpu_s) ÷ workers): the ratio with the
                     export's CPU spread over cores nobody else uses, before start-up latency and the
                     last worker's tail; `ratio` approaches it on an idle machine

Usage: .venv/bin/python bench/pdf.py [--pdfs N] [--workers W] [--rounds R] [--profile]
       (or JIXIAO_BENCH_PDFS=N, JIXIAO_BENCH_ROUNDS=R). Rates and ratio are medians over rounds.
       --profile adds "profile": CPU seconds per appraisal by rendering stage, each appraisal
       rendered alone vs the same appraisals in one document (their difference is what every
       separate PDF pays again).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import weasyprint  # noqa: E402
import weasyprint.document  # noqa: E402
import weasyprint.pdf  # noqa: E402
import weasyprint.pdf.fonts  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from app.pdf import export_zip, render_appraisal_pdf, render_document  # noqa: E402
from app.pdf.export import _usable_cores  # noqa: E402
from app.pdf.sample import sample_snapshot  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def descendants_cpu() -> float:
    """CPU seconds of this process's reaped children, of its live children, and of the children
    those have reaped (a fork server's workers), from /proc (Linux)."""
    times = os.times()
    total = times.children_user + times.children_system
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after "pid (comm) state".
            total += sum(int(value) for value in fields[11:15]) / TICK
    return total


def batch(snapshots: list[dict], workers: int) -> tuple[int, float, float, float]:
    """The cycle export as the CLI runs it: workers' start-up and zip writing included.
    Returns pages, wall seconds, the export's processes' CPU seconds, this process's."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cycle.zip"
        cpu, main_cpu = descendants_cpu(), time.process_time()
        start = time.perf_counter()
        export_zip(((f"{i:04d}", s) for i, s in enumerate(snapshots)), path,
                   workers=workers, total=len(snapshots))
        seconds = time.perf_counter() - start
        cpu, main_cpu = descendants_cpu() - cpu, time.process_time() - main_cpu
        with zipfile.ZipFile(path) as archive:
            count = sum(pages(archive.read(name)) for name in archive.namelist())
        return count, seconds, cpu, main_cpu


def single(snapshots: list[dict]) -> tuple[int, float, float]:
    """The same pages as one long document, rendered in this process."""
    cpu = time.process_time()
    start = time.perf_counter()
    document = render_document(snapshots)
    seconds = time.perf_counter() - start
    return pages(document), seconds, time.process_time() - cpu


# WeasyPrint's stages, as (owner, attribute, label); a generator is timed until exhausted.
STAGES = (
    (weasyprint.HTML, "__init__", "parse_html"),
    (weasyprint.document.Document, "_build_layout_context", "css_cascade"),
    (weasyprint.document, "build_formatting_structure", "boxes"),
    (weasyprint.document, "layout_document", "layout"),
    (weasyprint.document.Page, "paint", "draw"),
    (weasyprint.pdf.fonts.Font, "clean", "font_subset"),
    (weasyprint.document.Document, "write_pdf", "write_pdf"),
)


@contextmanager
def stage_timer(totals: Counter):
    """Add the CPU seconds spent in each of STAGES to ``totals`` while active (nested calls of
    one stage would count twice; WeasyPrint does not nest them)."""
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in STAGES]

    def timed(function, label, generator):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                result = function(*args, **kwargs)
                return list(result) if generator else result
            finally:
                totals[label] += time.process_time() - start
        return wrapper

    for (owner, name, label), (_, _, original) in zip(STAGES, saved, strict=True):
        if isinstance(original, classmethod):
            setattr(owner, name, classmethod(timed(original.__func__, label, False)))
        else:
            setattr(owner, name, timed(original, label, label == "layout"))
    try:
        yield totals
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def profile(snapshots: list[dict], rounds: int) -> dict:
    """CPU seconds per appraisal by stage: alone (one PDF each) vs in one document; the least of
    ``rounds`` tries of each, which is the least disturbed by other processes."""
    best: dict[str, Counter] = {}
    for _ in range(rounds):
        for kind in ("alone", "in_one_document"):
            with stage_timer(Counter()) as totals:
                start = time.process_time()
                if kind == "alone":
                    for snapshot in snapshots:
                        render_appraisal_pdf(snapshot)
                else:
                    render_document(snapshots)
                totals["total"] = time.process_time() - start
            if kind not in best or totals["total"] < best[kind]["total"]:
                best[kind] = totals
    labels = [label for *_, label in STAGES] + ["total"]
    per = {kind: {label: round(best[kind][label] / len(snapshots), 4) for label in labels}
           for kind in best}
    per["extra_per_pdf"] = {label: round(per["alone"][label] - per["in_one_document"][label], 4)
                            for label in labels}
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=int(os.environ.get("JIXIAO_BENCH_PDFS", 40)))
    parser.add_argument("--workers", type=int, default=_usable_cores())
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("JIXIAO_BENCH_ROUNDS", 3)))
    parser.add_argument("--profile", action="store_true",
                        help="add CPU seconds per appraisal by rendering stage, alone vs one document")
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
    runs: dict[str, list[float]] = {key: [] for key in (
        "batch_rate", "single_rate", "ratio", "batch_cpu", "main_cpu", "single_cpu", "batch_cores",
        "single_cores", "cpu_ratio")}
    for round_ in range(args.rounds):
        if round_ % 2 == 0:
            b_pages, b_s, b_cpu, m_cpu = batch(snapshots, args.workers)
            s_pages, s_s, s_cpu = single(snapshots)
        else:
            s_pages, s_s, s_cpu = single(snapshots)
            b_pages, b_s, b_cpu, m_cpu = batch(snapshots, args.workers)
        runs["batch_rate"].append(b_pages / b_s)
        runs["single_rate"].append(s_pages / s_s)
        runs["ratio"].append(runs["batch_rate"][-1] / runs["single_rate"][-1])
        runs["batch_cpu"].append(b_cpu)
        runs["main_cpu"].append(m_cpu)
        runs["single_cpu"].append(s_cpu)
        runs["batch_cores"].append((b_cpu + m_cpu) / b_s)
        runs["single_cores"].append(s_cpu / s_s)
        runs["cpu_ratio"].append(s_cpu / ((b_cpu + m_cpu) / args.workers))
    median = {key: statistics.median(values) for key, values in runs.items()}

    result = {
        "pdfs": args.pdfs,
        "pages": b_pages,
        "workers": args.workers,
        "rounds": args.rounds,
        "batch_pages_per_s": round(median["batch_rate"], 2),
        "single_doc_pages_per_s": round(median["single_rate"], 2),
        "ratio": round(median["ratio"], 2),
        "per_page_s": round(statistics.median(alone), 3),
        "load_avg_before": round(load, 2),
        "batch_cpu_s": round(median["batch_cpu"], 2),
        "batch_main_cpu_s": round(median["main_cpu"], 2),
        "single_cpu_s": round(median["single_cpu"], 2),
        "batch_cores_used": round(median["batch_cores"], 2),
        "single_cores_used": round(median["single_cores"], 2),
        "cpu_ratio": round(median["cpu_ratio"], 2),
    }
    if args.profile:
        result["profile"] = profile(snapshots[:8], args.rounds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
