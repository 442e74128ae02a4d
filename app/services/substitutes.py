"""Substitutes (代理): a supervisor or station manager names somebody who acts for them over a range of
local dates; HR may name one for anybody. The substitute acts in their own name, recorded "for" the
principal (``app/workflow`` keeps the rules: never on their own appraisal, never two steps)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update
from sqlalchemy.orm import aliased

from .. import clock
from .. import permissions as p
from ..models import Employee, Substitute
from ..workflow import Refusal
from ..workflow import check_comment as _check_comment
from .audit import now
from .caller import Caller
from .errors import Kind, NotFound, ServiceError

# The longest substitution, in days (both ends counted).
MAX_DAYS = 92


class SubstituteInvalid(ServiceError):
    """The substitution cannot be stored as given (HTTP 422); ``errors`` maps a field to its message."""

    kind = Kind.INVALID
    default_message = _l("Please correct the substitute.")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors=errors)
        self.args = ("; ".join(f"{k}: {v}" for k, v in errors.items()),)
        self.errors = errors


class NotYours(ServiceError):
    """Somebody else's substitute (HTTP 403)."""

    kind = Kind.REFUSED
    default_message = _l("Supervisors and station managers name their own substitutes; HR names anybody's.")


@dataclass(frozen=True)
class SubstituteItem:
    """One substitution for a list: who stands in for whom, when, and whether it holds today."""

    id: int
    principal_user_id: int
    principal: str
    substitute_user_id: int
    substitute: str
    starts_on: dt.date
    ends_on: dt.date
    reason: str | None
    created_by: str
    revoked: bool
    active: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "principal_user_id": self.principal_user_id, "principal": self.principal,
                "substitute_user_id": self.substitute_user_id, "substitute": self.substitute,
                "starts_on": self.starts_on.isoformat(), "ends_on": self.ends_on.isoformat(),
                "reason": self.reason, "created_by": self.created_by, "revoked": self.revoked,
                "active": self.active}


def _is_hr(caller: Caller) -> bool:
    return p.HR in caller.actor.roles


def _may_name(caller: Caller) -> bool:
    return _is_hr(caller) or bool({p.SUPERVISOR, p.STATION_MANAGER} & caller.actor.roles)


def _date(value, field: str, errors: dict[str, str]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        errors[field] = _("Give a date as YYYY-MM-DD.")
        return None


def _user_id(value) -> int | None:
    try:
        ident = int(value)
    except (TypeError, ValueError):
        return None
    return ident if 0 < ident < 2**31 else None


def create(session, caller: Caller, principal_user_id, substitute_user_id, starts_on, ends_on,
           reason: str | None = None) -> SubstituteItem:
    """Name ``substitute_user_id`` to act for ``principal_user_id`` from ``starts_on`` to ``ends_on``
    (local dates, both included, at most :data:`MAX_DAYS` days). One transaction."""
    try:
        if caller.actor.user_id is None or not _may_name(caller):
            raise NotYours()
        errors: dict[str, str] = {}
        principal_id, substitute_id = _user_id(principal_user_id), _user_id(substitute_user_id)
        if principal_id is None and not _is_hr(caller):
            principal_id = caller.actor.user_id
        if principal_id != caller.actor.user_id and not _is_hr(caller):
            raise NotYours()
        users = {u.id: u for u in session.scalars(
            select(User).where(User.id.in_([i for i in (principal_id, substitute_id) if i is not None])))}
        if principal_id not in users:
            errors["principal_user_id"] = _("Choose whom the substitute acts for.")
        if substitute_id not in users or not users[substitute_id].active:
            errors["substitute_user_id"] = _("Choose an active user as the substitute.")
        elif substitute_id == principal_id:
            errors["substitute_user_id"] = _("Nobody stands in for themselves.")
        first, last = _date(starts_on, "starts_on", errors), _date(ends_on, "ends_on", errors)
        if first and last:
            if last < first:
                errors["ends_on"] = _("The last day is before the first.")
            elif (last - first).days + 1 > MAX_DAYS:
                errors["ends_on"] = _("A substitute stands in for at most %(n)d days.", n=MAX_DAYS)
            elif last < clock.local_today():
                errors["ends_on"] = _("The last day is already past.")
        try:
            _check_comment(reason)
        except Refusal as exc:
            errors["reason"] = exc.reason(caller.locale)
        if errors:
            raise SubstituteInvalid(errors)
        ident = session.execute(insert(Substitute).returning(Substitute.id), [{
            "principal_id": principal_id, "substitute_id": substitute_id, "starts_on": first, "ends_on": last,
            "reason": (reason or "").strip() or None,
            "created_by": caller.actor.name or str(caller.actor.user_id), "created_at": now()}]).scalar_one()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return _items(session, Substitute.id == ident)[0]


def revoke(session, caller: Caller, ident) -> SubstituteItem:
    """End a substitution now (HR, or its principal); NotFound for anybody else's."""
    try:
        row = _visible(session, caller, ident, mine_only=True)
        if row.revoked_at is None:
            session.execute(update(Substitute).where(Substitute.id == row.id, Substitute.revoked_at.is_(None))
                            .values(revoked_at=now()).execution_options(synchronize_session=False))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return _items(session, Substitute.id == row.id)[0]


def _visible(session, caller: Caller, ident, *, mine_only: bool = False) -> Substitute:
    pk = _user_id(ident)
    row = session.get(Substitute, pk) if pk is not None else None
    if row is None or caller.actor.user_id is None:
        raise NotFound()
    mine = {row.principal_id} if mine_only else {row.principal_id, row.substitute_id}
    if not _is_hr(caller) and caller.actor.user_id not in mine:
        raise NotFound()
    return row


def list_for(session, caller: Caller) -> list[SubstituteItem]:
    """The substitutions the caller names and the ones they stand in for (HR: everybody's), newest first."""
    if caller.actor.user_id is None:
        return []
    if _is_hr(caller):
        return _items(session, None)
    me = caller.actor.user_id
    return _items(session, (Substitute.principal_id == me) | (Substitute.substitute_id == me))


def _items(session, where) -> list[SubstituteItem]:
    principal, substitute = aliased(User), aliased(User)
    principal_emp, substitute_emp = aliased(Employee), aliased(Employee)
    query = (
        select(Substitute, principal, substitute, principal_emp.name, substitute_emp.name)
        .join(principal, principal.id == Substitute.principal_id)
        .join(substitute, substitute.id == Substitute.substitute_id)
        .outerjoin(principal_emp, principal_emp.user_id == principal.id)
        .outerjoin(substitute_emp, substitute_emp.user_id == substitute.id)
        .order_by(Substitute.id.desc())
    )
    if where is not None:
        query = query.where(where)
    today = clock.local_today()
    out = []
    for row, pu, su, pname, sname in session.execute(query):
        out.append(SubstituteItem(
            row.id, pu.id, pname or pu.username, su.id, sname or su.username, row.starts_on, row.ends_on,
            row.reason, row.created_by, row.revoked_at is not None,
            row.revoked_at is None and row.starts_on <= today <= row.ends_on and bool(su.active)))
    return out


def active_substitutes(session, principal_user_ids: Iterable[int], on: dt.date | None = None
                       ) -> dict[int, list[int]]:
    """Principal user id → the user ids of their active substitutes on the local date ``on`` (default:
    today), each list in user id order; principals without one are left out."""
    wanted = sorted({i for i in principal_user_ids if i is not None})
    if not wanted:
        return {}
    on = on or clock.local_today()
    out: dict[int, list[int]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Substitute.principal_id, Substitute.substitute_id)
            .join(User, User.id == Substitute.substitute_id)
            .where(Substitute.principal_id.in_(wanted[start:start + 500]), Substitute.revoked_at.is_(None),
                   Substitute.starts_on <= on, Substitute.ends_on >= on, User.active.is_(True))
            .order_by(Substitute.principal_id, Substitute.substitute_id)
        )
        for principal_id, substitute_id in rows:
            if substitute_id not in out.setdefault(principal_id, []):
                out[principal_id].append(substitute_id)
    return out
