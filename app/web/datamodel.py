"""The data interface of every model screen and API: FAB's SQLAlchemy interface, with keys that
cannot exist not found, filter values made the column's type, and database refusals as readable
validation errors (stock FAB answers them with 500)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict

from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from ..hardening import MAX_KEY, is_value_filter, usable_filter_value

log = logging.getLogger(__name__)

# A list page counts the rows its filters select, and on a million work orders that count is most of
# the page's cost. A count at least COUNT_KEPT_FROM rows is kept COUNT_SECONDS for the same query (in
# each process), and dropped as soon as this process writes the table; smaller counts are cheap and
# always counted afresh. Another process's writes show within COUNT_SECONDS.
COUNT_KEPT_FROM = 10_000
COUNT_SECONDS = 30
_MAX_KEPT = 1_000
_kept: dict[tuple, tuple[float, int]] = {}
_writes: dict[str, int] = defaultdict(int)  # table → writes this process made to it
_lock = threading.Lock()
_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE)


@event.listens_for(Engine, "after_cursor_execute")
def _note_write(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    match = _WRITE.match(statement)
    if match:
        _writes[match.group(1).lower()] += 1


class RefusedWrite(Exception):
    """The readable reason a write was refused; FAB reports a DatabaseException's cause."""


class JixiaoInterface(SQLAInterface):
    """FAB's SQLAlchemy interface that turns database refusals into readable validation errors."""

    field_labels: dict = {}  # the owning view's label_columns, to name fields in messages
    # Relations a list screen shows (set by the view): loaded with the page's rows, not one row at a time.
    list_relations: tuple[str, ...] = ()

    def query_count(self, query, filters=None, select_columns=None) -> int:
        counted = self._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={})
        table = self.obj.__table__.name
        compiled = counted.statement.compile(self.session.get_bind())
        key = (str(self.session.get_bind().url), table, _writes[table], str(compiled),
               repr(sorted(compiled.params.items())))
        now = time.monotonic()
        with _lock:
            kept = _kept.get(key)
        if kept and kept[0] > now:
            return kept[1]
        count = counted.count()
        if count >= COUNT_KEPT_FROM:
            with _lock:
                if len(_kept) >= _MAX_KEPT:
                    _kept.clear()
                _kept[key] = (now + COUNT_SECONDS, count)
        return count

    def apply_all(self, query, filters=None, order_column="", order_direction="", page=None, page_size=None,
                  select_columns=None, outer_default_load=False):
        query = super().apply_all(query, filters, order_column, order_direction, page, page_size,
                                  select_columns, outer_default_load)
        if select_columns is None and self.list_relations:  # a screen's list (the APIs select columns)
            query = query.options(*(joinedload(getattr(self.obj, name)) for name in self.list_relations))
        return query

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
