"""HR's group robots (/robots/: DingTalk, WeCom, Feishu) and the deliveries of mails and robot messages
(/robots/deliveries: pending and failed ones, with a retry)."""

from __future__ import annotations

from flask_appbuilder import BaseView

from .. import permissions as p


class RobotView(BaseView):
    route_base = "/robots"
    class_permission_name = p.ROBOT
    method_permission_name: dict[str, str] = {}
    # True once the screen is ready for the menu (app/views/__init__.py adds its entries then).
    show_in_menu = False
