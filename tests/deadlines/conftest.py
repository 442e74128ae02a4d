"""Fixtures for due dates: the outbox app (no runner, no ticker: nothing is sent, the outbox rows stay to
be read) with a mail server named, in Shanghai time, and helpers to read who was told what."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import delete, select

from app.extensions import db
from app.models import Cycle, CycleDeadline, Notification, Outbox
from app.services import deadlines
from tests.factories import caller, csrf_token, demo_cycle

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def mail_app(outbox_app):
    """Mails are queued in the outbox (never sent: there is no runner); dates are Shanghai's; the demo
    cycle's own due dates are removed, so that each test sets the ones it reads."""
    outbox_app.config.update(MAIL_SERVER="127.0.0.1", JIXIAO_TIMEZONE="Asia/Shanghai")
    with outbox_app.app_context():
        db.session.execute(delete(CycleDeadline))
        db.session.commit()
        db.session.remove()
    return outbox_app


@pytest.fixture
def ctx(mail_app):
    with mail_app.app_context():
        yield mail_app
        db.session.remove()


def local(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def due_day(cycle: Cycle) -> dt.date:
    """A due date the service accepts for the demo cycle, after the demo's substitute has stopped standing
    in (two weeks from the day of seeding, within the month after the period): 45 days after its period."""
    return cycle.end + dt.timedelta(days=45)


def set_due(app, state: str, day: dt.date | None, cycle: Cycle | None = None) -> dt.datetime | None:
    """HR sets one due date of the demo cycle through the service; the moment it ends."""
    cycle = cycle or demo_cycle()
    due = deadlines.set_deadlines(db.session, cycle.id, caller(app, "hr"), {state: day})
    return due.get((cycle.id, state))


def told(kind: str | None = None, level: int | None = None) -> dict[str, Notification]:
    """username → their reminder or escalation of this kind (and level); one each, or the test fails.
    (The demo's own hand-offs have told people already: those are not looked at.)"""
    query = (select(User.username, Notification).join(User, User.id == Notification.user_id)
             .where(Notification.key.startswith("remind:")))
    if kind:
        query = query.where(Notification.kind == kind)
    out: dict[str, Notification] = {}
    for username, note in db.session.execute(query.order_by(Notification.id)):
        if level is not None and note.params.get("level") != level:
            continue
        assert username not in out, f"{username} told twice: {out[username].key}, {note.key}"
        out[username] = note
    return out


def counts(notes: dict[str, Notification]) -> dict[str, int]:
    return {username: note.params["count"] for username, note in notes.items()}


def outbox(prefix: str = "") -> dict[str, list[Outbox]]:
    """username → their mail rows whose key starts with ``prefix``."""
    out: dict[str, list[Outbox]] = {}
    rows = db.session.execute(select(User.username, Outbox).join(User, User.id == Outbox.user_id)
                              .where(Outbox.channel == "email", Outbox.idempotency_key.startswith(prefix))
                              .order_by(Outbox.id))
    for username, row in rows:
        out.setdefault(username, []).append(row)
    return out


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def signed_in(app, username: str):
    """A browser-like client of ``app`` signed in through the login form."""
    client = app.test_client()
    token = csrf_token(client)
    r = client.post("/login/", data={"username": username, "password": "demo123", "csrf_token": token})
    assert r.status_code == 302 and "/login" not in r.headers["Location"], f"login failed for {username}"
    return client
