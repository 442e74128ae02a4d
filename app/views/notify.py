"""The notification list (/notifications/) and each person's notification settings."""

from __future__ import annotations

from flask_appbuilder import BaseView

from .. import permissions as p


class NotificationView(BaseView):
    route_base = "/notifications"
    class_permission_name = p.NOTIFICATION
    method_permission_name: dict[str, str] = {}
    # True once the screen is ready for the menu (app/views/__init__.py adds its entries then).
    show_in_menu = False
