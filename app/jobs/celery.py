"""The Celery application of one Flask application.

Every ``create_app`` builds its own (tests build many), never sets it as Celery's current app, and the
tasks reach the Flask app through ``self.app.flask_app``. Without a broker the Celery app never
connects anywhere: the table queue runs its tasks with ``task.apply()`` (app/jobs/embedded.py).
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask


class FlaskTask(Task):
    """A task that runs inside its Flask application's context (the database session, the config)."""

    def __call__(self, *args, **kwargs):
        with self.app.flask_app.app_context():
            return self.run(*args, **kwargs)


def make_celery(app: Flask) -> Celery:
    broker = app.config.get("CELERY_BROKER_URL")
    celery = Celery(app.import_name, set_as_current=False, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker or "memory://",
        # For `celery inspect` and monitors only: tasks store no results.
        result_backend=app.config.get("CELERY_RESULT_BACKEND") or (
            broker if broker and broker.startswith(("redis://", "rediss://")) else None),
        # The job row is the result store; a message is acknowledged after its task ran, so a killed
        # worker's message is delivered again (the job's claim makes that harmless).
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        task_default_queue=app.config["JIXIAO_JOB_QUEUE"],
        broker_transport_options={"visibility_timeout": app.config["JIXIAO_JOB_VISIBILITY_TIMEOUT"]},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        enable_utc=True,
    )
    celery.flask_app = app
    return celery
