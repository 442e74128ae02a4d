"""Benchmark: how long reading a hostile workbook holds a worker, and at what peak memory.

Writes the files the import limits exist for (small on disk): one row of 2,000,000 cells (with and
without a declared size), 1,500,000 blank rows under one data row, and a work-order workbook of
``--orders`` rows (a large station's import) to show the limits admit it. Each is opened and read to
the end (or to the refusal) in a child process, as the import does, with this tree's reader or with
a reader file given by ``--reader`` (e.g. an older version); prints one JSON line:

    {"reader", "files": {name: {"kb", "seconds", "peak_rss_mb", "rows", "refused"}}}

    .venv/bin/python bench/import_limits.py [--orders N] [--reader PATH] [--only NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import importlib.util, json, resource, sys, time
spec = importlib.util.spec_from_file_location("reader", sys.argv[1])
reader = importlib.util.module_from_spec(spec)
sys.modules["reader"] = reader
spec.loader.exec_module(reader)
started, rows, refused = time.perf_counter(), 0, None
try:
    table = reader.open_table(sys.argv[2])
    for _row in table.rows:
        rows += 1
except reader.FileRefused as exc:
    refused = exc.message
print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "rows": rows, "refused": refused,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def write_files(work: Path, orders: int) -> dict[str, Path]:
    from openpyxl import Workbook

    from tests.source.hostile import blank_rows, row, wide_row, workbook

    header = ["order_no", "station_code", "technician_no", "customer_type", "reported_at"]
    one = ["B1", "S01", "EMP1", "consumer", "2024-05-10 08:00"]
    files = {
        "wide_row_undeclared": workbook([row(1, header), *wide_row(2, 2_000_000)]),
        "wide_row_declared": workbook([row(1, header), *wide_row(2, 2_000_000)], dimension="A1:XFD2"),
        "blank_rows": workbook([row(1, header), row(2, one), *blank_rows(1_500_000)],
                               dimension="A1:P1500002"),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = work / f"{name}.xlsx"
        paths[name].write_bytes(data.getvalue())
    if orders:
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(["order_no", "station_code", "technician_no", "customer_type", "reported_at",
                      "completed_at", "first_time_fixed", "parts_cost", "labor_hours", "tags"])
        start = dt.datetime(2024, 1, 1, 8, 0)
        for n in range(orders):
            at = start + dt.timedelta(minutes=n)
            sheet.append([f"WO{n:08d}", "S01", "EMP1", "consumer", at, at + dt.timedelta(hours=3),
                          1, 12.5, 1.5, "保修;上门"])
        paths["orders"] = work / "orders.xlsx"
        book.save(paths["orders"])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--reader", default=str(ROOT / "app" / "importing" / "reader.py"))
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="jixiao-limits-") as tmp:
        for name, path in write_files(Path(tmp), args.orders).items():
            if args.only and name != args.only:
                continue
            done = subprocess.run([sys.executable, "-c", CHILD, args.reader, str(path)], cwd=ROOT,
                                  capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{name}: {done.stderr}")
            results[name] = {"kb": round(path.stat().st_size / 1024), **json.loads(done.stdout)}
    print(json.dumps({"reader": args.reader, "files": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
