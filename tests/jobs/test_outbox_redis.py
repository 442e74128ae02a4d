"""A transition's mail through a real Redis and a real Celery worker process: the request only writes the
outbox row and wakes the sender after its commit; the worker sends the mail to a real SMTP server, once,
however often the sender is woken again."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.jobs import dispatch
from app.jobs.outbox import SEND_TASK
from app.models import Cycle, Outbox, OutboxState
from tests.channels.conftest import SmtpServer, free_port
from tests.factories import ApiClient, appraisal_ids, jwt_token, make_app
from tests.jobs.test_run_py import wait_for
from tests.jobs.test_runner import start_worker, stop_worker

BASE_URL = "https://jixiao.example.com"
SUP2 = "sup2@demo.jixiao.local"


def submit(api, pk):
    answer = api.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "submit"})
    assert answer.status_code == 200, answer.json


def delivered(smtp) -> list[str]:
    return sorted(address for recipients in smtp.recipients for address in recipients)


def outbox_rows(app, **where) -> list[tuple[str, str, int]]:
    with app.app_context():
        rows = db.session.execute(select(Outbox.recipient, Outbox.state, Outbox.attempts)
                                  .filter_by(**where).order_by(Outbox.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_a_transitions_mail_is_delivered_by_a_celery_worker_once(database_url, redis_url, tmp_path):
    smtp = SmtpServer(free_port()).start()
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "JIXIAO_BASE_URL": BASE_URL}
    app = make_app(database_url, CELERY_BROKER_URL=redis_url, JIXIAO_JOB_DIR=str(tmp_path / "jobs"), **mail)
    log = tmp_path / "worker.log"
    worker = None
    try:
        with app.app_context():
            demo = db.session.scalar(select(Cycle.id).order_by(Cycle.id))
            ids = appraisal_ids(demo)
            db.session.remove()
            worker = start_worker(app, database_url, log, CELERY_BROKER_URL=redis_url,
                                  **{key: str(value) for key, value in mail.items()})
        wait_for(lambda: " ready." in log.read_text() or worker.poll() is not None, 60, "worker ready")
        assert worker.poll() is None, log.read_text()
        client = app.test_client()
        hr = ApiClient(client, jwt_token(client, "hr"))

        submit(hr, ids["EMP9"])  # a draft of sup2's report: sup2's turn now
        wait_for(lambda: SUP2 in delivered(smtp), 60, f"the mail\n{log.read_text()}")
        # The SMTP server has the message a moment before the worker commits the row as sent.
        wait_for(lambda: outbox_rows(app, recipient=SUP2, state=OutboxState.SENDING) == [], 60,
                 "the row sent")
        assert outbox_rows(app, recipient=SUP2) == [(SUP2, OutboxState.SENT, 1)], log.read_text()
        (message,) = [m for m in smtp.messages if m["To"] == SUP2]
        assert BASE_URL in message.get_body(("plain",)).get_content()

        # Woken twice more, then a second transition: the worker takes its messages in order, so once the
        # second mail is there the extra wake-ups have run, and they sent nothing again.
        with app.app_context():
            dispatch.send(SEND_TASK)
            dispatch.send(SEND_TASK)
        submit(hr, ids["EMP10"])
        wait_for(lambda: delivered(smtp).count(SUP2) == 2, 60, f"the second mail\n{log.read_text()}")
        assert len(delivered(smtp)) == len(set(delivered(smtp))) + 1  # sup2 twice, anybody else once
        message_ids = [m["Message-ID"] for m in smtp.messages]
        assert len(message_ids) == len(set(message_ids))
        wait_for(lambda: outbox_rows(app, state=OutboxState.SENDING) == [], 60, "every row sent")
        rows = outbox_rows(app)
        assert rows and {state for _, state, _ in rows} == {OutboxState.SENT}
        assert {attempts for _, _, attempts in rows} == {1}
    finally:
        if worker is not None:
            stop_worker(worker, log)
        smtp.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
