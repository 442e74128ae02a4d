"""Benchmark: all metrics of a period against one bare aggregation pass over the same table.

Generates an organisation (default 10,000 employees) and work orders (default 1,000,000) with their
surveys and labour costs into a fresh SQLite database, importing the orders with the real CLI in a
subprocess to measure its peak memory. Then times ``compute_metrics`` for all employees over the
whole period and the bare ``SELECT technician_no, COUNT(*), SUM(parts_cost) FROM work_order GROUP BY
technician_no`` (median of ``--runs``), and prints one JSON line:

    {"orders", "employees", "metrics_s", "scan_s", "ratio", "import_peak_rss_mb", ...}

    .venv/bin/python bench/metrics.py [--orders N] [--employees M] [--runs K] [--keep DIR]
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


def _cli_import(env: dict, kind: str, path: Path) -> tuple[float, float]:
    """Run ``flask --app run import KIND PATH`` in a child; returns (seconds, peak RSS in MB)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "run", "import", kind, str(path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    output = child.stdout.read().decode()
    child.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import of {path} failed: {output}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", help="keep the database and files in this directory")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "bench.db"
    if db_path.exists():
        db_path.unlink()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db_path}", JIXIAO_INSTANCE=str(work / "instance"),
               SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-key"))
    os.environ.update(env)

    from sqlalchemy import insert, text

    from app import create_app, datagen
    from app.extensions import db
    from app.importing import import_file
    from app.metrics import compute_metrics
    from app.models import Station
    from app.setup import migrate_database

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
    migrate_database(app)
    stations = max(1, args.employees // 50)
    org = datagen.organisation(stations, args.employees, seed=7)
    files = {name: work / f"{name}.csv" for name in ("employees", "orders", "surveys", "costs")}
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
        for order, survey in datagen.orders_and_surveys(datagen.workers_of(org), START, END, args.orders, seed=11):
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
        session = db.session
        session.execute(text("ANALYZE"))
        session.commit()
        counted = session.execute(text("SELECT COUNT(*) FROM work_order")).scalar()
        words = ["新技术", "增值服务"]
        scan = text("SELECT technician_no, COUNT(*), SUM(parts_cost) FROM work_order GROUP BY technician_no")
        # one warm-up each: both then read from the page cache
        session.execute(scan).all()
        compute_metrics(session, START, END, tag_words=words)
        metrics_s = _median_time(lambda: compute_metrics(session, START, END, tag_words=words), args.runs)
        scan_s = _median_time(lambda: session.execute(scan).all(), args.runs)

    print(json.dumps({
        "orders": counted,
        "employees": args.employees,
        "metrics_s": round(metrics_s, 3),
        "scan_s": round(scan_s, 3),
        "ratio": round(metrics_s / scan_s, 2),
        "import_peak_rss_mb": round(import_rss, 1),
        "import_s": round(import_s, 1),
        "import_rows_per_s": round(counted / import_s),
        "survey_import_s": round(surveys_s, 1),
        "generate_s": round(generate_s, 1),
        "runs": args.runs,
        "database": "sqlite",
    }))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
