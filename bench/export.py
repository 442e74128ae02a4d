"""Benchmark: a cycle's Excel workbook (results, payroll, distribution) for 10,000 and for 1,000 appraisals.

Builds the data with bench/metrics.py (the source-data generator and the real import: by default 10,000
employees and 200,000 work orders in a fresh SQLite database; the number of orders does not change the
export), loads the default rule set and computes two cycles over the same period: every station (10,000
appraisals) and the first stations holding 1,000 employees. Each export then runs in a child process,
as ``flask --app run cycle export`` does (``app.exports.cycle_workbook`` with HR's scope): the child
reports its seconds, and its peak resident memory comes from the operating system when it ends
(``wait4``). A child that only starts the application gives the baseline. Prints one JSON line:

    {"appraisals", "seconds", "cpu_seconds", "first_bytes_s", "peak_rss_mb", "appraisals_1000",
     "seconds_1000", "peak_rss_mb_1000", "baseline_rss_mb", "file_mb", ...}

``seconds`` is the median wall time of ``--runs`` exports, ``cpu_seconds`` the export's own CPU time
(what the wall time is on an otherwise idle machine), ``first_bytes_s`` the median time until the
workbook's first bytes were written (the workbook streams: a download's time to its first byte, without
the request's own cost; bench/serve.py measures that over HTTP).

    .venv/bin/python bench/export.py [--employees M] [--orders N] [--runs K] [--db PATH] [--keep DIR]

``--db`` reuses a database built before (by ``--keep DIR``: DIR/bench.db, or ``bench/metrics.py --keep``);
the cycles are created and computed only when missing. Memory is flat when the two peaks are close.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ALL, PART = "bench-export", "bench-export-1000"

# The child: start the application, write the workbook (unless only the baseline is asked), report.
CHILD = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from sqlalchemy import select
from app import create_app
from app.exports import cycle_workbook
from app.extensions import db
from app.models import Cycle
from app.scoping import Scope
app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"]})
class Timed:  # the file written to, noting when its first bytes came (what a download waits for)
    def __init__(self, file):
        self.file, self.first = file, None
    def write(self, data):
        self.first = self.first or time.perf_counter()
        return self.file.write(data)
    def flush(self):
        self.file.flush()
with app.app_context():
    cycle = db.session.scalar(select(Cycle).where(Cycle.name == sys.argv[2]))
    started, cpu = time.perf_counter(), time.process_time()
    rows, first = 0, started
    if sys.argv[3]:
        with open(sys.argv[3], "wb") as file:
            out = Timed(file)
            rows = cycle_workbook(db.session, cycle, Scope(everything=True), "zh_CN", out)
            first = out.first
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started,
                      "cpu_seconds": time.process_time() - cpu, "first_bytes": first - started}))
"""


def build(work: Path, orders: int, employees: int) -> Path:
    """The metrics bench builds the database (generator + real import) into ``work``."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "metrics.py"), "--orders", str(orders), "--employees",
         str(employees), "--runs", "1", "--keep", str(work)],
        cwd=ROOT, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"building the data failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    return work / "bench.db"


def prepare_cycles(url: str) -> dict[str, int]:
    """Create and compute the two cycles when missing; name → appraisals. Runs in a child of its own,
    so that the measuring process stays small."""
    script = """
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/bench")
from sqlalchemy import func, select
from app import ROOT, create_app
from app.extensions import db
from app.models import Appraisal, Cycle, Employee, RuleSetVersion, Station
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from app.services.rules import load_dir
from app.setup import migrate_database
from metrics import END, START
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[2]})
migrate_database(app)
with app.app_context():
    s = db.session
    if not s.scalar(select(func.count()).select_from(RuleSetVersion)):
        load_dir(s, ROOT / "rules", user="bench", note="bench")
    per_station = s.execute(select(Station.code, func.count(Employee.id))
                            .join(Employee, Employee.station_id == Station.id)
                            .group_by(Station.code).order_by(Station.code)).all()
    part, people = [], 0
    for code, n in per_station:
        if people >= 1000:
            break
        part.append(code)
        people += n
    counts = {}
    for name, codes in ((sys.argv[3], []), (sys.argv[4], part)):
        cycle = s.scalar(select(Cycle).where(Cycle.name == name))
        if cycle is None:
            cycle = create_cycle(s, name, START, END, codes)
        if cycle.computed_at is None:
            compute_cycle(s, cycle)
        counts[name] = s.scalar(select(func.count()).select_from(Appraisal)
                                .where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True)))
    print(json.dumps(counts))
"""
    done = subprocess.run([sys.executable, "-c", script, str(ROOT), url, ALL, PART], cwd=ROOT,
                          capture_output=True, text=True, env=dict(os.environ, DATABASE_URL=url))
    if done.returncode != 0:
        raise SystemExit(f"computing the cycles failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(url: str, cycle: str, out: str) -> tuple[dict, float]:
    """One export (or, without ``out``, only the start) in a child: (its report, its peak RSS in MB)."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), cycle, out], cwd=ROOT,
                                 stdout=stdout, stderr=stderr, env=dict(os.environ, DATABASE_URL=url))
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"the export of {cycle} failed:\n{stderr.read()[-4000:]}")
        report = json.loads(stdout.read().strip().splitlines()[-1])
    return report, usage.ru_maxrss / 1024  # Linux reports KiB


def measure(url: str, cycle: str, out: Path, runs: int) -> dict:
    """The median seconds and the highest peak RSS of ``runs`` exports of ``cycle``."""
    seconds, cpu, firsts, peaks, rows = [], [], [], [], 0
    for _ in range(runs):
        report, peak = run_child(url, cycle, str(out))
        seconds.append(report["seconds"])
        cpu.append(report["cpu_seconds"])
        firsts.append(report["first_bytes"])
        peaks.append(peak)
        rows = report["rows"]
    return {"rows": rows, "seconds": statistics.median(seconds), "cpu": statistics.median(cpu),
            "first": statistics.median(firsts), "peak": max(peaks), "file_mb": out.stat().st_size / 2**20,
            "all_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="an existing bench database (SQLite file) to reuse")
    parser.add_argument("--keep", help="build into and keep this directory")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jixiao-bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    db_path = Path(args.db) if args.db else work / "bench.db"
    if not db_path.exists():
        build(work, args.orders, args.employees)
    url = f"sqlite:///{db_path.resolve()}"
    os.environ.update(JIXIAO_INSTANCE=str(work / "instance"),
                      SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-key"))
    counts = prepare_cycles(url)
    build_s = time.perf_counter() - started

    _report, baseline = run_child(url, ALL, "")
    big = measure(url, ALL, work / "all.xlsx", args.runs)
    small = measure(url, PART, work / "part.xlsx", args.runs)
    print(json.dumps({
        "appraisals": big["rows"],
        "seconds": round(big["seconds"], 2),
        "cpu_seconds": round(big["cpu"], 2),  # the same without the time other processes took
        "first_bytes_s": round(big["first"], 3),  # until the workbook's first bytes were written
        "peak_rss_mb": round(big["peak"], 1),
        "appraisals_1000": small["rows"],
        "seconds_1000": round(small["seconds"], 2),
        "cpu_seconds_1000": round(small["cpu"], 2),
        "peak_rss_mb_1000": round(small["peak"], 1),
        "baseline_rss_mb": round(baseline, 1),  # the application started, nothing exported
        "rss_growth_mb": round(big["peak"] - small["peak"], 1),  # 1,000 → 10,000 appraisals
        "rows_per_s": round(big["rows"] / big["seconds"]),
        "file_mb": round(big["file_mb"], 2),
        "runs": args.runs,
        "seconds_runs": [round(s, 2) for s in big["all_seconds"]],
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "cycles": counts,
        "build_s": round(build_s, 1),
        "database": "sqlite",
    }))
    if not args.keep and not args.db:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
