"""Background jobs on Celery and Redis: PDF export throughput with one and with two worker processes, and
what going through a worker costs a cycle's compute.

Builds the data with bench/metrics.py (the generator and the real import; by default 3,000 employees and
300,000 work orders in a fresh SQLite database), loads the default rule set and computes a cycle of the
first stations holding ``--pdfs`` employees. Starts a throwaway Redis (tests/redisserver.py), then one and
then two ``flask --app run worker`` processes on it (each a Celery worker of one process), and times the
export job of that cycle's PDFs (``JIXIAO_EXPORT_PART_SIZE`` = ``--part-size``): from sending the job to
seeing it done, zip included, after a warm-up export; the median of ``--rounds``, each round measuring
one worker and then two close in time. With the one worker it also times a compute job of the whole
period for all stations against ``compute_cycle`` called in this process on the same data (each on a new
cycle, one after the other, after a warm-up of each). Prints one JSON line:

    {"pdfs", "pages", "one_worker_pages_per_s", "two_workers_pages_per_s", "ratio" (two ÷ one, per round),
     "queue_overhead" (compute through a worker ÷ compute called directly, per round), "compute_direct_s",
     "compute_worker_s", ...}

    .venv/bin/python bench/jobs.py [--pdfs N] [--part-size P] [--rounds R] [--employees M] [--orders K]
                                   [--db PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cycle import build  # noqa: E402 - the cycle bench's data build (bench/metrics.py)
from metrics import END, START  # noqa: E402 - the metrics bench's period, same data


def worker(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker", "-l", "INFO"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(processes: list[tuple[subprocess.Popen, Path]], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not all(" ready." in log.read_text() for _, log in processes):
        for process, log in processes:
            if process.poll() is not None:
                raise SystemExit(f"a worker ended:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
        time.sleep(0.1)


def stop(processes: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _log in processes:
        process.terminate()
    for process, _log in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdfs", type=int, default=int(os.environ.get("JIXIAO_BENCH_PDFS", 80)))
    parser.add_argument("--part-size", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("JIXIAO_BENCH_ROUNDS", 3)))
    parser.add_argument("--employees", type=int, default=3_000)
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--db", help="a bench database built before (SQLite file) to copy and use")
    parser.add_argument("--keep", help="build into this directory and keep it (its bench.db for --db)")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="jixiao-bench-jobs-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path) -> None:
    started = time.perf_counter()
    if args.db:
        db_path = work / "run.db"
        shutil.copyfile(args.db, db_path)
    else:
        db_path = build(work, args.orders, args.employees)
    build_s = time.perf_counter() - started
    url = f"sqlite:///{db_path}"
    job_dir = work / "jobs"
    os.environ.update(DATABASE_URL=url, JIXIAO_INSTANCE=str(work / "instance"),
                      SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-key"))
    os.environ.pop("CELERY_BROKER_URL", None)

    from pypdf import PdfReader
    from sqlalchemy import func, select

    from app import ROOT as APP_ROOT
    from app import create_app
    from app.extensions import db
    from app.jobs import storage
    from app.jobs.export import start_export
    from app.jobs.start import start_job
    from app.models import Appraisal, Cycle, Employee, Job, JobKind, JobState, RuleSetVersion, Station
    from app.services.compute import compute_cycle
    from app.services.cycles import create_cycle
    from app.services.rules import load_dir
    from app.setup import migrate_database
    from tests.redisserver import RedisServer

    redis = RedisServer().start()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CELERY_BROKER_URL": redis.url(),
                      "JIXIAO_JOB_DIR": str(job_dir)})
    migrate_database(app)
    env = {**os.environ, "CELERY_BROKER_URL": redis.url(), "JIXIAO_JOB_DIR": str(job_dir),
           "JIXIAO_EXPORT_PART_SIZE": str(args.part_size)}
    tag = int(time.time())
    counter = iter(range(1_000_000))
    try:
        with app.app_context():
            session = db.session
            if not session.scalar(select(func.count()).select_from(RuleSetVersion)):
                load_dir(session, APP_ROOT / "rules", user="bench", note="bench")
            # The export's cycle: the first stations holding --pdfs employees.
            chosen, people = [], 0
            for code, count in session.execute(select(Station.code, func.count(Employee.id))
                                               .join(Employee, Employee.station_id == Station.id)
                                               .group_by(Station.code).order_by(Station.code)).all():
                if people >= args.pdfs:
                    break
                chosen.append(code)
                people += count
            export_cycle = create_cycle(session, f"bench-pdfs-{tag}", START, END, chosen)
            compute_cycle(session, export_cycle)
            pdfs = session.scalar(select(func.count()).select_from(Appraisal).where(
                Appraisal.cycle_id == export_cycle.id, Appraisal.is_current.is_(True)))
            session.commit()

            def wait_done(job_id: int) -> Job:
                while True:
                    session.expire_all()
                    job = session.get(Job, job_id)
                    state = job.state
                    session.rollback()
                    if state in (JobState.DONE, JobState.FAILED):
                        if state == JobState.FAILED:
                            raise SystemExit(f"job {job_id} failed: {job.message_en}")
                        return job
                    time.sleep(0.02)

            def export() -> tuple[float, Path]:
                t0 = time.perf_counter()
                job = start_export(session, session.get(Cycle, export_cycle.id), _Caller(), "zh_CN")
                done = wait_done(job.id)
                seconds = time.perf_counter() - t0
                return seconds, storage.absolute(done.result_path)

            def new_cycle():
                return create_cycle(session, f"bench-compute-{tag}-{next(counter)}", START, END)

            def compute_direct() -> float:
                cycle = new_cycle()
                session.commit()
                t0 = time.perf_counter()
                compute_cycle(session, cycle)
                return time.perf_counter() - t0

            def compute_worker() -> float:
                cycle = new_cycle()
                session.commit()
                t0 = time.perf_counter()
                job = start_job(session, JobKind.COMPUTE, owner_id=None, subject_id=cycle.id,
                                params={"cycle_id": cycle.id, "rebind": False},
                                active_key=f"compute:{cycle.id}")
                wait_done(job.id)
                return time.perf_counter() - t0

            # The first worker runs throughout; the second is started and stopped in each round, so that
            # a round's one-worker and two-worker figures are measured close in time (a neighbour's load
            # on a shared machine skews their ratio less). Ratios are per round; the median is reported.
            first = [(worker(env, work / "worker-a.log"), work / "worker-a.log")]
            direct, queued, ones, twos, ratios = [], [], [], [], []
            try:
                wait_ready(first)
                _seconds, path = export()  # warm-up: fonts, stylesheets, the worker's first PDF
                with zipfile.ZipFile(path) as archive:
                    pages = sum(len(PdfReader(io.BytesIO(archive.read(name))).pages)
                                for name in archive.namelist())
                compute_direct()
                compute_worker()  # warm-ups
                for round_ in range(args.rounds):
                    direct.append(compute_direct())
                    queued.append(compute_worker())
                    ones.append(pages / export()[0])
                    log = work / f"worker-b{round_}.log"
                    second = [(worker(env, log), log)]
                    try:
                        wait_ready(second)
                        export()  # the second worker's warm-up
                        twos.append(pages / export()[0])
                    finally:
                        stop(second)
                    ratios.append(twos[-1] / ones[-1])
            finally:
                stop(first)
            employees = session.scalar(select(func.count()).select_from(Employee))
    finally:
        redis.stop()

    one, two = statistics.median(ones), statistics.median(twos)
    direct_s, worker_s = statistics.median(direct), statistics.median(queued)
    print(json.dumps({
        "pdfs": pdfs,
        "pages": pages,
        "one_worker_pages_per_s": round(one, 2),
        "two_workers_pages_per_s": round(two, 2),
        "ratio": round(statistics.median(ratios), 2),
        "queue_overhead": round(statistics.median(w / d for w, d in zip(queued, direct, strict=True)), 3),
        "compute_direct_s": round(direct_s, 2),
        "compute_worker_s": round(worker_s, 2),
        "compute_employees": employees,
        "part_size": args.part_size,
        "rounds": args.rounds,
        "cores": os.cpu_count(),
        "load_avg": round(os.getloadavg()[0], 2),
        "build_s": round(build_s, 1),
    }))


class _Caller:
    """The export's starter: nobody in particular (the bench)."""

    class actor:  # noqa: N801 - the shape of a caller's actor
        user_id = None


if __name__ == "__main__":
    main()
