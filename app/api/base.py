"""The base of every REST API: scoping, our permission vocabulary, and no 5xx for bad requests.

Stock FAB 5.3 answers several malformed requests with 500 "Fatal error" (a duplicate unique value,
odd paging arguments, filter values its columns cannot hold, database errors on write). They are
fixed here once, for every API (the interface also serves the screens).

``_info`` describes the add and edit fields only to a caller who may write, only for FAB's own POST
and PUT, and offers related rows within the caller's scope (``app.scoping``), like every list.
"""

from __future__ import annotations

import logging

from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.const import PERMISSION_PREFIX
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .. import permissions as p
from ..hardening import MAX_KEY, is_value_filter, usable_filter_value
from ..scoping import SCOPED

log = logging.getLogger(__name__)


class RefusedWrite(Exception):
    """The readable reason a write was refused; FAB reports a DatabaseException's cause."""


class JixiaoInterface(SQLAInterface):
    """FAB's SQLAlchemy interface that turns database refusals into readable validation errors."""

    field_labels: dict = {}  # the owning view's label_columns, to name fields in messages

    def get(self, id, filters=None, select_columns=None, outer_default_load=False):
        # FAB's PUT/DELETE routes take any string as the key; PostgreSQL would fail on "abc" and
        # SQLite on 10**30. A key that cannot exist is simply not found.
        try:
            key = int(id)
        except (TypeError, ValueError):
            return None
        if not 0 < key <= MAX_KEY:
            return None
        return super().get(key, filters, select_columns, outer_default_load)

    def apply_filters(self, query, filters):
        # Every list query (API, screen, related choices) passes here: a request's filter value is
        # made the column's type or refused with 400, instead of failing in the database.
        if filters:
            filters.values = [
                usable_filter_value(self, flt, value) if is_value_filter(flt) else value
                for flt, value in zip(filters.filters, filters.values, strict=True)
            ]
        return super().apply_filters(query, filters)

    def _check_unique(self, item) -> None:
        table = self.obj.__table__
        for column in table.columns:
            if not column.unique or column.primary_key:
                continue
            value = getattr(item, column.key, None)
            if value is None:
                continue
            query = select(func.count()).select_from(table).where(column == value)
            if item.id is not None:
                query = query.where(table.c.id != item.id)
            if self.session.scalar(query):
                label = str(self.field_labels.get(column.key, column.key))
                message = _("%(field)s: the value “%(value)s” is already used.", field=label, value=value)
                raise DatabaseException(message) from RefusedWrite(message)

    def _check_references(self, item) -> None:
        # SQLite does not enforce foreign keys: a key naming no row would be stored, and break every
        # later query that joins it (PostgreSQL refuses it, less readably).
        for column in self.obj.__table__.columns:
            value = getattr(item, column.key, None)
            if value is None:
                continue
            for key in column.foreign_keys:
                target = key.column
                if not self.session.scalar(select(func.count()).select_from(target.table).where(target == value)):
                    label = str(self.field_labels.get(column.key, column.key))
                    message = _("%(field)s: “%(value)s” does not exist.", field=label, value=value)
                    raise DatabaseException(message) from RefusedWrite(message)

    def _write(self, action, item, commit: bool) -> None:
        try:
            with self.session.no_autoflush:
                self._check_unique(item)
                self._check_references(item)
            action(item)
            if commit:
                self.session.commit()
        except DatabaseException:
            self.session.rollback()
            raise
        except SQLAlchemyError as exc:
            self.session.rollback()
            log.warning("Refused write of %s: %s", self.obj.__name__, exc)
            message = _("The record conflicts with existing data and was not saved.")
            raise DatabaseException(message) from RefusedWrite(message)

    def add(self, item, commit: bool = True) -> None:
        self._write(self.session.add, item, commit)

    def edit(self, item, commit: bool = True) -> None:
        self._write(self.session.merge, item, commit)


class JixiaoModelRestApi(ModelRestApi):
    """Every model API derives from this: set ``resource_name`` and ``datamodel_class``'s model."""

    method_permission_name = p.METHOD_PERMISSIONS
    base_filters = SCOPED
    allow_browser_login = True
    page_size = 50

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
        return super().response_500(message=_("Something went wrong on the server; the error has been logged."))


def interface(model) -> JixiaoInterface:
    return JixiaoInterface(model)
