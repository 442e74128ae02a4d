"""A cycle's due dates, set by HR on the cycle page (POST /cycles/<id>/deadlines)."""

from __future__ import annotations

from flask_appbuilder import BaseView

from .. import permissions as p


class DeadlineView(BaseView):
    route_base = "/cycles"
    class_permission_name = p.CYCLE
    method_permission_name: dict[str, str] = {}
    # True once the screen is ready for the menu (app/views/__init__.py adds its entries then).
    show_in_menu = False
