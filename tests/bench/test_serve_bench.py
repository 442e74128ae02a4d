"""bench/serve.py, smoke-tested: a tiny database, the production server, one request per endpoint; its
one JSON line has every figure the benchmark promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

KEYS = {"endpoints", "floor_p95_ms", "appraisals", "orders", "db", "worst_ratio", "worst", "max_page_kb"}
ENDPOINTS = {
    "floor", "api_appraisal_first", "api_appraisal_deep", "api_appraisal_by_total", "api_appraisal_filtered",
    "api_appraisal_one", "api_workorder_first", "api_workorder_deep", "api_workorder_technician",
    "screen_appraisal_list", "screen_inbox", "screen_home", "screen_dashboard", "screen_cycle",
    "screen_calibration", "screen_history", "export_xlsx",
}


def test_serve_bench_small_prints_every_figure(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "JIXIAO_INSTANCE")}
    done = subprocess.run(
        [sys.executable, "bench/serve.py", "--small", "--employees", "60", "--orders", "3000",
         "--cycles", "2", "--clients", "2", "--requests", "1", "--export-requests", "1",
         "--db", str(tmp_path / "serve.db")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= line.keys()
    assert set(line["endpoints"]) == ENDPOINTS
    for name, figures in line["endpoints"].items():
        assert {"p50_ms", "p95_ms", "kb", "requests"} <= figures.keys(), name
        assert f"{name}_p95_ms" in line
    assert line["endpoints"]["export_xlsx"]["ttfb_p95_ms"] > 0
    assert line["appraisals"] == 120 and line["orders"] == 3000
    assert line["db"] == "sqlite"
