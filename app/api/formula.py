"""The formula check and the catalogue of the REST API: what the editor calls as HR types.

``POST /api/v1/formula/check`` ``{"expression", "variables": {name: number|null}, "tags": {word: n}}``
→ ``{"ok": true, "value", "trace", "explanation", "names"}`` or ``{"ok": false, "error": {"code", "message",
"position", "suggestions"}}``. The names a formula may use are the built-in catalogue plus the keys of
``variables``; a catalogue variable not given a value is N/A; any other name is UNKNOWN_NAME. A formula
longer than the engine accepts answers ``TOO_LONG`` with its ``length`` and the ``limit``, however long it is.
An optional ``"role"`` (``indicator``, ``score``, ``weight``, ``outcome``, ``incentive``) says where the
formula stands; a ``weight`` is then also checked as saving a template or SWOT line checks it: a negative
number is refused (``BAD_VALUE``), and what saving warns about (``PERSONAL_WEIGHT``: a weight reading a
personal metric) comes back in ``"warnings": [{"code", "message"}]``.
``GET /api/v1/formula/catalogue`` lists variables and functions with Chinese and English names.
Any signed-in user may call both: checking a formula reads no data and changes nothing.
"""

from __future__ import annotations

import math

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext as _

from .. import permissions as p
from ..engine.errors import fail
from ..engine.limits import MAX_LENGTH
from ..engine.payload import catalogue_payload, check_expression
from ..locales import current_locale
from ..rules import Problem, RuleSet
from ..rules.formulas import INCENTIVE_VARIABLES, OUTCOME_VARIABLES, ROLES, SCORE_VARIABLES, WEIGHT

MAX_VARIABLES = 300
MAX_NAME = 64
MAX_TEXT_VALUE = 100


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def weight_problems(expression: str) -> list[Problem]:
    """What the check of a saved template or SWOT line says about a line of this weight: the rule set
    check of a template of that one line (a weight reads station variables only, never another part of
    the rule set, so nothing else of the draft changes the answer)."""
    template = {"code": "line", "name": "line", "line": [{"indicator": "line", "weight": expression}]}
    ruleset, problems = RuleSet.from_document({"template": [template]})
    return [p for p in (*problems, *ruleset.check()) if p.field == "line 1 weight"]


def _with_weight_problems(result: dict, expression: str, locale: str) -> dict:
    """The check's answer for a weight: refused as saving refuses it, with saving's warnings."""
    problems = weight_problems(expression)
    error = next((p for p in problems if p.is_error), None)
    if error is not None:
        return {"ok": False, "error": {"code": error.code, "message": error.message(locale),
                                       "position": error.position, "suggestions": list(error.suggestions)}}
    result["warnings"] = [{"code": p.code, "message": p.message(locale)} for p in problems]
    return result


class FormulaApi(BaseApi):
    resource_name = "formula"
    class_permission_name = p.FORMULA
    method_permission_name = {"check": p.WRITE, "catalogue": p.READ}
    allow_browser_login = True
    openapi_spec_tag = "Formula"

    @expose("/check", methods=["POST"])
    @protect()
    @safe
    def check(self):
        """Check and evaluate one formula.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    expression: {type: string}
                    variables: {type: object}
                    tags: {type: object}
                    role: {type: string, enum: [indicator, score, weight, outcome, incentive]}
          responses:
            200:
              description: '{"ok": true, "value", "trace"} or {"ok": false, "error"}'
            400:
              $ref: '#/components/responses/400'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object with an expression."))
        expression = data.get("expression")
        variables = data.get("variables")
        variables = {} if variables is None else variables
        tags = data.get("tags")
        role = data.get("role")
        if role is not None and role not in ROLES:
            message = _("The formula's role must be one of: %(roles)s.", roles=", ".join(ROLES))
            return self.response_400(message=message)
        if not isinstance(expression, str):
            return self.response_400(message=_("The expression must be a text."))
        if len(expression) > MAX_LENGTH:  # the engine's answer, for any length: the text is not read
            length = len(expression)
            error = fail("too_long", MAX_LENGTH, length=length, limit=MAX_LENGTH).to_dict(current_locale())
            return self.response(200, ok=False, error={**error, "length": length, "limit": MAX_LENGTH})
        if not isinstance(variables, dict) or len(variables) > MAX_VARIABLES:
            return self.response_400(message=_("The variables must be an object of names and numbers."))
        if tags is not None and (not isinstance(tags, dict) or len(tags) > MAX_VARIABLES):
            return self.response_400(message=_("The tags must be an object of words and counts."))
        for name, value in variables.items():
            if not name or len(name) > MAX_NAME:
                return self.response_400(message=_("A variable name is missing or too long."))
            if isinstance(value, str) and len(value) > MAX_TEXT_VALUE:
                return self.response_400(message=_("A text value is too long."))
            if isinstance(value, bool) or not (value is None or isinstance(value, str) or (
                    isinstance(value, int | float) and math.isfinite(value))):
                message = _("The value of %(name)s must be a number or null.", name=name)
                return self.response_400(message=message)
        if tags is not None:
            for count in tags.values():
                if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 10**9:
                    return self.response_400(message=_("A tag count must be a whole number."))
        locale = current_locale()
        result = check_expression(expression, variables, tags=tags, locale=locale)
        if result["ok"]:
            result["value"] = _json_number(result["value"])
            if role == WEIGHT:
                result = _with_weight_problems(result, expression, locale)
        return self.response(200, **result)

    @expose("/catalogue", methods=["GET"])
    @protect()
    @safe
    def catalogue(self):
        """The variables and functions formulas may use, with Chinese and English names.
        ---
        get:
          responses:
            200:
              description: '{"variables": [...], "functions": [...], "rule_names": [...]}'
        """
        locale = current_locale()
        payload = catalogue_payload(locale=locale)
        rule_names = dict.fromkeys((*SCORE_VARIABLES, *OUTCOME_VARIABLES, *INCENTIVE_VARIABLES))
        payload["rule_names"] = [v.to_dict(locale) for v in rule_names]
        return self.response(200, **payload)
