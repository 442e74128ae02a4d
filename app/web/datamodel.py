"""The data interface of every model screen and API: FAB's SQLAlchemy interface, with keys that
cannot exist not found, filter values made the column's type, and database refusals as readable
validation errors (stock FAB answers them with 500)."""

from __future__ import annotations

import logging

from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..hardening import MAX_KEY, is_value_filter, usable_filter_value

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
                count = select(func.count()).select_from(target.table).where(target == value)
                if not self.session.scalar(count):
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


def interface(model) -> JixiaoInterface:
    return JixiaoInterface(model)
