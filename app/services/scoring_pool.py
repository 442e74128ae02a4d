"""Scoring many appraisees, on several cores when there are many (no database here).

Forked workers inherit the scorer and the jobs through the module global ``_FORKED``: nothing is
pickled but index ranges, and only the scored snapshots come back (their text in UTF-8, as made: no text
encoded again for the pipe). ``_score_chunk`` reads that global, so both stay in this module.

The pool is a ``ProcessPoolExecutor``: a child that dies (killed, out of memory) breaks the pool with an
error instead of leaving the parent waiting for ever, as ``multiprocessing.Pool`` does when a child dies
holding its queue's lock. Children get the default signal handlers back: a job worker's own handlers
(Celery's warm shutdown, the table worker's "give the job back") belong to the parent only.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from flask import current_app, has_app_context

from .scoring import Appraisee, Scored, Scorer

# progress(stage, done, total); stages: "rules", "metrics", "appraise", "write".
Progress = Callable[[str, int, int], None]
Job = tuple[Appraisee, dict, float, str | None]  # appraisee, manual values, adjustment, its reason
_FORKED: tuple[Scorer, list[Job]] | None = None  # what forked workers read (inherited, never pickled)


def _score_chunk(bounds: tuple[int, int]) -> list[tuple[int, tuple]]:
    scorer, jobs = _FORKED
    return [(job[0].id, scorer.score_encoded(*job)) for job in jobs[bounds[0]:bounds[1]]]


def _child_started() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def workers_for(count: int) -> int:
    """Worker processes (and metric query threads) for ``count`` employees: JIXIAO_COMPUTE_WORKERS
    (default: the cores), and only from JIXIAO_COMPUTE_PARALLEL_MIN employees on (default 2,000;
    forking costs ~0.1 s)."""
    config = current_app.config if has_app_context() else {}
    wanted = int(config.get("JIXIAO_COMPUTE_WORKERS") or os.cpu_count() or 1)
    if count < int(config.get("JIXIAO_COMPUTE_PARALLEL_MIN", 2000)):
        return 1
    return max(1, min(wanted, count))


def score_all(scorer: Scorer, jobs: list[Job], report: Progress) -> dict[int, Scored]:
    """Every job scored: in this process, or in forked workers that inherit the rule set and the
    metrics (nothing is sent to them but index ranges; the snapshots come back)."""
    global _FORKED
    total, out = len(jobs), {}
    workers = workers_for(total)
    if workers <= 1:
        step = max(1, total // 100)
        for i, job in enumerate(jobs):
            out[job[0].id] = scorer.score(*job)
            if i % step == 0:
                report("appraise", i, total)
        report("appraise", total, total)
        return out
    # chunks small enough that the workers end close together (one idles at most a chunk's time)
    chunk = max(1, min(200, -(-total // (workers * 8))))
    _FORKED = (scorer, jobs)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_child_started) as pool:
            done = 0
            # no list of the futures kept here: each holds its chunk's snapshots until it is dropped, and
            # as_completed lets go of each one it has given
            try:
                for future in as_completed([pool.submit(_score_chunk, (i, min(i + chunk, total)))
                                            for i in range(0, total, chunk)]):
                    rows = future.result()  # BrokenProcessPool when a child died: the compute fails whole
                    out.update((ident, Scored.of(encoded)) for ident, encoded in rows)
                    done += len(rows)
                    report("appraise", done, total)
                # every snapshot is here: the workers end (a few tens of milliseconds each, giving back
                # their memory) while the compute goes on to write
                pool.shutdown(wait=False)
            except BaseException:  # a lost claim, a stop: the chunks not started are not started
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        _FORKED = None
    return out
