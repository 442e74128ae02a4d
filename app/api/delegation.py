"""Substitutes and reassigned reviewers over REST (/api/v1/delegation/)."""

from __future__ import annotations

from flask_appbuilder.api import BaseApi

from .. import permissions as p


class DelegationApi(BaseApi):
    resource_name = "delegation"
    class_permission_name = p.DELEGATION
    method_permission_name: dict[str, str] = {}
    allow_browser_login = True
    openapi_spec_tag = "Delegation"
