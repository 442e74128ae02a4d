"""Who is calling a service: the workflow's actor, the row scope of the queries and the language."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from .. import permissions as p
from ..models import Employee
from ..scoping import Scope, employee_and_standing_in, principals_of, scope_for
from ..workflow import Actor, Principal
from .audit import SYSTEM


@dataclass(frozen=True)
class Caller:
    """The actor for the workflow and the row scope for the queries."""

    actor: Actor
    scope: Scope
    locale: str = "zh_CN"
    # the caller's own employee record as read for the actor (None: they have none), for a page to show
    employee: Employee | None = field(default=None, compare=False, repr=False)


SYSTEM_CALLER = Caller(Actor(None, frozenset({p.HR}), None, SYSTEM), Scope(everything=True))


def _roles(user) -> frozenset[str]:
    roles = {role.name for role in user.roles}
    if p.ADMIN in roles:
        roles.add(p.HR)
    return frozenset(roles)


def _name(user, employee: Employee | None) -> str:
    return employee.name if employee else (f"{user.first_name} {user.last_name}".strip() or user.username)


def _identity(session, user) -> tuple[int | None, str]:
    employee = session.scalar(select(Employee).where(Employee.user_id == user.id))
    return (employee.id if employee else None), _name(user, employee)


def caller_for(session, user, locale: str = "zh_CN") -> Caller:
    """The caller of a FAB user: roles (Admin acts as HR), employee record, scope, and the principals
    they stand in for today (代理: an active substitute row whose local dates hold today). The employee
    record and whether they stand in for anybody are one statement; the principals are read only then."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Caller(Actor(None, frozenset()), Scope(), locale)
    employee, standing_in = employee_and_standing_in(session, user)
    principal_users = principals_of(session, user.id) if standing_in else []
    principals = []
    for principal in principal_users:
        principal_employee, principal_name = _identity(session, principal)
        principals.append(Principal(principal.id, principal_employee, _roles(principal), principal_name))
    actor = Actor(user.id, _roles(user), employee.id if employee else None, _name(user, employee),
                  acting_for=tuple(principals))
    return Caller(actor, scope_for(user, principal_users, employee), locale, employee)
