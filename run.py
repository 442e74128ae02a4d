"""Entry point. ``flask --app run …`` runs the commands; ``python run.py`` serves the app.

On an empty database ``python run.py`` migrates, loads rules/, seeds the demo and computes the
demo cycle, then serves with gunicorn (``WEB_CONCURRENCY`` workers) on ``HOST``:``PORT``.

Background jobs: without ``CELERY_BROKER_URL`` it also starts ``JIXIAO_JOB_RUNNERS`` job workers
(``flask --app run worker`` on the database's job queue, default min(2, cores)) and keeps them running
while gunicorn runs (app/jobs/supervisor.py); the web workers then only queue jobs. With a broker the
workers are services of their own and it starts none, unless ``JIXIAO_JOB_RUNNERS`` is set.
"""

from __future__ import annotations

import gc
import os

from app import create_app  # noqa: F401 - `flask --app run` finds this factory


def main() -> None:
    from gunicorn.app.base import BaseApplication

    from app.extensions import db
    from app.jobs.supervisor import fork_supervisor, stop_supervisor, worker_processes
    from app.setup import prepare

    application = create_app()
    workers = worker_processes(application.config, os.environ)
    if workers and not application.config.get("CELERY_BROKER_URL"):
        # The web workers queue jobs and never run one: the job workers below do.
        application.config["JIXIAO_JOB_RUNNER"] = "process"
    prepare(application)
    with application.app_context():
        db.engine.dispose()  # no connection of this process is shared with the processes forked from it
    # What the server built so far lives as long as the workers forked from it: the collector of each
    # worker need not walk it again (and the pages holding it stay shared between the workers).
    gc.collect()
    gc.freeze()
    supervisor: dict[str, int] = {}

    def on_starting(_arbiter) -> None:
        if workers:
            supervisor.update(master=os.getpid(), pid=fork_supervisor(workers))

    def on_exit(_arbiter) -> None:
        # Only gunicorn's master: its web workers leave through this very stack too (forked inside run()).
        if "pid" in supervisor and supervisor["master"] == os.getpid():
            stop_supervisor(supervisor.pop("pid"))

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
            self.cfg.set("workers", int(os.environ.get("WEB_CONCURRENCY", "2")))
            self.cfg.set("timeout", 300)
            self.cfg.set("accesslog", "-")
            self.cfg.set("on_starting", on_starting)
            self.cfg.set("on_exit", on_exit)

        def load(self):
            return application

    try:
        Server().run()
    finally:  # gunicorn failed to start (its port is taken …): no on_exit
        on_exit(None)


if __name__ == "__main__":
    main()
