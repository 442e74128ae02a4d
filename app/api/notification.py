"""Notifications over REST: the caller's list and unread count, marking read, and the preferences
(/api/v1/notification/)."""

from __future__ import annotations

from flask_appbuilder.api import BaseApi

from .. import permissions as p


class NotificationApi(BaseApi):
    resource_name = "notification"
    class_permission_name = p.NOTIFICATION
    method_permission_name: dict[str, str] = {}
    allow_browser_login = True
    openapi_spec_tag = "Notification"
