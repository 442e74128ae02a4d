"""Notifications: the in-app rows (one per recipient), each user's preferences, the outbox of mails and
robot messages (the truth about what is to be sent, drained by the job layer), and the group robots.

Times are UTC (``DateTime(timezone=True)``), shown in ``JIXIAO_TIMEZONE``. A notification keeps the
parameters of its text, not the text: it is rendered in the reader's language when read or sent.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Notification(Model):
    """One in-app notification for one user; ``key`` is the event's, so an event notifies a user once."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        Index("ix_notification_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    link: Mapped[str | None] = mapped_column(String(255), nullable=True)  # a path: /appraisal/show/12
    # Plain numbers, no foreign keys: jobs are cleaned up, appraisals get new versions.
    appraisal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cycle_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def __repr__(self) -> str:
        return f"notification {self.id} ({self.kind} for {self.user_id})"


class NotificationPreference(Model):
    """A user's choices; no row means the defaults (mails on, no digest, the configured language)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    digest: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)  # None: BABEL_DEFAULT_LOCALE
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class OutboxState:
    PENDING = "pending"
    HELD = "held"            # waits for the user's daily digest
    SENDING = "sending"      # claimed by a sender
    SENT = "sent"
    FAILED = "failed"        # gave up after JIXIAO_OUTBOX_MAX_ATTEMPTS
    DIGESTED = "digested"    # went out inside a digest


class Outbox(Model):
    """One message to send (a mail or a robot post). A request only inserts rows; the job layer sends
    them, claiming each by a conditional UPDATE, and ``idempotency_key`` keeps one message one row."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # email / dingtalk / wecom / feishu
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)  # an address, or robot:<id>
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("robot_webhook.id", ondelete="CASCADE"),
                                                   nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                         default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def __repr__(self) -> str:
        return f"outbox {self.id} ({self.channel} {self.state})"


class RobotWebhook(Model):
    """A group robot (DingTalk, WeCom, Feishu) of one station or of the whole network. Its URL and
    secret are stored encrypted (``app/notify/crypto.py``)."""

    __tablename__ = "robot_webhook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"),
                                                   nullable=True)  # None: the whole network
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # dingtalk / wecom / feishu
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    url_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    def __repr__(self) -> str:
        return f"{self.name} ({self.kind})"
