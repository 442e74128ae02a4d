"""Substitutes (代理) and reassigned reviewers (转交) over REST (/api/v1/delegation/). Each endpoint parses,
calls its service and maps errors by their kind (``app.api.base.service_error``)."""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _

from .. import permissions as p
from ..extensions import db
from ..services import reassign, substitutes
from ..services.errors import ServiceError
from ..web.context import MAX_COMMENT, current_caller
from ..workflow import Refusal
from .base import service_error


class DelegationApi(BaseApi):
    resource_name = "delegation"
    class_permission_name = p.DELEGATION
    method_permission_name = {"substitutes": p.READ, "add_substitute": p.WRITE, "revoke_substitute": p.WRITE,
                              "reassign": p.WRITE}
    allow_browser_login = True
    openapi_spec_tag = "Delegation"

    def response_404(self):
        return self.response(404, message=_("Not found."))

    def _find_user(self, data: dict, key: str):
        if data.get(f"{key}_user_id") is not None:
            return data[f"{key}_user_id"]
        name = data.get(f"{key}_username")
        if not isinstance(name, str) or not name.strip():
            return None
        user = self.appbuilder.sm.find_user(username=name.strip()[:200])
        return user.id if user is not None else 0

    @expose("/substitutes", methods=["GET"])
    @protect()
    @safe
    @permission_name("substitutes")
    def substitutes(self):
        """The substitutes the caller names and the ones they stand in for (HR: everybody's).
        ---
        get:
          responses:
            200:
              description: '{"result": [{id, principal, substitute, starts_on, ends_on, active, ...}]}'
            401:
              $ref: '#/components/responses/401'
        """
        items = substitutes.list_for(db.session, current_caller())
        return self.response(200, result=[i.to_dict() for i in items])

    @expose("/substitutes", methods=["POST"])
    @protect()
    @safe
    @permission_name("add_substitute")
    def add_substitute(self):
        """Name a substitute: 201 with it; 403 somebody else's (unless HR); 422 with ``errors``.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    principal_user_id:
                      type: integer
                      description: whom the substitute acts for (HR only; default the caller)
                    principal_username:
                      type: string
                    substitute_user_id:
                      type: integer
                    substitute_username:
                      type: string
                    starts_on:
                      type: string
                      format: date
                    ends_on:
                      type: string
                      format: date
                    reason:
                      type: string
          responses:
            201:
              description: the substitute
            403:
              $ref: '#/components/responses/403'
            422:
              $ref: '#/components/responses/422'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object."))
        reason = data.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_COMMENT):
            return self.response_400(message=_("The comment must be text of at most 4,000 characters."))
        try:
            item = substitutes.create(db.session, current_caller(), self._find_user(data, "principal"),
                                      self._find_user(data, "substitute"), data.get("starts_on"),
                                      data.get("ends_on"), reason)
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(201, **item.to_dict())

    @expose("/substitutes/<int:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("revoke_substitute")
    def revoke_substitute(self, pk: int):
        """End a substitute now (its principal or HR): 200 with it; 404 anybody else's.
        ---
        delete:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: the substitute, revoked
            404:
              $ref: '#/components/responses/404'
        """
        try:
            item = substitutes.revoke(db.session, current_caller(), pk)
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(200, **item.to_dict())

    @expose("/reassign/<int:pk>", methods=["POST"])
    @protect()
    @safe
    @permission_name("reassign")
    def reassign(self, pk: int):
        """HR names another reviewer for an appraisal, with a reason: 200; 403 not HR; 404; 409 not a
        draft, pending review or disputed; 422 with ``errors``.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    reviewer_employee_no:
                      type: string
                    reason:
                      type: string
          responses:
            200:
              description: '{"id", "state", "reviewer_employee_no", "reviewer_reason"}'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: its state allows no reassignment, or it changed meanwhile
            422:
              $ref: '#/components/responses/422'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object."))
        number, reason = data.get("reviewer_employee_no"), data.get("reason")
        if not isinstance(number, str | None) or not isinstance(reason, str | None) or len(reason or "") > (
                MAX_COMMENT):
            return self.response_400(message=_("Send the reviewer's employee number and a reason as text."))
        try:
            caller = current_caller()
            reviewer = reassign.reviewer_by_number(db.session, (number or "")[:64])
            appraisal = reassign.reassign_reviewer(db.session, pk, caller, reviewer, reason)
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(200, id=appraisal.id, state=appraisal.state.value,
                             reviewer_employee_no=number.strip(), reviewer_reason=appraisal.reviewer_reason)
