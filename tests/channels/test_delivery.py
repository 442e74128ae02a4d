"""A hand-off's mail end to end: the request only queues it (and is not slowed by a mail server that is
down), the job layer sends it with backoff on the moved clock, and it arrives once when the server is
back; a resend after a lost settle carries the same Message-ID."""

from __future__ import annotations

import datetime as dt
import smtplib
import threading

from sqlalchemy import delete, select, update

from app.extensions import db
from app.jobs import ticker
from app.jobs.embedded import run_embedded
from app.models import JobMessage, Outbox, Substitute
from app.notify import outbox
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import FRESH, ApiClient, appraisal_ids, demo_period, jwt_token


def drain(app) -> None:
    run_embedded(app, threading.Event(), drain=True)


def tick_and_drain(app) -> None:
    with app.app_context():
        ticker.tick(app)
    drain(app)


def a_draft(app) -> int:
    """EMP1's appraisal in a new computed cycle (a draft; its supervisor is sup1, nobody stands in)."""
    with app.app_context():
        db.session.execute(delete(Substitute))
        start, end = demo_period()
        cycle = create_cycle(db.session, FRESH, start, end)
        compute_cycle(db.session, cycle)
        db.session.commit()
        return appraisal_ids(cycle.id)["EMP1"]


def mail_rows(app) -> list[Outbox]:
    with app.app_context():
        rows = db.session.scalars(select(Outbox).where(Outbox.channel == "email").order_by(Outbox.id)).all()
        db.session.expunge_all()
        return rows


def test_the_mail_server_down_slows_no_request_and_the_mail_arrives_once_when_it_is_back(
        outbox_app, clock, smtp_down, monkeypatch):
    outbox_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_down.port, MAIL_TIMEOUT=3)
    draft = a_draft(outbox_app)
    client = outbox_app.test_client()
    api = ApiClient(client, jwt_token(client, "hr"))
    # Not slowed: the request never tries the mail server (a connection attempt is what would wait).
    dialled = []
    with monkeypatch.context() as patch:
        for name in ("SMTP", "SMTP_SSL"):
            patch.setattr(smtplib, name, lambda *args, **kwargs: dialled.append(args))
        r = api.post(f"/api/v1/appraisal/{draft}/transition", json={"action": "submit"})
    assert r.status_code == 200 and dialled == []
    [queued] = mail_rows(outbox_app)
    assert (queued.state, queued.attempts) == ("pending", 0)  # queued, not sent, in the request
    with outbox_app.app_context():
        assert db.session.scalar(select(JobMessage.task)) == "jixiao.send_outbox"  # woken after the commit

    drain(outbox_app)
    [first] = mail_rows(outbox_app)
    assert (first.state, first.attempts) == ("pending", 1) and "Connection" in first.last_error
    clock.move(seconds=31)
    tick_and_drain(outbox_app)
    [second] = mail_rows(outbox_app)
    assert second.attempts == 2
    assert second.next_attempt_at.replace(tzinfo=dt.UTC) == clock.at + dt.timedelta(seconds=60)

    smtp_down.start()
    clock.move(seconds=30)
    tick_and_drain(outbox_app)
    assert smtp_down.messages == []  # the backoff holds even though the server is back
    clock.move(seconds=31)
    tick_and_drain(outbox_app)
    [sent] = mail_rows(outbox_app)
    assert sent.state == "sent" and smtp_down.recipients == [["sup1@demo.jixiao.local"]]
    clock.move(hours=1)
    tick_and_drain(outbox_app)
    assert len(smtp_down.messages) == 1


def test_a_resend_after_a_lost_settle_has_the_same_message_id(outbox_app, clock, smtp_server):
    outbox_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    draft = a_draft(outbox_app)
    client = outbox_app.test_client()
    ApiClient(client, jwt_token(client, "hr")).post(f"/api/v1/appraisal/{draft}/transition",
                                                    json={"action": "submit"})
    drain(outbox_app)
    with outbox_app.app_context():  # as if the worker died after DATA, before its settling UPDATE
        db.session.execute(update(Outbox).values(state="sending", claim="lost", claimed_at=clock.at))
        db.session.commit()
        clock.move(seconds=301)
        assert outbox.send_due(clock.at)["sent"] == 1
    first, again = smtp_server.messages
    assert first["Message-ID"] == again["Message-ID"]
