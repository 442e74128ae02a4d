"""The daily digest: one mail a day instead of single mails, for the users who chose it.

``record.notify_users`` keeps a digest user's mail rows ``held``. Once a local day, at or after
``JIXIAO_DIGEST_HOUR`` (``JIXIAO_TIMEZONE``), :func:`run` gives each user with held rows one outbox row, key
``digest:<user>:<local date>``, listing the notifications of those rows; the held rows become ``digested``
in the same transaction. The key makes the digest once a day, whoever runs it and however often: rows held
after it wait for the next day's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask import current_app
from sqlalchemy import select, update

from .. import clock
from ..models import Outbox, OutboxState
from .record import EMAIL, WAKE, insert_for

OUTBOX = Outbox.__table__


def digest_due(at: dt.datetime) -> dt.date | None:
    """The local day whose digest may go out at ``at`` (None before ``JIXIAO_DIGEST_HOUR``)."""
    local = clock.to_local(at)
    return local.date() if local.hour >= int(current_app.config.get("JIXIAO_DIGEST_HOUR", 8)) else None


def run(session, at: dt.datetime) -> int:
    """Queue today's digest of every user with held mail rows; in the caller's transaction (the caller
    commits). How many digests were queued."""
    day = digest_due(at)
    if day is None:
        return 0
    held = session.execute(
        select(OUTBOX.c.id, OUTBOX.c.user_id, OUTBOX.c.recipient, OUTBOX.c.payload)
        .where(OUTBOX.c.state == OutboxState.HELD, OUTBOX.c.channel == EMAIL, OUTBOX.c.user_id.is_not(None))
        .order_by(OUTBOX.c.user_id, OUTBOX.c.id)).all()
    per_user: dict[int, list] = defaultdict(list)
    for row in held:
        per_user[row.user_id].append(row)
    queued = 0
    insert = insert_for(session)
    for user_id, rows in sorted(per_user.items()):
        keys = list(dict.fromkeys(key for row in rows
                                  for key in (row.payload or {}).get("notification_keys", [])))
        added = session.execute(insert(OUTBOX).values(
            channel=EMAIL, recipient=rows[-1].recipient, user_id=user_id,
            idempotency_key=f"digest:{user_id}:{day.isoformat()}",
            payload={"notification_keys": keys, "user_id": user_id, "digest": day.isoformat()},
            state=OutboxState.PENDING, attempts=0, next_attempt_at=at, created_at=at,
        ).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OUTBOX.c.id)).all()
        if not added:  # today's digest went out already: these wait for tomorrow's
            continue
        session.execute(update(OUTBOX).where(OUTBOX.c.id.in_([row.id for row in rows]),
                                             OUTBOX.c.state == OutboxState.HELD)
                        .values(state=OutboxState.DIGESTED))
        queued += 1
    if queued:
        session.info[WAKE] = True
    return queued
