"""A cycle's due dates over REST (GET/PUT /api/v1/deadline/<cycle_id>)."""

from __future__ import annotations

from flask_appbuilder.api import BaseApi

from .. import permissions as p


class DeadlineApi(BaseApi):
    resource_name = "deadline"
    class_permission_name = p.CYCLE
    method_permission_name: dict[str, str] = {}
    allow_browser_login = True
    openapi_spec_tag = "Deadline"
