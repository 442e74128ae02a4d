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

A list reads its page's keys as the lists do (``app.web.datamodel``); an API that writes its rows itself
gives "the rows of these keys" (``_rows_of``) and the one list frame here answers with them. A list whose
columns are all its table's own (:class:`DirectListApi`) writes its rows from those columns in one
statement, as FAB's schema would; the labels, columns and title FAB adds to a list are kept per language.
"""

from __future__ import annotations

import threading

import jsonschema
from flask import jsonify
from flask_appbuilder import api as fab_api
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.const import (
    API_FILTERS_RIS_KEY,
    API_SELECT_COLUMNS_RIS_KEY,
    API_SELECT_SEL_COLUMNS_RIS_KEY,
    PERMISSION_PREFIX,
)
from flask_appbuilder.exceptions import FABException, InvalidOrderByColumnFABException
from flask_appbuilder.models.filters import Filters
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from marshmallow import fields
from sqlalchemy import DateTime, select
from sqlalchemy.orm import ColumnProperty

from .. import clock
from .. import permissions as p
from ..extensions import db
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


def _plain(field: fields.Field):
    """How FAB's schema writes a value of ``field`` read from the database, None staying None."""
    if isinstance(field, LocalDateTime):
        return clock.local_iso
    kind = type(field)
    if kind is fields.DateTime:
        format_func = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
        if format_func is not None:
            return format_func
    simple = {fields.Integer: int, fields.Float: float, fields.String: str, fields.Boolean: bool}
    if kind in simple and not getattr(field, "as_string", False):
        return simple[kind]
    if kind is fields.Raw or kind.__name__ == "Inferred":
        return None
    return lambda value: field._serialize(value, field.name, None)


class JoinedFilters(Filters):
    """A request's filters joined with the base filters, as FAB's ``get_joined_filters`` makes them but
    without building every filter of every column (which FAB does per request, to be thrown away): the
    joined filters are only applied, never looked up by column."""

    def __init__(self, filters: Filters, base: Filters):  # not super().__init__: the cost left out
        self.search_columns = []
        self.filter_converter = filters.filter_converter
        self.datamodel = filters.datamodel
        self.filters = filters.filters + base.filters
        self.values = filters.values + base.values


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

    # What FAB adds to every list answer beside its rows (labels, columns, title), per class, reader's
    # language and requested keys: the labels are the same for every page, FAB translates them per page.
    _mappings: dict[tuple, dict] = {}
    _mappings_lock = threading.Lock()

    def set_response_key_mappings(self, response, func, rison_args, **kwargs) -> None:
        selected = kwargs.get(API_SELECT_COLUMNS_RIS_KEY)
        keys = rison_args.get("keys")
        if not (isinstance(selected, list) and all(isinstance(c, str) for c in selected)) or not (
                keys is None or isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
            super().set_response_key_mappings(response, func, rison_args, **kwargs)
            return
        key = (type(self), func.__name__, current_locale(), tuple(keys or ()), tuple(selected), len(kwargs))
        kept = self._mappings.get(key)
        if kept is None:
            kept = {}
            super().set_response_key_mappings(kept, func, rison_args, **kwargs)
            kept = {k: str(v) if isinstance(v, LazyString) else v for k, v in kept.items()}
            with self._mappings_lock:
                self._mappings[key] = kept
        response.update(kept)

    def _handle_filters_args(self, rison_args):
        self._filters.clear_filters()
        self._filters.rest_add_filters(rison_args.get(API_FILTERS_RIS_KEY, []))
        return JoinedFilters(self._filters, self._base_filters)

    # A list that writes its rows itself (:meth:`_writes_list`, :meth:`_rows_of`): its rows as answered,
    # or as FAB's schema writes them, FAB's ``pre_get_list`` then applied as to FAB's own.
    _rows_answered = False

    def _writes_list(self) -> bool:
        """Whether this API writes a list's rows itself (:meth:`_rows_of`) rather than FAB's schema."""
        return False

    def _rows_of(self, keys: list) -> dict:
        """The rows of these keys (a page's, in order, never empty), by key; a key without a row (gone
        since the page was read) is left out of the answer."""
        raise NotImplementedError

    def get_list_headless(self, **kwargs):
        """FAB's list, read by :meth:`_list_page` and written by :meth:`_rows_of` when the API writes its
        rows itself; a request naming its columns is FAB's own."""
        args = kwargs.get("rison", {})
        if not self._writes_list() or args.get(API_SELECT_COLUMNS_RIS_KEY) or args.get(
                API_SELECT_SEL_COLUMNS_RIS_KEY):
            return super().get_list_headless(**kwargs)
        response: dict = {}
        self.set_response_key_mappings(response, self.get_list, args, **{API_SELECT_COLUMNS_RIS_KEY: []})
        page = self._list_page(args)
        if not isinstance(page, tuple):
            return page
        count, keys = page
        rows = self._rows_of(keys) if keys else {}
        keys = [key for key in keys if key in rows]
        response["result"] = [rows[key] for key in keys]
        response["ids"] = keys
        response["count"] = count
        if not self._rows_answered:
            self.pre_get_list(response)
        return self.response(200, **response)

    def _list_page(self, args: dict):
        """A list request's page as FAB reads it (filters, order, paging) without its rows: (the list's
        count, the page's keys in order), or FAB's 400 answer."""
        try:
            joined_filters = self._handle_filters_args(args)
        except FABException as exc:
            return self.response_400(message=str(exc))
        try:
            order_column, order_direction = self._handle_order_args(args)
        except InvalidOrderByColumnFABException as exc:
            return self.response_400(message=str(exc))
        page_index, page_size = self._handle_page_args(args)
        model = self.datamodel
        name = model.get_pk_name()
        if not model._pages_by_keys(joined_filters, [name]):
            count, rows = model.query(joined_filters, order_column, order_direction, page=page_index,
                                      page_size=page_size, select_columns=[name],
                                      outer_default_load=self.list_outer_default_load)
            return count, [getattr(row, name) for row in rows]
        # The interface's list by keys (app.web.datamodel), up to the keys: the rows are read by the caller.
        return model.keys_page(joined_filters, order_column, order_direction, page_index, page_size)

    def response_422(self, message=None):
        # FAB prefixes database refusals with a fixed English phrase; our cause is already readable.
        prefix = "Database exception occurred: "
        if isinstance(message, str) and message.startswith(prefix):
            message = message[len(prefix):]
        return super().response_422(message=message)

    def response_500(self, message: str | None = None):
        message = _("Something went wrong on the server; the error has been logged.")
        return super().response_500(message=message)



class DirectListApi(JixiaoModelRestApi):
    """A model API whose list (every column a column of its own table) is written from the page's
    columns as FAB's schema writes them, without loading a model instance per row; a request that
    names its columns is FAB's own list."""

    def _writes_list(self) -> bool:
        return self._direct_columns() is not None

    def _rows_of(self, keys: list) -> dict:
        columns = self._direct_columns()
        model = self.datamodel.obj
        pk = getattr(model, self.datamodel.get_pk_name())
        query = select(pk, *(getattr(model, name) for name, _ in columns)).where(pk.in_(keys))
        return {row[0]: {name: value if convert is None or value is None else convert(value)
                         for (name, convert), value in zip(columns, row[1:], strict=True)}
                for row in db.session.execute(query)}

    _direct: tuple | None = None

    def _direct_columns(self) -> list[tuple[str, object]] | None:
        """(column, how its value is written) of each list column, or None when one is not a column of
        the model's own table (a relation, a property) or FAB selects other columns."""
        if self._direct is None or self._direct[0] is not self.list_model_schema:
            columns: list | None = []
            mapper = self.datamodel.obj.__mapper__
            for name in self.list_columns:
                prop = mapper.attrs.get(name)
                field = self.list_model_schema.fields.get(name)
                if not isinstance(prop, ColumnProperty) or field is None or len(prop.columns) != 1:
                    columns = None
                    break
                columns.append((name, _plain(field)))
            if list(self.list_select_columns or ()) != list(self.list_columns):
                columns = None
            self._direct = (self.list_model_schema, columns)
        return self._direct[1]
