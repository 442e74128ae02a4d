"""Benchmark: what a person waits for on the screens and APIs of a real network's database.

Builds (or reuses with ``--db`` / ``--db-url``) a database with ten computed cycles of 10,000 employees
(100,000 appraisals) over 1,000,000 work orders, with the generator and the real import of
bench/metrics.py, then starts the production server (``python run.py``: gunicorn, ``WEB_CONCURRENCY=2``)
on a free port and measures, with ``--clients`` concurrent clients and ``--requests`` requests each per
endpoint, the p50 and p95 of:

* the floor: a trivial authenticated JSON endpoint (``/api/v1/formula/catalogue``);
* the appraisal list API: first page, a deep page, sorted by total, filtered by cycle and station; one
  appraisal;
* the work-order list API: first page, a deep page, filtered by technician;
* the screens: appraisal list, a supervisor's inbox, HR's home page, the dashboard, a cycle page, the
  calibration screen, an employee's history (signed in as HR, the supervisor, the employee);
* the latest cycle's Excel export: time to first byte and total (fewer requests: it is a download,
  not counted in ``worst_ratio``).

Prints one JSON line:

    {"endpoints": {name: {"p50_ms", "p95_ms", "kb", "requests"}}, "floor_p95_ms", "appraisals",
     "orders", "db", "worst_ratio", "worst", "max_page_kb", "load_avg_1min", ...}

``worst_ratio`` is the largest p95 ÷ the floor's p95 (export aside), ``max_page_kb`` the largest
response among the screens.

    .venv/bin/python bench/serve.py [--db PATH | --db-url URL] [--employees M] [--orders N] [--cycles K]
                                    [--clients C] [--requests R] [--small]

``--db PATH`` builds the SQLite database there when the file is missing and reuses it otherwise;
``--db-url`` serves any database (PostgreSQL: ``postgresql+psycopg://…``), filled first when it holds no
work orders. ``--small`` is a quick smoke run: 200 employees × 10 cycles (2,000 appraisals), 20,000
orders, 10 requests per client.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PASSWORD = "Bench-serve-2024"
HR_USER, SUP_USER, EMP_USER = "bench_hr", "bench_sup", "bench_emp"
CYCLE_NAME = "bench-serve-{:02d}"
SCREENS = ("screen_appraisal_list", "screen_inbox", "screen_home", "screen_dashboard", "screen_cycle",
           "screen_calibration", "screen_history")


# -- the data ----------------------------------------------------------------------------------

def prepare_data(url: str, work: Path, employees: int, orders: int, cycles: int) -> dict:
    """Fill an empty database (generator + real import), then make sure of the rule set, the bench's
    users, ``cycles`` computed cycles and a supervisor's team waiting in review. Idempotent: a second
    run on the same database only reads. Runs in a child process (``--prepare``)."""
    from metrics import END, START, load
    from sqlalchemy import func, select, text

    from app import create_app
    from app import permissions as p
    from app.extensions import db
    from app.models import Appraisal, Cycle, Employee, Station
    from app.services.caller import caller_for
    from app.services.compute import compute_cycle
    from app.services.cycles import create_cycle
    from app.services.transitions import transition
    from app.setup import migrate_database, prepare
    from app.workflow import State

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    migrate_database(app)
    with app.app_context():
        have = db.session.execute(text("SELECT COUNT(*) FROM work_order")).scalar()
    if not have:
        files = {name: work / f"{name}.csv" for name in ("employees", "orders", "surveys", "costs")}
        load(app, SimpleNamespace(employees=employees, orders=orders), work, dict(os.environ), files)
        for f in files.values():
            f.unlink(missing_ok=True)
    prepare(app, demo=False)  # permissions and the default rule set, as python run.py does
    with app.app_context():
        s = db.session
        sm = app.appbuilder.sm

        def account(username: str, role: str, employee: Employee | None):
            user = sm.find_user(username=username)
            if user is None:
                user = sm.add_user(username=username, first_name=username, last_name="",
                                   email=f"{username}@bench.jixiao.local", role=[sm.find_role(role)],
                                   password=PASSWORD)
            if employee is not None and employee.user_id != user.id:
                employee.user_id = user.id
                s.commit()
            return user

        # the first station's first supervisor (主管) and one of their staff
        first = s.scalar(select(Station).order_by(Station.code).limit(1))
        sup = s.scalar(select(Employee).where(Employee.station_id == first.id, Employee.position == "主管")
                       .order_by(Employee.employee_no).limit(1))
        emp = s.scalar(select(Employee).where(Employee.supervisor_id == sup.id).order_by(Employee.employee_no)
                       .limit(1))
        hr = account(HR_USER, p.HR, None)
        account(SUP_USER, p.SUPERVISOR, sup)
        account(EMP_USER, p.EMPLOYEE, emp)
        latest = None
        for i in range(1, cycles + 1):
            name = CYCLE_NAME.format(i)
            cycle = s.scalar(select(Cycle).where(Cycle.name == name))
            if cycle is None:
                cycle = create_cycle(s, name, START, END)
            if cycle.computed_at is None:
                compute_cycle(s, cycle)
            latest = cycle
        # the supervisor's team, in every cycle, waits for their review
        hr_caller = caller_for(s, hr)
        drafts = s.scalars(select(Appraisal.id).join(Employee, Employee.id == Appraisal.employee_id)
                           .where(Employee.supervisor_id == sup.id, Appraisal.is_current.is_(True),
                                  Appraisal.state == State.draft)).all()
        for ident in drafts:
            transition(s, ident, hr_caller, "submit", "")
        some = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == latest.id).order_by(Appraisal.id)
                        .limit(1))
        if s.get_bind().dialect.name == "postgresql":
            # what autovacuum does after a bulk load: the planner's statistics for the new indexes
            s.execute(text("ANALYZE"))
            s.commit()
        return {
            "appraisals": s.scalar(select(func.count()).select_from(Appraisal)),
            "orders": s.execute(text("SELECT COUNT(*) FROM work_order")).scalar(),
            "cycle_id": latest.id, "station_id": first.id, "appraisal_id": some,
            "technician_no": emp.employee_no,
            "waiting": s.scalar(select(func.count()).select_from(Appraisal)
                                .join(Employee, Employee.id == Appraisal.employee_id)
                                .where(Employee.supervisor_id == sup.id, Appraisal.is_current.is_(True),
                                       Appraisal.state == State.pending_review)),
        }


def run_prepare(url: str, work: Path, args, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--prepare", "--db-url", url, "--work", str(work),
         "--employees", str(args.employees), "--orders", str(args.orders), "--cycles", str(args.cycles)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"preparing the data failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    out = open(log, "w")  # noqa: SIM115 - closed with the server
    server = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                              env=dict(env, PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY="2"),
                              start_new_session=True)
    server.log_file = out
    import requests

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/login/", timeout=5).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise SystemExit("the server did not answer within 10 minutes")


def stop_server(server: subprocess.Popen) -> None:
    import signal

    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # gunicorn's master, its workers and job runners
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    server.log_file.close()


# -- the clients -------------------------------------------------------------------------------

def signed_in(base: str, username: str):
    import requests

    session = requests.Session()
    html = session.get(f"{base}/login/", timeout=60).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    r = session.post(f"{base}/login/", data={"username": username, "password": PASSWORD, "csrf_token": token},
                     allow_redirects=False, timeout=60)
    if r.status_code != 302 or "/login" in r.headers.get("Location", ""):
        raise SystemExit(f"signing in as {username} failed ({r.status_code})")
    return session


def endpoints(facts: dict, page_size: int = 50) -> dict[str, tuple[str, str]]:
    """name → (user, path)."""
    deep_appraisal = max(0, facts["appraisals"] // page_size - 2)
    deep_order = max(0, facts["orders"] // page_size - 2)
    cid, sid = facts["cycle_id"], facts["station_id"]
    return {
        "floor": (HR_USER, "/api/v1/formula/catalogue"),
        "api_appraisal_first": (HR_USER, "/api/v1/appraisal/"),
        "api_appraisal_deep": (HR_USER, f"/api/v1/appraisal/?q=(page:{deep_appraisal},"
                                        f"page_size:{page_size})"),
        "api_appraisal_by_total": (HR_USER, "/api/v1/appraisal/?q=(order_column:total,order_direction:desc)"),
        "api_appraisal_filtered": (HR_USER, "/api/v1/appraisal/?q=(filters:!("
                                            f"(col:cycle,opr:rel_o_m,value:{cid}),"
                                            f"(col:station,opr:rel_o_m,value:{sid})))"),
        "api_appraisal_one": (HR_USER, f"/api/v1/appraisal/{facts['appraisal_id']}"),
        "api_workorder_first": (HR_USER, "/api/v1/workorder/"),
        "api_workorder_deep": (HR_USER, f"/api/v1/workorder/?q=(page:{deep_order},page_size:{page_size})"),
        "api_workorder_technician": (HR_USER, "/api/v1/workorder/?q=(filters:!((col:technician_no,opr:eq,"
                                              f"value:{facts['technician_no']})))"),
        "screen_appraisal_list": (HR_USER, "/appraisal/list/"),
        "screen_inbox": (SUP_USER, "/appraisal/inbox/"),
        "screen_home": (HR_USER, "/"),
        "screen_dashboard": (HR_USER, "/dashboard/"),
        "screen_cycle": (HR_USER, f"/cycles/{cid}"),
        "screen_calibration": (HR_USER, f"/calibration/{cid}"),
        "screen_history": (EMP_USER, "/dashboard/mine/"),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def hammer(base: str, sessions: list, path: str, requests_each: int, ttfb: bool = False) -> dict:
    """One thread per signed-in session, each sending ``requests_each`` requests one after another."""
    if requests_each > 1:
        for session in sessions:  # one warm-up each: the first request of a worker loads its caches
            _ = session.get(base + path, timeout=600).content
    times, firsts, sizes, failures = [], [], [], []
    lock = threading.Lock()

    def client(session) -> None:
        for _ in range(requests_each):
            started = time.perf_counter()
            with session.get(base + path, stream=True, timeout=600) as r:
                first = None
                size = 0
                for chunk in r.iter_content(65536):
                    first = first or time.perf_counter()
                    size += len(chunk)
                done = time.perf_counter()
            with lock:
                if r.status_code != 200:
                    failures.append(r.status_code)
                times.append(done - started)
                firsts.append((first or done) - started)
                sizes.append(size)

    threads = [threading.Thread(target=client, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{path} answered {sorted(set(failures))}")
    figures = {"p50_ms": round(statistics.median(times) * 1000, 1),
               "p95_ms": round(percentile(times, 0.95) * 1000, 1),
               "kb": round(max(sizes) / 1024, 1), "requests": len(times)}
    if ttfb:
        figures.update(ttfb_p50_ms=round(statistics.median(firsts) * 1000, 1),
                       ttfb_p95_ms=round(percentile(firsts, 0.95) * 1000, 1))
    return figures


# -- the run -----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="the SQLite database: built there when missing, reused otherwise")
    parser.add_argument("--db-url", help="serve this database (e.g. PostgreSQL); filled when it has no "
                                         "orders")
    parser.add_argument("--employees", type=int, help="default 10,000 (--small: 200)")
    parser.add_argument("--orders", type=int, help="default 1,000,000 (--small: 20,000)")
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int,
                        help="requests per client and endpoint (default 100, --small: 10)")
    parser.add_argument("--export-requests", type=int, help="exports per client (default requests ÷ 25)")
    parser.add_argument("--small", action="store_true", help="a quick smoke run on a small database")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)  # the child's part
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = (("employees", 10_000, 200), ("orders", 1_000_000, 20_000), ("requests", 100, 10))
    for name, full, small in sizes:
        if getattr(args, name) is None:
            setattr(args, name, small if args.small else full)
    if args.prepare:
        facts = prepare_data(args.db_url, Path(args.work), args.employees, args.orders, args.cycles)
        print(json.dumps(facts))
        return

    work = Path(tempfile.mkdtemp(prefix="jixiao-bench-serve-"))
    if args.db_url:
        url, kind = args.db_url, args.db_url.split(":", 1)[0].split("+", 1)[0]
    else:
        db_path = Path(args.db) if args.db else work / "bench.db"
        url, kind = f"sqlite:///{db_path.resolve()}", "sqlite"
    env = dict(os.environ, DATABASE_URL=url, JIXIAO_INSTANCE=str(work / "instance"),
               SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-key"))
    started = time.perf_counter()
    facts = run_prepare(url, work, args, env)
    build_s = time.perf_counter() - started

    port = free_port()
    server = start_server(env, port, work / "server.log")
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        sessions = {user: [signed_in(base, user) for _ in range(args.clients)]
                    for user in (HR_USER, SUP_USER, EMP_USER)}
        for name, (user, path) in endpoints(facts).items():
            results[name] = hammer(base, sessions[user], path, args.requests)
        exports = args.export_requests or max(1, args.requests // 25)
        export = f"/api/v1/cycle/{facts['cycle_id']}/export.xlsx"
        results["export_xlsx"] = hammer(base, sessions[HR_USER], export, exports, ttfb=True)
    finally:
        stop_server(server)

    floor = results["floor"]["p95_ms"]
    ratios = {name: r["p95_ms"] / floor for name, r in results.items()
              if name not in ("floor", "export_xlsx")}
    worst = max(ratios, key=ratios.get)
    print(json.dumps({
        "endpoints": results,
        **{f"{name}_p95_ms": r["p95_ms"] for name, r in results.items()},
        "floor_p95_ms": floor,
        "worst_ratio": round(ratios[worst], 2),
        "worst": worst,
        "max_page_kb": max(results[name]["kb"] for name in SCREENS),
        "appraisals": facts["appraisals"],
        "orders": facts["orders"],
        "inbox_waiting": facts["waiting"],
        "db": kind,
        "clients": args.clients,
        "requests_per_client": args.requests,
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "build_s": round(build_s, 1),
    }, ensure_ascii=False))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
