"""The sender: the outbox rows that are due, claimed, sent and settled, each exactly once.

The outbox row is the truth, as the job row is (app/jobs/runtime.py). A request only inserts rows; the
job layer's ``jixiao.send_outbox`` calls :func:`send_due`, which any number of workers may run at once:

1. select up to :data:`BATCH` due rows: ``pending`` whose ``next_attempt_at`` has come, or ``sending``
   whose claim is older than the lease (its sender vanished);
2. claim each with a conditional UPDATE in its own transaction (the loser of a race claims nothing);
3. send, then settle on the claim (``WHERE claim = :token``): ``sent``; or, on failure, ``pending`` again
   after ``RETRY * 2**(attempts-1)`` seconds (at most an hour, no jitter: tests move the clock exactly),
   ``failed`` with ``last_error`` once ``JIXIAO_OUTBOX_MAX_ATTEMPTS`` is reached or when retrying cannot
   help (a robot whose secret this ``SECRET_KEY`` cannot read). HR retries failed rows by hand.

Mail rows due together for one address go out as one mail (a submit of 500 appraisals is one mail per
supervisor), rendered in the recipient's language at send time. The last window of at-least-once — a
worker dying after SMTP ``DATA`` and before its settling UPDATE — is closed on the receiving side by a
Message-ID derived from the rows' keys (app/notify/email.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..locales import default_locale
from ..models import Notification, NotificationPreference, Outbox, OutboxState, RobotWebhook
from . import email, messages, robots
from .crypto import SecretUnreadable, unseal

log = logging.getLogger(__name__)
OUTBOX = Outbox.__table__
WEBHOOK = RobotWebhook.__table__
BATCH = 100
MAX_BACKOFF = dt.timedelta(hours=1)


@dataclass
class Failure:
    """Why a send failed; ``final``: retrying cannot help."""

    error: str
    final: bool = False


def due(at: dt.datetime):
    """Rows to send at ``at``: pending and due, or claimed by a sender longer ago than the lease."""
    lease = dt.timedelta(seconds=float(current_app.config["JIXIAO_OUTBOX_LEASE_SECONDS"]))
    return (((OUTBOX.c.state == OutboxState.PENDING) & (OUTBOX.c.next_attempt_at <= at))
            | ((OUTBOX.c.state == OutboxState.SENDING) & (OUTBOX.c.claimed_at < at - lease)))


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed try: RETRY, 2 RETRY, 4 RETRY … at most an hour."""
    retry = float(current_app.config["JIXIAO_OUTBOX_RETRY_SECONDS"])
    return min(dt.timedelta(seconds=retry * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def send_due(at: dt.datetime) -> dict[str, int]:
    """Send what is due at ``at``; how many rows were sent, put back for a retry, and failed."""
    ids = db.session.scalars(select(OUTBOX.c.id).where(due(at))
                             .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(BATCH)).all()
    db.session.rollback()
    token = uuid.uuid4().hex
    mine = [row_id for row_id in ids if _claim(row_id, token, at)]
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not mine:
        return counts
    rows = db.session.execute(select(OUTBOX).where(OUTBOX.c.id.in_(mine), OUTBOX.c.claim == token)
                              .order_by(OUTBOX.c.id)).all()
    db.session.rollback()
    mails: dict[tuple, list] = defaultdict(list)
    for row in rows:
        if row.channel == "email":
            mails[(row.user_id, row.recipient.lower())].append(row)
        else:
            try:
                failure = _send_robot(row, at)
            except Exception as exc:  # noqa: BLE001 - a bug must not leave the row claimed for ever
                log.exception("outbox %s: the robot message could not be built", row.id)
                failure = Failure(_unexpected(exc))
            _settle(token, at, [row], failure, counts)
    if mails:
        _send_mails(token, at, mails, counts)
    return counts


def _claim(row_id: int, token: str, at: dt.datetime) -> bool:
    with db.engine.begin() as conn:
        return conn.execute(update(OUTBOX).where(OUTBOX.c.id == row_id, due(at)).values(
            state=OutboxState.SENDING, claim=token, claimed_at=at, attempts=OUTBOX.c.attempts + 1,
        )).rowcount == 1


def _settle(token: str, at: dt.datetime, rows: list, failure: Failure | None, counts: dict) -> None:
    """Write each row's outcome, fenced on this sender's claim (a row reclaimed meanwhile is left alone)."""
    most = int(current_app.config["JIXIAO_OUTBOX_MAX_ATTEMPTS"])
    with db.engine.begin() as conn:
        for row in rows:
            if failure is None:
                values, outcome = {"state": OutboxState.SENT, "sent_at": at, "last_error": None}, "sent"
            elif failure.final or row.attempts >= most:
                values, outcome = {"state": OutboxState.FAILED, "last_error": failure.error}, "failed"
            else:
                values = {"state": OutboxState.PENDING, "last_error": failure.error,
                          "next_attempt_at": at + backoff(row.attempts)}
                outcome = "retry"
            settled = conn.execute(update(OUTBOX).where(
                OUTBOX.c.id == row.id, OUTBOX.c.claim == token, OUTBOX.c.state == OutboxState.SENDING,
            ).values(claim=None, **values)).rowcount
            if settled:
                counts[outcome] += 1
            else:
                log.warning("outbox %s was reclaimed while it was being sent", row.id)
        webhooks = {row.webhook_id for row in rows if row.webhook_id is not None}
        if webhooks:
            conn.execute(update(WEBHOOK).where(WEBHOOK.c.id.in_(webhooks)).values(
                {"last_sent_at": at, "last_error": None} if failure is None else
                {"last_error": failure.error}))
    if failure is not None:
        log.warning("outbox %s: %s", [row.id for row in rows], failure.error)


def _unexpected(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


# --- mail -------------------------------------------------------------------------------------------


def _send_mails(token: str, at: dt.datetime, groups: dict[tuple, list], counts: dict) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        for rows in groups.values():
            _settle(token, at, rows, Failure("MAIL_SERVER is not set"), counts)
        return
    try:
        with email.connection(config) as smtp:
            for rows in groups.values():
                try:
                    message = _compose(rows, at)
                    if message is not None:
                        email.send(smtp, message)
                except email.MailError as exc:
                    _settle(token, at, rows, Failure(str(exc)), counts)
                except Exception as exc:  # noqa: BLE001 - a bug must not leave the rows claimed for ever
                    log.exception("outbox %s: the mail could not be built", [row.id for row in rows])
                    _settle(token, at, rows, Failure(_unexpected(exc)), counts)
                else:
                    _settle(token, at, rows, None, counts)
    except email.MailError as exc:  # no connection: every group not settled yet waits for the retry
        for rows in groups.values():
            _settle(token, at, rows, Failure(str(exc)), counts)


def _compose(rows: list, at: dt.datetime):
    """One mail for one address's rows; None when none of their notifications exists any more."""
    config = current_app.config
    user_id = rows[0].user_id
    keys = [key for row in rows for key in (row.payload or {}).get("notification_keys", [])]
    notifications = db.session.scalars(select(Notification).where(
        Notification.user_id == user_id, Notification.key.in_(keys)).order_by(Notification.created_at,
                                                                             Notification.id)).all()
    preference = db.session.get(NotificationPreference, user_id) if user_id is not None else None
    locale = (preference.locale if preference is not None else None) or default_locale()
    items = []
    for note in notifications:
        rendered = messages.render(note.kind, note.params or {}, locale)
        items.append(email.Item(rendered.title, rendered.text, rendered.html_fragment,
                                email.absolute(config["JIXIAO_BASE_URL"], note.link)))
    db.session.rollback()
    if not items:
        return None
    return email.compose(sender=config["MAIL_DEFAULT_SENDER"], to=rows[0].recipient, items=items,
                         locale=locale, keys=[row.idempotency_key for row in rows],
                         base_url=config["JIXIAO_BASE_URL"], at=at)


# --- robots -----------------------------------------------------------------------------------------


def _send_robot(row, at: dt.datetime) -> Failure | None:
    config = current_app.config
    hook = db.session.get(RobotWebhook, row.webhook_id) if row.webhook_id is not None else None
    try:
        if hook is None or not hook.enabled:
            return Failure("The robot is disabled.", final=True)
        kind = hook.kind
        try:
            url = unseal(hook.url_encrypted)
            secret = unseal(hook.secret_encrypted) if hook.secret_encrypted else None
        except SecretUnreadable:
            return Failure("SECRET_KEY changed: re-enter the robot's address and secret.", final=True)
        if robots.url_problem(url, allow_http=bool(config["JIXIAO_ROBOT_ALLOW_HTTP"])):
            return Failure("The robot's address is not https.", final=True)
        title, text = robots.message_text(db.session, kind, row.payload or {})
    finally:
        db.session.rollback()
    target, body = robots.build(kind, url, secret, text, title, at)
    try:
        robots.post(kind, target, body, timeout=float(config["JIXIAO_ROBOT_TIMEOUT"]))
    except robots.RobotError as exc:
        return Failure(str(exc))
    return None
