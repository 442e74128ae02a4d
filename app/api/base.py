"""The base of every REST API: scoping, our permission vocabulary, and no 5xx for bad requests.

Stock FAB 5.3 answers several malformed requests with 500 "Fatal error" (a duplicate unique value,
odd paging arguments, filter values its columns cannot hold, database errors on write). They are
fixed once, for every API: here, and in the data interface the screens share (app.web.datamodel).
A service error is answered by its kind (``service_error``), the same way by every API.

``_info`` describes the add and edit fields only to a caller who may write, only for FAB's own POST
and PUT, and offers related rows within the caller's scope (``app.scoping``), like every list.

Every stored moment an API answers with is ISO 8601 with the configured zone's offset (``clock.local_iso``),
as every screen shows it in that zone; the source data's times are the wall times as imported and stay so.

FAB checks the JSON schema of a list's or an item's ``q`` argument against the schema language's own
meta-schema before every request, a quarter of a list page's time: :class:`CheckedSchemas` checks each
of FAB's (constant) schemas once per process and validates requests with its kept validator.
"""

from __future__ import annotations

import jsonschema
from flask import jsonify
from flask_appbuilder import api as fab_api
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.const import PERMISSION_PREFIX
from flask_babel import gettext as _
from marshmallow import fields
from sqlalchemy import DateTime

from .. import clock
from .. import permissions as p
from ..locales import current_locale
from ..scoping import SCOPED
from ..services.errors import Kind, kind_of, message_of

# The one mapping of an error's kind to the API's status.
STATUS = {Kind.NOT_FOUND: 404, Kind.CONFLICT: 409, Kind.REFUSED: 403, Kind.INVALID: 422}


def error_body(exc: Exception, locale: str) -> dict:
    """The JSON answer of a service error or a workflow refusal: its sentence, a refusal's stable
    ``code``, and the error's extra keys (a review's ``errors``, a rule set's ``problems``)."""
    body = {"message": message_of(exc, locale)}
    if callable(getattr(exc, "reason", None)):
        body["code"] = exc.code
    body.update(getattr(exc, "payload", None) or {})
    return body


def service_error(api, exc: Exception):
    """The answer for an error that has a kind; not found answers as the API's own 404 does."""
    kind = kind_of(exc)
    if kind is None:
        raise exc
    if kind is Kind.NOT_FOUND:
        return api.response_404()
    # Not ``api.response(status, **body)``: a refusal's body has a ``code`` key, FAB's first parameter.
    response = jsonify(error_body(exc, current_locale()))
    response.status_code = STATUS[kind]
    return response


class CheckedSchemas:
    """What FAB's ``rison`` decorator uses of ``jsonschema``: ``validate`` with the schema checked once."""

    ValidationError = jsonschema.ValidationError
    _validators: dict[int, tuple[dict, jsonschema.protocols.Validator]] = {}

    @classmethod
    def validate(cls, instance, schema) -> None:
        kept = cls._validators.get(id(schema))
        if kept is None or kept[0] is not schema:
            validator = jsonschema.validators.validator_for(schema)
            validator.check_schema(schema)
            kept = cls._validators[id(schema)] = (schema, validator(schema))
        error = jsonschema.exceptions.best_match(kept[1].iter_errors(instance))
        if error is not None:
            raise error


fab_api.jsonschema = CheckedSchemas


# Tables whose times are wall times as people entered or imported them, not stored UTC moments.
WALL_TIME_TABLES = frozenset({"work_order", "survey", "labor_cost"})


class LocalDateTime(fields.DateTime):
    """A stored UTC moment (naive from SQLite) answered in the configured zone, with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return clock.local_iso(value)


class LocalTimeConverter(Model2SchemaConverter):
    """FAB's schemas, with every stored moment as :class:`LocalDateTime`."""

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        sqla = datamodel.list_columns.get(column.name)
        if (type(field) is fields.DateTime and isinstance(getattr(sqla, "type", None), DateTime)
                and datamodel.obj.__tablename__ not in WALL_TIME_TABLES):
            moment = LocalDateTime(required=field.required, allow_none=field.allow_none,
                                   dump_only=field.dump_only, load_only=field.load_only)
            moment.unique = getattr(field, "unique", False)
            return moment
        return field


class JixiaoModelRestApi(ModelRestApi):
    """Every model API derives from this: set ``resource_name`` and ``datamodel_class``'s model."""

    method_permission_name = p.METHOD_PERMISSIONS
    base_filters = SCOPED
    allow_browser_login = True
    page_size = 50
    model2schemaconverter = LocalTimeConverter

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datamodel.field_labels = self.label_columns

    def _handle_page_args(self, rison_args):
        # FAB passes negative or huge paging arguments straight to SQL.
        page, page_size = super()._handle_page_args(rison_args)
        max_size = self.max_page_size or 500
        page_size = page_size if isinstance(page_size, int) and 0 < page_size <= max_size else self.page_size
        page = page if isinstance(page, int) and 0 <= page < 10**6 else 0
        return page, page_size

    def _describes_writes(self, method: str) -> bool:
        """Whether ``_info`` describes the fields of ``method`` ("post" or "put"): the caller may write,
        and the API serves FAB's own handler (an API that replaced it documents its body in the
        OpenAPI document, and FAB's field list would describe something it does not accept)."""
        served = (self.include_route_methods is None or method in self.include_route_methods) and (
            method not in self.exclude_route_methods)
        permission = PERMISSION_PREFIX + self.method_permission_name.get(method, method)
        return (served and getattr(type(self), method) is getattr(ModelRestApi, method)
                and self.appbuilder.sm.has_access(permission, self.class_permission_name))

    def _get_fields_info(self, cols, model_schema, filter_rel_fields, **kwargs):
        # FAB's ``_info`` asks for the add fields, then the edit fields (its merge functions are bound
        # to ModelRestApi's own, so this is the place to decide).
        method = "post" if model_schema is self.add_model_schema else "put"
        if not self._describes_writes(method):
            return []
        return super()._get_fields_info(cols, model_schema, filter_rel_fields, **kwargs)

    def _get_list_related_field(self, field, filter_rel_field, page=None, page_size=None):
        # The choices of a relation are rows of another model: scoped like that model's own list.
        if hasattr(self.datamodel.get_related_model(field.name), "__scope__"):
            filter_rel_field = [*filter_rel_field, *SCOPED]
        return super()._get_list_related_field(field, filter_rel_field, page=page, page_size=page_size)

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        # FAB translates a missing label or description as gettext(""), which is the catalog's header.
        label = self.label_columns.get(field.name)
        description = self.description_columns.get(field.name)
        info["label"] = str(_(label)) if label else self._prettify_column(field.name)
        info["description"] = str(_(description)) if description else ""
        return info

    def response_422(self, message=None):
        # FAB prefixes database refusals with a fixed English phrase; our cause is already readable.
        prefix = "Database exception occurred: "
        if isinstance(message, str) and message.startswith(prefix):
            message = message[len(prefix):]
        return super().response_422(message=message)

    def response_500(self, message: str | None = None):
        message = _("Something went wrong on the server; the error has been logged.")
        return super().response_500(message=message)

