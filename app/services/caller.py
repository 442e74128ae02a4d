"""Who is calling a service: the workflow's actor, the row scope of the queries and the language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import permissions as p
from ..models import Employee
from ..scoping import Scope, scope_for
from ..workflow import Actor
from .audit import SYSTEM


@dataclass(frozen=True)
class Caller:
    """The actor for the workflow and the row scope for the queries."""

    actor: Actor
    scope: Scope
    locale: str = "zh_CN"


SYSTEM_CALLER = Caller(Actor(None, frozenset({p.HR}), None, SYSTEM), Scope(everything=True))


def caller_for(session, user, locale: str = "zh_CN") -> Caller:
    """The caller of a FAB user: roles (Admin acts as HR), employee record, scope."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Caller(Actor(None, frozenset()), Scope(), locale)
    roles = {role.name for role in user.roles}
    if p.ADMIN in roles:
        roles.add(p.HR)
    employee = session.scalar(select(Employee).where(Employee.user_id == user.id))
    name = employee.name if employee else (f"{user.first_name} {user.last_name}".strip() or user.username)
    actor = Actor(user.id, frozenset(roles), employee.id if employee else None, name)
    return Caller(actor, scope_for(user), locale)
