"""Substitutes (/substitutes/): who stands in for me, and for whom I stand in; HR sees them all."""

from __future__ import annotations

from flask_appbuilder import BaseView

from .. import permissions as p


class SubstituteView(BaseView):
    route_base = "/substitutes"
    class_permission_name = p.DELEGATION
    method_permission_name: dict[str, str] = {}
    # True once the screen is ready for the menu (app/views/__init__.py adds its entries then).
    show_in_menu = False
