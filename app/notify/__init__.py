"""Notifications: who is told what when an appraisal moves, a cycle is published or a job ends; in the
application (the bell and /notifications/), by mail and through group robots (the outbox).

This room may import models, extensions, services, workflow, locales and clock; never views, api, web or
jobs. The services never import it: they emit events (``app/services/events.py``) and ``init_app``
registers the listener.
"""

from __future__ import annotations

from flask import Flask, g
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import Notification
from ..services.events import register_listener
from .events_listener import on_event


def unread_count(session, user_id: int) -> int:
    """One indexed COUNT: the user's unread notifications (ix_notification_user_unread)."""
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def jx_unread() -> int | None:
    """The signed-in user's unread count, counted once per request (None when nobody is signed in).
    A callable in the templates, so a page that shows no navigation bar runs no query."""
    if "jx_unread" not in g:
        user = current_user
        g.jx_unread = unread_count(db.session, user.id) if user and user.is_authenticated else None
    return g.jx_unread


def init_app(app: Flask) -> None:
    """Register the event listener and the unread count of the navigation bar."""
    register_listener(on_event)
    app.context_processor(lambda: {"jx_unread": jx_unread})
