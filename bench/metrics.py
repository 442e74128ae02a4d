"""Benchmark: all metrics of a period against one bare aggregation pass over the same table.

Generates an organisation (default 10,000 employees) and work orders (default 1,000,000) with their
surveys and labour costs into a fresh SQLite database, importing the orders with the real CLI in a
subprocess to measure its peak memory. Then times ``compute_metrics`` for all employees over the
whole period, every employee's figures read, and the bare ``SELECT technician_no, COUNT(*),
SUM(parts_cost) FROM work_order GROUP BY technician_no`` (median of ``--runs``), and prints one JSON
line:

    {"orders", "employees", "metrics_s", "scan_s", "ratio", "import_peak_rss_mb", ...}

    .venv/bin/python bench/metrics.py [--orders N] [--employees M] [--runs K] [--keep DIR]
    .venv/bin/python bench/metrics.py --reuse DIR   # time again on a database kept with --keep
"""

from __future__ import annotations

import argparse
import datetime as dt
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
sys.path.insert(0, str(ROOT))

START, END = dt.date(2024, 1, 1), dt.date(2024, 3, 31)


# A small launcher runs the CLI and reports its peak RSS. Measured from the big benchmark process
# itself, ru_maxrss would include the benchmark's own memory, which a child carries until exec.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_pid, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _cli_import(env: dict, kind: str, path: Path) -> tuple[float, float]:
    """Run ``flask --app run import KIND PATH`` in a child; returns (seconds, peak RSS in MB)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "flask", "--app", "run", "import",
         kind, str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    seconds = time.perf_counter() - started
    code, maxrss_kib = (int(x) for x in done.stdout.split())
    if code != 0:
        raise SystemExit(f"import of {path} failed (exit {code})")
    return seconds, maxrss_kib / 1024  # Linux reports KiB


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def load(app, args, work: Path, env: dict, files: dict) -> dict:
    """Generate the files, import them (orders and surveys through the CLI); the import figures."""
    from sqlalchemy import insert, text

    from app import datagen
    from app.extensions import db
    from app.importing import import_file
    from app.models import Station
    from app.setup import migrate_database

    migrate_database(app)
    stations = max(1, args.employees // 50)
    org = datagen.organisation(stations, args.employees, seed=7)
    started = time.perf_counter()
    with open(files["employees"], "w", encoding="utf-8") as out:
        datagen.write_csv(out, datagen.EMPLOYEE_COLUMNS, org.employee_rows())
    with open(files["orders"], "w", encoding="utf-8") as orders, \
            open(files["surveys"], "w", encoding="utf-8") as surveys:
        import csv

        order_writer = csv.writer(orders, lineterminator="\n")
        survey_writer = csv.writer(surveys, lineterminator="\n")
        order_writer.writerow(datagen.WORK_ORDER_COLUMNS)
        survey_writer.writerow(datagen.SURVEY_COLUMNS)
        for order, survey in datagen.orders_and_surveys(datagen.workers_of(org), START, END,
                                                        args.orders, seed=11):
            order_writer.writerow(order.values())
            if survey:
                survey_writer.writerow(survey.values())
    with open(files["costs"], "w", encoding="utf-8") as out:
        datagen.write_csv(out, datagen.COST_COLUMNS, datagen.labour_costs(org.people, START, END, seed=13))
    generate_s = time.perf_counter() - started

    with app.app_context():
        db.session.execute(insert(Station), [
            {"code": s.code, "name": s.name, "segment": s.segment} for s in org.stations])
        db.session.commit()
        import_file(db.session, "employees", files["employees"])
    import_s, import_rss = _cli_import(env, "work-orders", files["orders"])
    surveys_s, _rss = _cli_import(env, "surveys", files["surveys"])
    with app.app_context():
        import_file(db.session, "costs", files["costs"])
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    figures = {"import_peak_rss_mb": round(import_rss, 1), "import_s": round(import_s, 1),
               "survey_import_s": round(surveys_s, 1), "generate_s": round(generate_s, 1)}
    (work / "import.json").write_text(json.dumps(figures))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", help="keep the database and files in this directory")
    parser.add_argument("--reuse", help="skip generating and importing: time the metrics on the database "
                                        "that --keep left in this directory")
    args = parser.parse_args()
    if args.reuse:
        args.keep = args.reuse

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "bench.db"
    if db_path.exists() and not args.reuse:
        db_path.unlink()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db_path}", JIXIAO_INSTANCE=str(work / "instance"),
               SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-key"))
    os.environ.update(env)

    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from app.metrics import compute_metrics

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
    files = {name: work / f"{name}.csv" for name in ("employees", "orders", "surveys", "costs")}
    if args.reuse:
        loaded = json.loads((work / "import.json").read_text())
    else:
        loaded = load(app, args, work, env, files)
    with app.app_context():
        session = db.session
        session.execute(text("ANALYZE"))
        session.commit()
        counted = session.execute(text("SELECT COUNT(*) FROM work_order")).scalar()
        employees = session.execute(text("SELECT COUNT(*) FROM employee")).scalar()
        words = ["新技术", "增值服务"]
        scan = text("SELECT technician_no, COUNT(*), SUM(parts_cost) FROM work_order NOT INDEXED "
                    "GROUP BY technician_no")  # a table scan, as before the technician index
        # A warm-up each (both then read from the page cache), then alternating runs so that a
        # change of load on the machine hits both sides alike.

        def every_metric():
            # each employee's metrics are worked out when read (by the scoring workers in a compute):
            # read them all, so that the figure is every metric of the period, as it always was
            metrics = compute_metrics(session, START, END, tag_words=words)
            for employee in metrics.employees:
                metrics.employees[employee], metrics.tags[employee]

        session.execute(scan).all()
        every_metric()
        metrics_times, scan_times = [], []
        for _ in range(args.runs):
            metrics_times.append(_timed(every_metric))
            scan_times.append(_timed(lambda: session.execute(scan).all()))
        metrics_s, scan_s = statistics.median(metrics_times), statistics.median(scan_times)

    print(json.dumps({
        "orders": counted,
        "employees": employees,
        "metrics_s": round(metrics_s, 3),
        "scan_s": round(scan_s, 3),
        "ratio": round(metrics_s / scan_s, 2),
        "import_peak_rss_mb": loaded["import_peak_rss_mb"],
        "import_s": loaded["import_s"],
        "import_rows_per_s": round(counted / loaded["import_s"]),
        "survey_import_s": loaded["survey_import_s"],
        "generate_s": loaded["generate_s"],
        "runs": args.runs,
        "database": "sqlite",
    }))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
