"""Benchmark: computing a whole cycle against one bare aggregation pass over the same table.

Builds the data with bench/metrics.py (the source-data generator and the real import: by default 10,000
employees and 1,000,000 work orders with surveys and labour costs, in a fresh SQLite database), loads
the default rule set, then times ``compute_cycle`` of the whole period for all stations: metrics for
everyone, every appraisal scored, snapshots written in one transaction (median of ``--runs``, each a
new cycle so each is a full compute), and the bare ``SELECT technician_no, COUNT(*), SUM(parts_cost)
FROM work_order GROUP BY technician_no`` of the metrics bench on the same database. Prints one JSON line:

    {"employees", "orders", "compute_s", "scan_s", "ratio", "peak_rss_mb", ...}

``read_s``, ``score_s``, ``write_s`` split ``compute_s`` (reading with the metrics, scoring, writing);
``compute_cpu_s`` is the CPU time of a compute, scoring workers included; ``load`` the machine's load
average before and after the computes (others' work slows the wall times).

    .venv/bin/python bench/cycle.py [--orders N] [--employees M] [--runs K] [--db PATH] [--keep DIR]

``--db`` reuses a database built before (e.g. by ``bench/metrics.py --keep DIR``: DIR/bench.db).
``peak_rss_mb`` is this process's peak resident memory: the computes, not the data build (a child).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import END, START  # noqa: E402 - the metrics bench's period, same data


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


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the scoring workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def marker(marks: dict):
    """A compute's progress callback noting when the metrics are done and when writing starts."""
    def progress(stage: str, done: int, total: int) -> None:
        if (stage, done) in (("metrics", 1), ("write", 0)):
            marks[stage] = time.perf_counter()
    return progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="an existing bench database (SQLite file) to reuse")
    parser.add_argument("--keep", help="build into and keep this directory")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jixiao-bench-cycle-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    db_path = Path(args.db) if args.db else build(work, args.orders, args.employees)
    build_s = time.perf_counter() - started
    url = f"sqlite:///{db_path}"
    os.environ.update(DATABASE_URL=url, JIXIAO_INSTANCE=str(work / "instance"),
                      SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-key"))

    from sqlalchemy import func, select, text

    from app import ROOT as APP_ROOT
    from app import create_app
    from app.extensions import db
    from app.models import Appraisal, Employee, RuleSetVersion
    from app.services.compute import compute_cycle
    from app.services.cycles import create_cycle
    from app.services.rules import load_dir
    from app.setup import migrate_database

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    migrate_database(app)
    with app.app_context():
        session = db.session
        if not session.scalar(select(func.count()).select_from(RuleSetVersion)):
            load_dir(session, APP_ROOT / "rules", user="bench", note="bench")
        employees = session.scalar(select(func.count()).select_from(Employee))
        orders = session.execute(text("SELECT COUNT(*) FROM work_order")).scalar()
        scan = text("SELECT technician_no, COUNT(*), SUM(parts_cost) FROM work_order NOT INDEXED "
                    "GROUP BY technician_no")  # a table scan, as before the technician index
        session.execute(scan).all()  # warm the page cache, as the metrics bench does
        scans, computes = [], []
        first = None
        tag = int(time.time())
        cpus, stages = [], []
        load_before = os.getloadavg()[0]
        for run in range(args.runs):
            t0 = time.perf_counter()
            session.execute(scan).all()
            scans.append(time.perf_counter() - t0)
            cycle = create_cycle(session, f"bench-{tag}-{run}", START, END)
            marks: dict[str, float] = {}
            cpu0 = cpu_seconds()
            t0 = time.perf_counter()
            result = compute_cycle(session, cycle, progress=marker(marks))
            end = time.perf_counter()
            computes.append(end - t0)
            cpus.append(cpu_seconds() - cpu0)
            scored, written = marks["metrics"], marks["write"]
            stages.append((scored - t0, written - scored, end - written))
            first = first or result
        t0 = time.perf_counter()
        again = compute_cycle(session, cycle)  # nothing changed: a recompute reads and compares only
        recompute_s = time.perf_counter() - t0
        appraisals = session.scalar(select(func.count()).select_from(Appraisal)
                                    .where(Appraisal.cycle_id == cycle.id))
        snapshot_bytes = session.execute(text(
            "SELECT AVG(LENGTH(snapshot)) FROM appraisal WHERE cycle_id = :c"), {"c": cycle.id}).scalar()

    compute_s, scan_s = statistics.median(computes), statistics.median(scans)
    print(json.dumps({
        "employees": employees,
        "orders": orders,
        "compute_s": round(compute_s, 2),
        "scan_s": round(scan_s, 3),
        "ratio": round(compute_s / scan_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # scoring workers are forked from this process and share its pages until they write; when
        # this process built the data, its children include the import, so the figure is left out
        "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        if args.db else None,
        # where a compute's time goes (medians): reading with the metrics, scoring, writing; and the CPU
        # seconds of this process and its scoring workers, steadier than wall time on a loaded machine
        "read_s": round(statistics.median(s[0] for s in stages), 2),
        "score_s": round(statistics.median(s[1] for s in stages), 2),
        "write_s": round(statistics.median(s[2] for s in stages), 2),
        "compute_cpu_s": round(statistics.median(cpus), 2),
        "appraisals": appraisals,
        "skipped": len(first.skipped),
        "recompute_unchanged_s": round(recompute_s, 2),
        "recompute_changed": len(again.changed),
        "snapshot_avg_bytes": round(snapshot_bytes or 0),
        "runs": args.runs,
        # the machine's 1-minute load average when the computes began and when they ended: the wall times
        # hold for an otherwise idle machine only when both are well under the cores (2)
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "computes_s": [round(c, 2) for c in computes],
        "build_s": round(build_s, 1),
        "database": "sqlite",
    }))
    if not args.keep and not args.db:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
