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
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import clock
from ..models import Notification, NotificationPreference, Outbox, OutboxState
from . import messages
from . import robots as robot_summaries

EMAIL = "email"
WAKE = "jixiao_outbox"  # session.info flag: the sender should run after this commit


def insert_for(session):
    """The dialect's INSERT (PostgreSQL or SQLite), which knows ON CONFLICT."""
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
        statement = (insert_for(session)(Notification.__table__)
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
    statement = (insert_for(session)(Outbox.__table__)
                 .on_conflict_do_nothing(index_elements=["idempotency_key"])
                 .returning(Outbox.__table__.c.id))
    return len(session.execute(statement, rows).all())


# --- reading, marking read, preferences (the list screen and the API) ------------------------------------

LOCALES = ("zh_CN", "en")
PAGE_SIZE = 50


def page_of(session, user_id: int, *, unread: bool = False, page: int = 0,
            size: int = PAGE_SIZE) -> tuple[list[Notification], int]:
    """One page of the user's notifications, newest first, and how many there are in all."""
    where = [Notification.user_id == user_id]
    if unread:
        where.append(Notification.read_at.is_(None))
    count = session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    rows = session.scalars(select(Notification).where(*where)
                           .order_by(Notification.created_at.desc(), Notification.id.desc())
                           .offset(page * size).limit(size)).all()
    return list(rows), count


def shown(note: Notification, locale: str) -> dict:
    """A notification as a screen or the API shows it, in ``locale``."""
    text = messages.render(note.kind, note.params, locale)
    return {"id": note.id, "kind": note.kind, "title": text.title, "text": text.text, "link": note.link,
            "appraisal_id": note.appraisal_id, "cycle_id": note.cycle_id, "job_id": note.job_id,
            "created_at": _iso(note.created_at), "read_at": _iso(note.read_at),
            "unread": note.read_at is None}


def _iso(moment) -> str | None:
    return clock.local_iso(moment)  # the configured zone's offset, as every API answers a moment


def mark_read(session, user_id: int, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (``ids``; None: all of them) and commit; how many changed.
    Another user's ids change nothing."""
    where = [Notification.user_id == user_id, Notification.read_at.is_(None)]
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        where.append(Notification.id.in_(wanted))
    try:
        changed = session.execute(update(Notification).where(*where).values(read_at=clock.now())
                                  .execution_options(synchronize_session=False)).rowcount
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return changed


def open_one(session, user_id: int, note_id: int) -> str | None:
    """Mark one of the user's notifications read; its link (a path), or None when it is not theirs."""
    note = session.scalar(select(Notification).where(Notification.id == note_id,
                                                     Notification.user_id == user_id))
    if note is None:
        return None
    link = note.link if note.link and note.link.startswith("/") and not note.link.startswith("//") else None
    mark_read(session, user_id, [note_id])
    return link or "/notifications/"


def preferences(session, user_id: int) -> dict:
    """The user's choices (the defaults when they never chose)."""
    row = session.get(NotificationPreference, user_id)
    if row is None:
        return {"email": True, "digest": False, "locale": None}
    return {"email": row.email, "digest": row.digest, "locale": row.locale}


def set_preferences(session, user_id: int, *, email: bool, digest: bool, locale: str | None) -> dict:
    """Save the user's choices (one upsert, committed); ValueError for a language that is not offered."""
    if locale not in (None, "", *LOCALES):
        raise ValueError(locale)
    values = {"email": bool(email), "digest": bool(digest), "locale": locale or None,
              "updated_at": clock.now()}
    statement = insert_for(session)(NotificationPreference.__table__).values(user_id=user_id, **values)
    try:
        session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_=values))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return preferences(session, user_id)
