"""Notifications: who is told what when an appraisal moves, a cycle is published or a job ends; in the
application (the bell and /notifications/), by mail and through group robots (the outbox).

This room may import models, extensions, services, workflow, locales and clock; never views, api, web or
jobs. The services never import it: they emit events (``app/services/events.py``) and ``init_app``
registers the listener.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:  # noqa: ARG001 - nothing to register yet
    """Register the event listener and the unread count of the navigation bar."""
