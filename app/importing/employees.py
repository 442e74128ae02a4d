"""The employees file: the organisation's people, their supervisors and, on request, accounts.

An employees file is small (thousands of rows), so it is checked whole in memory: supervisors may
appear later in the file, and a supervisor chain must not loop. A ``username`` creates a FAB user
with the role the position implies and a random password, returned once in ``Job.accounts`` and
never stored in clear. An import never attaches a person to an account that exists already (user
names compare without regard to case): the only existing account a row may name is the one its
employee is bound to.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import current_app
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from .. import permissions as p
from ..models import POSITIONS, Employee, Station
from . import cells as c
from .base import Column, Job, Kind

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
ROLES_BY_POSITION = {
    "站长": [p.STATION_MANAGER, p.SUPERVISOR],
    "主管": [p.SUPERVISOR],
}
DEFAULT_ROLES = [p.EMPLOYEE]


class Employees(Kind):
    key = "employees"
    columns = (
        Column("employee_no", c.text(32), True),
        Column("name", c.text(100), True),
        Column("station_code", c.text(32), True),
        Column("position", c.text(32)),
        Column("supervisor_no", c.text(32)),
        Column("username", c.text(64)),
        Column("hired_on", c.date),
        Column("bonus_base", c.money),
    )

    def start(self, job: Job) -> None:
        self.stations = {s.code: s for s in job.session.scalars(select(Station))}
        self.rows: list[tuple[int, dict[str, Any]]] = []

    def check(self, job: Job, row: int, v: dict[str, Any]) -> bool:
        ok = True
        if v["station_code"] is not None and v["station_code"] not in self.stations:
            job.errors.add(row, "station_code", _("Unknown station “%(code)s”.", code=v["station_code"]))
            ok = False
        v["position"] = v["position"] or POSITIONS[0]
        if v["position"] not in POSITIONS:
            job.errors.add(row, "position", _("Unknown position “%(value)s”; expected one of %(list)s.",
                                              value=v["position"], list="、".join(POSITIONS)))
            ok = False
        if v["supervisor_no"] and v["supervisor_no"] == v["employee_no"]:
            job.errors.add(row, "supervisor_no", _("An employee cannot be their own supervisor."))
            ok = False
        if v["username"] and not USERNAME.fullmatch(v["username"]):
            job.errors.add(row, "username", _("A user name may hold letters, digits and _ . @ - only."))
            ok = False
        return ok

    def write(self, job: Job, rows) -> None:
        self.rows.extend(rows)

    def finish(self, job: Job) -> None:
        errors = job.errors
        session = job.session
        in_file: dict[str, int] = {}
        rows = []
        for row, v in self.rows:
            if v["employee_no"] in in_file:
                errors.add(row, "employee_no", _("Duplicate: the same key is in row %(row)d of this file.",
                                                 row=in_file[v["employee_no"]]))
                continue
            in_file[v["employee_no"]] = row
            rows.append((row, v))
        existing = {e.employee_no: e for e in session.scalars(
            select(Employee).where(Employee.employee_no.in_(list(in_file))))} if in_file else {}
        # supervisor_no of everybody after this import, to find chains that loop
        ids = dict(session.execute(select(Employee.id, Employee.employee_no)).all())
        boss: dict[str, str | None] = {
            no: ids.get(sup_id)
            for no, sup_id in session.execute(select(Employee.employee_no, Employee.supervisor_id))
        }
        usernames: dict[str, int] = {}
        for row, v in rows:
            employee = existing.get(v["employee_no"])
            if employee is not None and not job.update:
                errors.add(row, "employee_no", _(
                    "“%(key)s” was imported before; import with the update option to change it.",
                    key=v["employee_no"]))
            sup = v["supervisor_no"]
            if sup and sup not in in_file and sup not in boss:
                errors.add(row, "supervisor_no", _("Unknown employee “%(code)s”.", code=sup))
            boss[v["employee_no"]] = sup or None
            name = (v["username"] or "").lower()
            if name:
                if name in usernames:
                    errors.add(row, "username", _("Duplicate: the same key is in row %(row)d of this file.",
                                                  row=usernames[name]))
                usernames[name] = row
        for row, v in rows:
            seen, current = {v["employee_no"]}, boss.get(v["employee_no"])
            while current:
                if current in seen:
                    errors.add(row, "supervisor_no", _("The supervisor chain of this employee loops."))
                    break
                seen.add(current)
                current = boss.get(current)
        users = self._users(job, rows, existing)
        if errors:
            return
        self._apply(job, rows, existing, users)

    def _users(self, job: Job, rows, existing) -> dict[str, User | None]:
        """username -> the employee's own account (None: to be created). A name taken by any other
        account, whatever its case, is an error of that row."""
        names = sorted({v["username"].lower() for _row, v in rows if v["username"]})
        if not names:
            return {}
        found = {u.username.lower(): u for u in job.session.scalars(
            select(User).where(func.lower(User.username).in_(names)))}
        owners = dict(job.session.execute(
            select(Employee.user_id, Employee.employee_no).where(Employee.user_id.is_not(None))).all())
        result: dict[str, User | None] = {}
        for row, v in rows:
            name = v["username"]
            if not name:
                continue
            user = found.get(name.lower())
            employee = existing.get(v["employee_no"])
            own_id = employee.user_id if employee is not None else None
            if user is not None and user.id != own_id:
                owner = owners.get(user.id)
                if owner:
                    job.errors.add(row, "username", _("The user “%(name)s” belongs to employee %(no)s.",
                                                      name=user.username, no=owner))
                else:
                    job.errors.add(row, "username", _(
                        "The user name “%(name)s” is taken by an existing account; an import creates new "
                        "accounts only.", name=user.username))
            elif user is None and own_id is not None:
                job.errors.add(row, "username", _("This employee already has another user account."))
            result[name] = user
        return result

    def _apply(self, job: Job, rows, existing, users) -> None:
        session = job.session
        people: dict[str, Employee] = {}
        for _row, v in rows:
            employee = existing.get(v["employee_no"])
            if employee is None:
                employee = Employee(employee_no=v["employee_no"])
                session.add(employee)
                job.inserted += 1
            else:
                job.updated += 1
            station = self.stations[v["station_code"]]
            employee.name = v["name"]
            employee.station = station
            employee.position = v["position"]
            employee.hired_on = v["hired_on"]
            employee.bonus_base = v["bonus_base"]
            people[v["employee_no"]] = employee
        session.flush()
        sup_nos = {v["supervisor_no"] for _r, v in rows if v["supervisor_no"]} - set(people)
        others = {e.employee_no: e for e in session.scalars(
            select(Employee).where(Employee.employee_no.in_(sorted(sup_nos))))} if sup_nos else {}
        for _row, v in rows:
            sup = v["supervisor_no"]
            people[v["employee_no"]].supervisor = (people.get(sup) or others.get(sup)) if sup else None
            if v["position"] == "站长" and self.stations[v["station_code"]].manager_id is None:
                self.stations[v["station_code"]].manager = people[v["employee_no"]]
        roles = {r.name: r for r in session.scalars(select(Role))}
        for _row, v in rows:
            name = v["username"]
            if not name:
                continue
            user = users.get(name)
            if user is None:
                user = self._new_user(job, name, v, roles)
            people[v["employee_no"]].user_id = user.id
        session.flush()

    @staticmethod
    def _new_user(job: Job, username: str, v: dict[str, Any], roles: dict[str, Role]) -> User:
        password = secrets.token_urlsafe(9)
        config = current_app.config
        user = User(
            username=username, first_name=v["name"], last_name="", email=f"{username}@users.jixiao.invalid",
            active=True,
            roles=[roles[r] for r in ROLES_BY_POSITION.get(v["position"], DEFAULT_ROLES) if r in roles],
            password=generate_password_hash(
                password, method=config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
                salt_length=config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16)),
        )
        job.session.add(user)
        job.session.flush()
        job.accounts.append({"employee_no": v["employee_no"], "username": username, "password": password})
        return user
