"""The data interface of every model screen and API: FAB's SQLAlchemy interface, with keys that
cannot exist not found, filter values made the column's type, and database refusals as readable
validation errors (stock FAB answers them with 500).

A list page is read in two steps: first the keys of its rows (filters, order and offset over an index's
narrow entries, no relations joined), then those rows with the columns and relations the page shows.
FAB reads the whole rows and their relations for every row it skips, which on a deep page of a million
work orders is the page's cost. A page past the middle is read from its end (the same order reversed),
so the last pages cost as little as the first; that needs the list's exact count.

Counting a million rows is most of such a page's cost (64 ms on PostgreSQL), so a count is kept and used
again while the tables it read are unchanged: the database keeps a change count per table, added to by
triggers on every write whoever makes it (app.models.changes), and a page reads that change count in the
same statement as its keys. When it equals the one the kept count was made with, the count is exact and
the page costs one statement (an index descent to the page's keys); otherwise the rows are counted again
with the change count, in one statement, and the keys read again."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.utils.base import get_column_leaf, get_column_root_relation, is_column_dotted
from flask_babel import gettext as _
from sqlalchemy import JSON, Table, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import defer, joinedload, load_only
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import True_

from ..hardening import MAX_KEY, is_value_filter, usable_filter_value
from ..models.changes import COUNTED_TABLES, version_of

log = logging.getLogger(__name__)

# A list page counts the rows its filters select, and on a million work orders that count is most of
# the page's cost. A count is kept (per process, per database and query) with the change count of the
# tables it read (app.models.changes), and used while that change count is the same: the page's keys are
# read with the change count in the same statement, so the page and its count are of one moment, and a
# write by any process or connection shows on the next page. A count reading a table without a change
# count is made afresh every time.
_MAX_KEPT = 1_000
_kept: dict[tuple, tuple[int, int]] = {}  # (database, query, parameters) → (change count, rows)
_lock = threading.Lock()
_TABLES_KEPT = 1_000
_tables: dict[str, frozenset[str] | None] = {}  # a query's SQL → the counted tables it reads, or None


class _Counting:
    """What a list query needs to count it: its key among the kept counts and its change count (an SQL
    expression), None when a table it reads keeps no change count."""

    __slots__ = ("key", "version")

    def __init__(self, session, selected) -> None:
        bind = session.get_bind()
        compiled = selected.statement.compile(bind)
        sql = str(compiled)
        self.key = (str(bind.url), sql, repr(sorted(compiled.params.items())))
        tables = _tables.get(sql, False)
        if tables is False:
            read = {t.name for t in visitors.iterate(selected.statement) if isinstance(t, Table)}
            tables = frozenset(read) if read and read <= set(COUNTED_TABLES) else None
            if len(_tables) >= _TABLES_KEPT:
                _tables.clear()
            _tables[sql] = tables
        self.version = version_of(tables, bind.dialect.name) if tables else None


def _wrote_uncommitted(session) -> bool:
    """Whether this session's SQLite connection holds writes not yet committed (the driver opens a
    transaction before the first write only). PostgreSQL tells in the change count itself."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False
    return bool(connection.connection.dbapi_connection.in_transaction)


class RefusedWrite(Exception):
    """The readable reason a write was refused; FAB reports a DatabaseException's cause."""


class JixiaoInterface(SQLAInterface):
    """FAB's SQLAlchemy interface that turns database refusals into readable validation errors."""

    field_labels: dict = {}  # the owning view's label_columns, to name fields in messages
    # Relations a list screen shows (set by the view): loaded with the page's rows, not one row at a time.
    list_relations: tuple[str, ...] = ()

    def query_count(self, query, filters=None, select_columns=None) -> int:
        return self._count(self._apply_inner_all(query, filters, aliases_mapping={}))[0]

    def _count(self, selected, kept_ok: bool = True) -> tuple[int, bool]:
        """How many rows the query ``selected`` selects, exactly (a kept count only while the tables it
        reads are unchanged, checked in a statement of its own), and True (the count is exact)."""
        counting = _Counting(self.session, selected)
        if kept_ok and counting.version is not None:
            with _lock:
                kept = _kept.get(counting.key)
            if kept is not None and not _wrote_uncommitted(self.session):
                if self.session.scalar(select(counting.version)) == kept[0]:
                    return kept[1], True
        return self._count_now(selected, counting)[0], True

    def _count_now(self, selected, counting: _Counting) -> tuple[int, int | None]:
        """The rows ``selected`` selects and, in the same statement, the change count of the tables it
        reads (None if it keeps none or this transaction wrote them); the count is kept with it."""
        # The count is a query of its own inside the statement: SQLite counts a table without a WHERE
        # from its b-tree pages only when the count is all its query selects.
        count = select(func.count()).select_from(selected.order_by(None).statement.subquery())
        if counting.version is None:
            return self.session.scalar(count), None
        rows, version = self.session.execute(select(count.scalar_subquery(), counting.version)).one()
        if version is not None and not _wrote_uncommitted(self.session):
            with _lock:
                if len(_kept) >= _MAX_KEPT:
                    _kept.clear()
                _kept[counting.key] = (version, rows)
        else:
            version = None
        return rows, version

    def keys_page(self, filters, order_column: str, order_direction: str, page: int, size: int,
                  ) -> tuple[int, list]:
        """The rows the list selects with ``filters`` and the keys of page ``page`` of ``size`` rows in
        the order given (the key's when none), both of one moment (:meth:`list_page`)."""
        pk = self.get_pk()
        selected = self.apply_filters(self.session.query(pk), filters)
        where = selected.whereclause  # true() alone (HR's scope) is ``AsBoolean(true())``
        if isinstance(getattr(where, "element", where), True_):  # no WHERE: SQLite counts such a
            selected = self.session.query(pk)  # table from its b-tree pages, ten times faster
        if not order_column:  # a page needs an order; FAB would leave it to the database
            order_column, order_direction = self.get_pk_name(), "asc"
        return self.list_page(selected, order_column, order_direction, page, size)

    def list_page(self, selected, order_column: str, order_direction: str, page: int, size: int,
                  ) -> tuple[int, list]:
        """The number of rows the query ``selected`` (of the primary key) selects, and the keys of page
        ``page`` of ``size`` rows in the order given, both of one moment.

        A kept count is used when the change count read with the page's keys, in the same statement, is
        the one it was kept with: then the page costs one statement. Otherwise the rows are counted
        (with the change count, in one statement) and the keys read again."""
        start = page * size
        counting = _Counting(self.session, selected)
        if counting.version is not None and not _wrote_uncommitted(self.session):
            with _lock:
                kept = _kept.get(counting.key)
            if kept is not None:
                version, count = kept
                keys, seen = self._keys_with(selected, order_column, order_direction, start, size, count,
                                             counting.version)
                if seen is None and not keys:  # no row to read it with: past the end, or rows gone
                    seen = self.session.scalar(select(counting.version))
                if seen == version:
                    return count, keys
        for _attempt in range(3):
            count, version = self._count_now(selected, counting)
            keys, seen = self._keys_with(selected, order_column, order_direction, start, size, count,
                                         None if version is None else counting.version)
            if version is None or seen == version or (seen is None and start >= count):
                break
        return count, keys

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None,
              select_columns=None, outer_default_load=False):
        if not page_size or not self._pages_by_keys(filters, select_columns):
            return super().query(filters, order_column, order_direction, page, page_size, select_columns,
                                 outer_default_load)
        count, keys = self.keys_page(filters, order_column, order_direction, page or 0, page_size)
        if not keys:
            return count, []
        rows = self.session.query(self.obj).filter(self.get_pk().in_(keys)).options(
            *self._page_loads(select_columns))
        position = {key: i for i, key in enumerate(keys)}
        name = self.get_pk_name()
        return count, sorted(rows, key=lambda row: position[getattr(row, name)])

    def _pages_by_keys(self, filters, select_columns) -> bool:
        """Whether a page can be read keys first: one primary key, and no to-many relation among the
        columns shown or filtered (FAB reads those with a query of its own around the page)."""
        if not isinstance(self.get_pk_name(), str):
            return False
        names = [*(select_columns or []), *(flt.column_name for flt in (filters.filters if filters else []))]
        return not any(is_column_dotted(name) and not (
            self.is_relation_many_to_one(get_column_root_relation(name))
            or self.is_relation_one_to_one(get_column_root_relation(name))) for name in names)

    def _page_keys(self, selected, order_column, order_direction, start, size, count) -> list:
        """The keys of the rows at positions ``start`` … ``start + size`` in the list's order, when the
        list has ``count`` rows (see :meth:`list_page`, which also checks the count)."""
        return self._keys_with(selected, order_column, order_direction, start, size, count, None)[0]

    def _keys_with(self, selected, order_column, order_direction, start, size, count, version,
                   ) -> tuple[list, int | None]:
        """The keys of the rows at positions ``start`` … ``start + size`` in the list's order, read from
        the order's index alone, and the SQL expression ``version`` read in the same statement (None
        when no row was read). A page past the middle reads as few entries from the end instead."""
        if start >= count:
            return [], None
        reverse = start > count // 2
        if reverse:
            end = min(start + size, count)
            start, size = count - end, end - start
            order_direction = "desc" if order_direction == "asc" else "asc"
        query = self.apply_order_by(selected, order_column, order_direction, aliases_mapping={},
                                    bypass_many_to_many=True, add_pk=True)
        if version is not None:
            query = query.add_columns(version.label("version"))
        rows = query.offset(start).limit(size).all()
        keys = [row[0] for row in rows]
        seen = rows[0][-1] if rows and version is not None else None
        return keys[::-1] if reverse else keys, seen

    def _page_loads(self, select_columns) -> list:
        """Loader options for a page's rows: the relations it shows, joined in the same statement (the
        columns it shows of them and of the row only, when the API names them)."""
        if select_columns is None:  # a screen's list
            return self._screen_loads()
        leaves: dict[str, list] = defaultdict(list)
        own = []
        for column in select_columns:
            if is_column_dotted(column):
                leaves[get_column_root_relation(column)].append(get_column_leaf(column))
            elif self.is_relation(column):
                leaves[column] = []
            elif column in self.list_columns:
                own.append(getattr(self.obj, column))
        loads = [load_only(*own)] if own else []
        for root, names in leaves.items():
            load = joinedload(getattr(self.obj, root))
            related = self.get_related_model(root)
            loads.append(load.load_only(*(getattr(related, leaf) for leaf in names)) if names else load)
        return loads

    def _screen_loads(self) -> list:
        """Loader options for the rows of a screen's list or a form's choices: the relations the list
        shows joined in the same statement, and no JSON column of the rows or of those relations (a
        screen lists none: an appraisal's snapshot, a cycle's last result are read only when used)."""
        loads = [defer(getattr(self.obj, c.key)) for c in _json_columns(self.obj)]
        for name in self.list_relations:
            related = self.get_related_model(name)
            loads.append(joinedload(getattr(self.obj, name)).options(
                *(defer(getattr(related, c.key)) for c in _json_columns(related))))
        return loads

    def apply_all(self, query, filters=None, order_column="", order_direction="", page=None, page_size=None,
                  select_columns=None, outer_default_load=False):
        query = super().apply_all(query, filters, order_column, order_direction, page, page_size,
                                  select_columns, outer_default_load)
        if select_columns is None:  # a screen's list or a form's choices (the APIs select columns)
            query = query.options(*self._screen_loads())
        return query

    def get_related_interface(self, col_name: str):
        """The related model's interface, made once per relation (FAB makes one per choice listed)."""
        made = self.__dict__.setdefault("_related", {})
        if col_name not in made:
            made[col_name] = super().get_related_interface(col_name)
        return made[col_name]

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


def _json_columns(model) -> list:
    """The JSON columns of a model's table (documents, not values a list shows)."""
    return [c for c in model.__table__.columns if isinstance(c.type, JSON)]


def interface(model) -> JixiaoInterface:
    return JixiaoInterface(model)
