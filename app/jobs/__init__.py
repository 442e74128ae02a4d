"""Background jobs: long work (computes, PDF exports, large imports, periodic cleanup, due-date reminders)
and the sending of notifications (the outbox of mails and robot messages) off the web workers.

The job row is the truth, messages only wake workers up (``runtime``: claim, fence, heartbeat). With
``CELERY_BROKER_URL`` the messages go through Celery (Redis) to ``flask --app run worker`` processes;
without it through a table of the database (``embedded``), run by worker processes or by a thread of the
serving process. The same tasks, claims and reaper serve both.

This room may import models, extensions, services, importing, pdf, notify, locales and web labels;
nothing below it (services, importing, pdf, notify, engine, workflow, rules) imports it.
"""

from __future__ import annotations

import threading

from flask import Flask

from ..models import Job, JobKind, JobState
from . import (
    cleanup,  # noqa: F401 - registers its task
    compute,  # noqa: F401 - registers its task
    deadlines,  # noqa: F401 - registers its task
    export,  # noqa: F401 - registers its tasks
    imports,  # noqa: F401 - registers its task
    outbox,  # noqa: F401 - registers its task
)
from .celery import make_celery
from .cli import worker_command
from .dispatch import send, send_group, send_job
from .embedded import ThreadRunner
from .queries import job_dict, latest_job, visible_jobs
from .start import JobRunning, start_job

__all__ = ["Job", "JobKind", "JobRunning", "JobState", "Jobs", "init_app", "job_dict", "latest_job", "send",
           "send_group", "send_job", "start_job", "visible_jobs"]


class Jobs:
    """The job layer of one Flask app (``app.extensions["jixiao_jobs"]``): its Celery app and, without a
    broker, its runner thread."""

    def __init__(self, app: Flask, celery) -> None:
        self.app, self.celery = app, celery
        self.wakeup = threading.Event()  # a message was queued: a waiting runner looks now
        self.busy = threading.Event()  # this process's runner is inside a task
        self.runner: ThreadRunner | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """A message was queued in the table: the serving process's runner thread (started now, when
        ``JIXIAO_JOB_RUNNER`` is ``thread``) takes it."""
        config = self.app.config
        if config.get("JIXIAO_JOB_RUNNER") == "thread" and not config.get("CELERY_BROKER_URL"):
            with self._lock:
                if self.runner is None:
                    self.runner = ThreadRunner(self.app).start()
        self.wakeup.set()

    def stop(self, timeout: float = 30) -> bool:
        """Stop the runner thread after its current task; False when it is still busy after ``timeout``."""
        with self._lock:
            runner, self.runner = self.runner, None
        return runner.stop(timeout) if runner is not None else True


def init_app(app: Flask) -> None:
    app.extensions["jixiao_jobs"] = Jobs(app, make_celery(app))
    app.cli.add_command(worker_command)
