"""Writing notifications, in the caller's session and transaction (never a commit, never a send).

``notify_users`` inserts one in-app row per user (``INSERT … ON CONFLICT DO NOTHING`` on
``(user_id, key)``: an event, or a rerun of a periodic job, tells a user once), then the mail rows of
the outbox for the users who take mail, and the group robots' summaries when asked. Nothing is sent here:
the job layer drains the outbox after the commit (``session.info["jixiao_outbox"]`` wakes it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .. import clock
from ..models import Notification, NotificationPreference, Outbox, OutboxState
from . import robots as robot_summaries

EMAIL = "email"
WAKE = "jixiao_outbox"  # session.info flag: the sender should run after this commit


def _insert(session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def notify_users(session, *, key: str, kind: str, users: Mapping[int, dict], params: Mapping,
                 link: str | None, appraisal_id: int | None = None, cycle_id: int | None = None,
                 job_id: int | None = None, station_ids: Iterable[int] = (), robots: bool = False) -> int:
    """Tell ``users`` (user id → their own extra parameters, merged over ``params``) about ``key``.

    Returns how many in-app rows are new (a user told of this key before is left alone, and gets no
    second mail). ``link`` is a path inside the application (``/appraisal/show/12``)."""
    at = clock.now()
    if link is not None and (not link.startswith("/") or link.startswith("//")):
        raise ValueError(f"a notification links to a path, not {link!r}")
    rows = [{"user_id": int(user_id), "key": key, "kind": kind, "params": {**params, **(extra or {})},
             "link": link, "appraisal_id": appraisal_id, "cycle_id": cycle_id, "job_id": job_id,
             "created_at": at, "read_at": None}
            for user_id, extra in sorted(users.items())]
    added: list[int] = []
    if rows:
        statement = (_insert(session)(Notification.__table__)
                     .on_conflict_do_nothing(index_elements=["user_id", "key"])
                     .returning(Notification.__table__.c.user_id))
        added = [user_id for (user_id,) in session.execute(statement, rows)]
    woken = _queue_mail(session, key, added, at) if added else 0
    if robots:
        woken += robot_summaries.queue_summaries(session, station_ids, at)
    if woken:
        session.info[WAKE] = True
    return len(added)


def _queue_mail(session, key: str, user_ids: list[int], at) -> int:
    """The outbox mail rows of the new notifications (only when a mail server is configured): one per
    user with an address whose preference takes mail; held for the digest users. How many were new."""
    if not current_app.config.get("MAIL_SERVER"):
        return 0
    found = session.execute(
        select(User.id, User.email, NotificationPreference.email, NotificationPreference.digest)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(User.id.in_(user_ids), User.active.is_(True))
    ).all()
    rows = [{"channel": EMAIL, "recipient": address, "user_id": user_id,
             "idempotency_key": f"mail:{key}:{user_id}",
             "payload": {"notification_keys": [key], "user_id": user_id},
             "state": OutboxState.HELD if digest else OutboxState.PENDING,
             "attempts": 0, "next_attempt_at": at, "created_at": at}
            for user_id, address, wants, digest in found
            if address and (wants is None or wants)]
    if not rows:
        return 0
    statement = (_insert(session)(Outbox.__table__)
                 .on_conflict_do_nothing(index_elements=["idempotency_key"])
                 .returning(Outbox.__table__.c.id))
    return len(session.execute(statement, rows).all())
