"""Row scoping: which records the signed-in person may see (roles in app.permissions).

One rule for every screen, API, export and download:

* HR and Admin see everything;
* a station manager sees the stations they manage;
* a supervisor sees their direct reports and themselves;
* anyone with an employee record sees their own records.

A person holding several roles sees the union. A scoped model names the columns that tie a row
to an employee and a station with ``__scope__ = ("employee column", "station column")`` (either may
be None). Anything outside the scope is simply not found: callers answer 404, never 403.

Results are published (结果公示): an appraisal of one's own is visible only once its cycle is published
and it is approved, signed or disputed (``Appraisal.subject_rule``). Until then it does not exist for the
employee, and a supervisor's or station manager's own appraisal follows the same rule: their reports and
their station do not include themselves. Every list, page, PDF, API answer, dashboard and history goes
through :func:`scope_clause`, so this one place decides.

A substitute (代理) sees, for the days they stand in, the appraisals their principals see, except their own
and the principal's own (``Scope.delegated``, not transitive); a reviewer named by HR (转交) sees the
appraisals they review (``Appraisal.reviewer_id``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from flask import abort, g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.sqla.models import User
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_login import current_user
from sqlalchemy import bindparam, exists, false, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from . import clock
from . import permissions as p
from .extensions import db
from .models import Employee, Station, Substitute


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    employee_id: int | None = None
    own_station_id: int | None = None
    supervises: bool = False
    station_ids: frozenset[int] = field(default_factory=frozenset)
    # the scopes of the people this person stands in for today (appraisals only)
    delegated: tuple[Scope, ...] = ()


NOTHING = Scope()


def principals_of(session, user_id: int | None) -> list:
    """The active users ``user_id`` stands in for today (substitute rows in their local date range, not
    revoked), by user id."""
    if user_id is None:
        return []
    today = clock.local_today()
    users = session.scalars(
        select(User).join(Substitute, Substitute.principal_id == User.id)
        .where(Substitute.substitute_id == user_id, Substitute.revoked_at.is_(None),
               Substitute.starts_on <= today, Substitute.ends_on >= today, User.active.is_(True),
               User.id != user_id)
        .order_by(User.id)
    )
    return list({u.id: u for u in users}.values())


_UNREAD = object()


# The user's employee record (joined on the key found by the user id: on the user id itself SQLite would
# rather scan the employees) and whether a substitute row naming them holds on the day ``today``.
_MINE = aliased(Employee)
IDENTITY = (
    select(Employee, exists().where(
        Substitute.substitute_id == bindparam("me"), Substitute.revoked_at.is_(None),
        Substitute.starts_on <= bindparam("today"), Substitute.ends_on >= bindparam("today"),
    ).label("standing_in"))
    .select_from(User)
    .outerjoin(Employee, Employee.id == select(_MINE.id).where(_MINE.user_id == User.id).scalar_subquery())
    .where(User.id == bindparam("me")).limit(1)
)


def employee_and_standing_in(session, user) -> tuple[Employee | None, bool]:
    """The user's employee record and whether they stand in for anybody today, in one statement (most
    people stand in for nobody: their principals need no statement of their own)."""
    row = session.execute(IDENTITY, {"me": user.id, "today": clock.local_today()}).first()
    return (row[0], bool(row[1])) if row is not None else (None, False)


def scope_for(user, principals: Iterable | None = None, employee=_UNREAD) -> Scope:
    """The scope of a FAB user (anonymous or None: nothing), with the scopes of the principals they
    stand in for today (``principals``: those users when the caller has already read them; ``employee``:
    the user's employee record or None, when the caller has already read it). Read here, the employee
    record and whether they stand in for anybody are one statement, the principals read only then."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NOTHING
    standing_in = True
    if employee is _UNREAD and principals is None and not _roles_see_everything(user):
        employee, standing_in = employee_and_standing_in(db.session, user)
    own = _own_scope(user, employee)
    if own.everything:
        return own
    if principals is None:
        principals = principals_of(db.session, user.id) if standing_in else []
    delegated = tuple(d for d in map(_own_scope, principals) if d != NOTHING)
    return replace(own, delegated=delegated) if delegated else own


def _roles_see_everything(user) -> bool:
    return any(role.name in (p.ADMIN, p.HR) for role in user.roles)


def _own_scope(user, employee=_UNREAD) -> Scope:
    roles = {role.name for role in user.roles}
    if roles & {p.ADMIN, p.HR}:
        return Scope(everything=True)
    if employee is _UNREAD:
        employee = db.session.scalar(select(Employee).where(Employee.user_id == user.id))
    if employee is None:
        return NOTHING
    stations: frozenset[int] = frozenset()
    if p.STATION_MANAGER in roles:
        stations = frozenset(
            db.session.scalars(select(Station.id).where(Station.manager_id == employee.id))
        )
    return Scope(
        employee_id=employee.id,
        own_station_id=employee.station_id,
        supervises=p.SUPERVISOR in roles,
        station_ids=stations,
    )


def current_user_or_none():
    """The signed-in FAB user of this request: browser session or API token; None if anonymous."""
    if not has_request_context():
        return None
    if current_user.is_authenticated:
        return current_user._get_current_object()
    try:
        verify_jwt_in_request(optional=True)
        return get_current_user()
    except Exception:  # noqa: BLE001 - a bad or missing token is simply nobody
        return None


def current_scope() -> Scope:
    """The scope of the current request's user, computed once per request: the scope of the caller the
    request built already (``app.web.context.current_caller`` keeps it in ``g``, its key the user's id
    and the language), else :func:`scope_for` (one statement for a person standing in for nobody)."""
    if not has_request_context():
        return NOTHING
    if "jixiao_scope" not in g:
        user = current_user_or_none()
        kept = g.get("jixiao_caller")
        if kept is not None and user is not None and kept[0][0] == user.id:
            g.jixiao_scope = kept[1].scope
        else:
            g.jixiao_scope = scope_for(user)
    return g.jixiao_scope


def scope_clause(model, scope: Scope | None = None) -> ColumnElement[bool]:
    """SQL criterion limiting ``model`` rows to ``scope`` (the current one by default)."""
    scope = scope or current_scope()
    if scope.everything:
        return true()
    own = _scope_clause(model, scope)
    if not scope.delegated or not hasattr(model, "subject_rule"):
        return own
    employee_col = getattr(model, model.__scope__[0])
    parts = [own]
    for d in scope.delegated:
        part = _scope_clause(model, d)
        if d.employee_id is not None:
            part = part & (employee_col != d.employee_id)
        if scope.employee_id is not None:
            part = part & (employee_col != scope.employee_id)
        parts.append(part)
    return or_(*parts)


def _scope_clause(model, scope: Scope) -> ColumnElement[bool]:
    """:func:`scope_clause` without the delegated scopes."""
    if scope.everything:
        return true()
    employee_attr, station_attr = model.__scope__
    employee_col = getattr(model, employee_attr) if employee_attr else None
    station_col = getattr(model, station_attr) if station_attr else None
    # A model whose rows the subject sees only under a rule of its own (published appraisals) names it.
    own_rule = model.subject_rule() if hasattr(model, "subject_rule") else None
    # Where the subject's own rows follow their rule, the reports and stations leave the person out.
    others = None
    if own_rule is not None and employee_col is not None and scope.employee_id is not None:
        others = employee_col != scope.employee_id
    parts: list[ColumnElement[bool]] = []
    if scope.employee_id is not None and employee_col is not None:
        own = employee_col == scope.employee_id
        parts.append(own if own_rule is None else own & own_rule)
        if scope.supervises:
            reports = select(Employee.id).where(Employee.supervisor_id == scope.employee_id)
            in_reports = employee_col.in_(reports.scalar_subquery())
            parts.append(in_reports if others is None else in_reports & others)
    if station_col is not None:
        if scope.station_ids:
            in_stations = station_col.in_(sorted(scope.station_ids))
            parts.append(in_stations if others is None else in_stations & others)
        if employee_col is None and scope.own_station_id is not None:
            parts.append(station_col == scope.own_station_id)
    reviewer_col = getattr(model, "reviewer_id", None)
    if reviewer_col is not None and scope.employee_id is not None and employee_col is not None:
        # the reviewer HR named for an appraisal sees it (never their own: HR refuses that)
        parts.append((reviewer_col == scope.employee_id) & (employee_col != scope.employee_id))
    return or_(*parts) if parts else false()


def get_or_404(model, ident):
    """Load one scoped row by primary key, or abort with 404 when it is missing or out of scope."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident < 2**31:  # INTEGER keys; PostgreSQL refuses larger values
        abort(404)
    row = db.session.scalar(select(model).where(model.id == ident, scope_clause(model)))
    if row is None:
        abort(404)
    return row


class ScopeFilter(BaseFilter):
    """FAB base filter applying :func:`scope_clause`; every scoped view and API lists it."""

    name = "Scope"
    arg_name = "scope"

    def apply(self, query, value):
        return query.filter(scope_clause(self.model))


# A view's ``base_filters`` line: ``base_filters = SCOPED``.
SCOPED = [["id", ScopeFilter, lambda: None]]
