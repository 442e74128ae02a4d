"""REST APIs for rule sets: versions, indicators, templates (and their lines), grade bands, outcome
rules, SWOT items (and their lines). Reading: HR, station managers, supervisors (and Admin); writing:
HR and Admin (``app.permissions``). Rule content is not per-employee data, so there is no row scoping.

Every write goes through ``app.services.rules.validate_row``: a row whose formula does not compile,
whose test case fails or whose reference is unknown is refused with 422 and the engine's error
(``{"message", "error": {"code", "message", "position", "suggestions", "field"}, "problems": […]}``)
and never stored; any change to a published version answers 409.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_babel import gettext as _

from .. import permissions as p
from ..extensions import db
from ..locales import current_locale
from ..models import (
    PublishedVersionLocked,
    RuleGradeBand,
    RuleIndicator,
    RuleOutcome,
    RuleSetVersion,
    RuleSwotItem,
    RuleSwotLine,
    RuleTemplate,
    RuleTemplateLine,
)
from ..rules import POLICY_FILE
from ..services import rules as service
from ..services.errors import kind_of
from ..web.context import current_username, row_or_none
from ..web.datamodel import interface
from .base import JixiaoModelRestApi, service_error


class _RuleRowApi(JixiaoModelRestApi):
    """A rule row: validated by the rules service before it is stored; published versions locked."""

    class_permission_name = p.RULES
    base_filters = []  # rule content is visible to every holder of Rules/read
    page_size = 100

    def pre_add(self, item) -> None:
        problems = service.validate_row(db.session, item)
        if problems:
            raise service.RuleRefused(problems)

    pre_update = pre_add

    def pre_delete(self, item) -> None:
        service.ensure_deletable(db.session, item)

    def _guarded(self, call, *args):
        try:
            return call(*args)
        except Exception as exc:
            if kind_of(exc) is None:
                raise
            db.session.rollback()
            return service_error(self, exc)

    def post_headless(self):
        return self._guarded(super().post_headless)

    def put_headless(self, pk):
        return self._guarded(super().put_headless, pk)

    def delete_headless(self, pk):
        return self._guarded(super().delete_headless, pk)


class RuleIndicatorApi(_RuleRowApi):
    resource_name = "rule_indicator"
    datamodel = interface(RuleIndicator)
    _fields = ["code", "name", "name_en", "category", "kind", "value_formula", "unit", "target",
               "score_formula", "direction", "description", "tests", "position"]
    list_columns = show_columns = ["id", "version_id", *_fields]
    add_columns = ["version_id", *_fields]
    edit_columns = _fields
    search_columns = ["version_id", "code", "name", "category", "kind"]
    order_columns = ["position", "code", "name", "category"]


class RuleTemplateApi(_RuleRowApi):
    resource_name = "rule_template"
    datamodel = interface(RuleTemplate)
    _fields = ["code", "name", "name_en", "positions", "stations", "segments", "description", "position"]
    list_columns = show_columns = ["id", "version_id", *_fields]
    add_columns = ["version_id", *_fields]
    edit_columns = _fields
    search_columns = ["version_id", "code", "name"]
    order_columns = ["position", "code", "name"]


class RuleTemplateLineApi(_RuleRowApi):
    resource_name = "rule_template_line"
    datamodel = interface(RuleTemplateLine)
    list_columns = show_columns = ["id", "template_id", "indicator_code", "weight", "position"]
    add_columns = ["template_id", "indicator_code", "weight", "position"]
    edit_columns = ["indicator_code", "weight", "position"]
    search_columns = ["template_id", "indicator_code"]
    order_columns = ["position", "indicator_code"]


class RuleGradeBandApi(_RuleRowApi):
    resource_name = "rule_grade_band"
    datamodel = interface(RuleGradeBand)
    list_columns = show_columns = ["id", "version_id", "grade", "label", "label_en", "min_total", "position"]
    add_columns = ["version_id", "grade", "label", "label_en", "min_total", "position"]
    edit_columns = ["grade", "label", "label_en", "min_total", "position"]
    search_columns = ["version_id", "grade"]
    order_columns = ["position", "min_total", "grade"]


class RuleOutcomeApi(_RuleRowApi):
    resource_name = "rule_outcome"
    datamodel = interface(RuleOutcome)
    _fields = ["code", "action", "condition", "coefficient", "label", "label_en", "position"]
    list_columns = show_columns = ["id", "version_id", *_fields]
    add_columns = ["version_id", *_fields]
    edit_columns = _fields
    search_columns = ["version_id", "code", "action"]
    order_columns = ["position", "code"]


class RuleSwotItemApi(_RuleRowApi):
    resource_name = "rule_swot_item"
    datamodel = interface(RuleSwotItem)
    _fields = ["station_code", "year", "kind", "title", "positions", "description", "position"]
    list_columns = show_columns = ["id", "version_id", *_fields]
    add_columns = ["version_id", *_fields]
    edit_columns = _fields
    search_columns = ["version_id", "station_code", "year", "kind"]
    order_columns = ["position", "station_code", "year", "kind"]


class RuleSwotLineApi(_RuleRowApi):
    resource_name = "rule_swot_line"
    datamodel = interface(RuleSwotLine)
    list_columns = show_columns = ["id", "swot_item_id", "indicator_code", "weight", "position"]
    add_columns = ["swot_item_id", "indicator_code", "weight", "position"]
    edit_columns = ["indicator_code", "weight", "position"]
    search_columns = ["swot_item_id", "indicator_code"]
    order_columns = ["position", "indicator_code"]


class RuleSetApi(JixiaoModelRestApi):
    """Versions: list and show; POST makes a draft (a copy of ``based_on_id`` or of the current version);
    DELETE discards a draft (``/<id>/restore`` brings it back for a while); ``/<id>/check``,
    ``/<id>/diff``, ``/<id>/publish``, ``/<id>/export``, and
    ``/<id>/policy`` (GET; PUT a draft's distribution policy and incentives)."""

    resource_name = "ruleset"
    class_permission_name = p.RULES
    datamodel = interface(RuleSetVersion)
    base_filters = []
    include_route_methods = {
        "get", "get_list", "info", "post", "delete", "check", "diff", "publish", "export", "policy",
        "put_policy", "restore",
    }
    method_permission_name = {
        **p.METHOD_PERMISSIONS, "check": p.READ, "diff": p.READ, "export": p.READ, "publish": p.WRITE,
        "policy": p.READ, "put_policy": p.WRITE, "restore": p.WRITE,
    }
    list_columns = show_columns = [
        "id", "number", "status", "content_hash", "based_on_id", "note", "created_at", "created_by",
        "published_at", "published_by", "current_since", "discarded_at", "discarded_by",
    ]
    add_columns = ["based_on_id", "note"]
    search_columns = ["number", "status"]
    order_columns = ["number", "created_at", "published_at"]

    def _user(self) -> str:
        return current_username()

    def _version(self, pk):
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        return row_or_none(RuleSetVersion, pk)

    def post_headless(self):
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("The request could not be understood."))
        based_on = data.get("based_on_id")
        if based_on is not None and (isinstance(based_on, bool) or not isinstance(based_on, int)):
            return self.response_422(message=_("No such rule set version."))
        note = data["note"][:2000] if isinstance(data.get("note"), str) else ""
        try:
            version = service.new_draft(db.session, based_on_id=based_on, user=self._user(), note=note)
        except service.NoRuleSet as exc:
            return service_error(self, exc)
        return self.response(201, id=version.id,
                             result={"number": version.number, "status": version.status.value})

    def delete_headless(self, pk):
        version = self._version(pk)
        if version is None:
            return self.response_404()
        try:
            service.discard_draft(db.session, version.id, user=self._user())
        except (PublishedVersionLocked, service.NoRuleSet) as exc:
            return service_error(self, exc)
        return self.response(200, message="OK", restorable_days=service.DISCARD_KEEP_DAYS)

    @expose("/<pk>/restore", methods=["POST"])
    @protect()
    @safe
    def restore(self, pk):
        """Bring back a discarded draft (within DISCARD_KEEP_DAYS days of its discarding)."""
        version = self._version(pk)
        if version is None:
            return self.response_404()
        try:
            service.restore_draft(db.session, version.id)
        except service.NoRuleSet as exc:
            return service_error(self, exc)
        return self.response(200, number=version.number, status=version.status.value)

    @expose("/<pk>/check", methods=["GET"])
    @protect()
    @safe
    def check(self, pk):
        version = self._version(pk)
        if version is None:
            return self.response_404()
        problems = service.check_ruleset(service.ruleset_from_version(version), db.session)
        return self.response(200, ok=not service.has_errors(problems),
                             problems=[pr.to_dict(current_locale()) for pr in problems])

    @expose("/<pk>/diff", methods=["GET"])
    @protect()
    @safe
    def diff(self, pk):
        version = self._version(pk)
        if version is None:
            return self.response_404()
        base, changes = service.diff_against(db.session, version)
        return self.response(200, against=base.number if base else None, changes=changes)

    @expose("/<pk>/export", methods=["GET"])
    @protect()
    @safe
    def export(self, pk):
        version = self._version(pk)
        if version is None:
            return self.response_404()
        return self.response(200, number=version.number, files=service.export_files(db.session, version.id))

    @expose("/<pk>/policy", methods=["GET"])
    @protect()
    @safe
    def policy(self, pk):
        """The version's policy.toml as JSON: ``{"number", "policy": {"distribution", "incentive"} | null,
        "text"}`` (shares 0..1, amounts as strings)."""
        version = self._version(pk)
        if version is None:
            return self.response_404()
        ruleset = service.ruleset_from_version(version)
        return self.response(200, number=version.number, policy=service.policy_document(ruleset),
                             text=ruleset.extras.get(POLICY_FILE))

    @expose("/<pk>/policy", methods=["PUT"])
    @protect()
    @safe
    def put_policy(self, pk):
        """Replace a draft's policy.toml with a JSON object shaped like the file (amounts may be strings;
        ``{}`` removes the file). 422 with every problem of the file; 409 for a published version."""
        version = self._version(pk)
        if version is None:
            return self.response_404()
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("The request could not be understood."))
        try:
            warnings = service.save_policy(db.session, version.id, service.document_from_json(data))
        except (PublishedVersionLocked, service.RuleRefused) as exc:
            return service_error(self, exc)
        ruleset = service.ruleset_from_version(version)
        return self.response(200, number=version.number, policy=service.policy_document(ruleset),
                             text=ruleset.extras.get(POLICY_FILE),
                             warnings=[pr.to_dict(current_locale()) for pr in warnings])

    @expose("/<pk>/publish", methods=["POST"])
    @protect()
    @safe
    def publish(self, pk):
        version = self._version(pk)
        if version is None:
            return self.response_404()
        try:
            result = service.publish(db.session, version.id, user=self._user())
        except (service.NotADraft, service.RuleSetInvalid) as exc:
            return service_error(self, exc)
        return self.response(200, number=result.version.number, content_hash=result.version.content_hash,
                             previous=result.previous.number if result.previous else None,
                             changes=result.diff,
                             warnings=[pr.to_dict(current_locale()) for pr in result.problems])


RULE_APIS = (
    RuleSetApi, RuleIndicatorApi, RuleTemplateApi, RuleTemplateLineApi, RuleGradeBandApi, RuleOutcomeApi,
    RuleSwotItemApi, RuleSwotLineApi,
)
