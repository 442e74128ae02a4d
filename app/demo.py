"""The demo organisation: stations S01–S03 and fifteen people who can sign in.

Each demo person's employee number is their user name upper-cased; everyone's password is
``JIXIAO_DEMO_PASSWORD`` (default ``demo123``). Seeding refuses a database that has stations.
sup2 stands in for sup1 (代理) for two weeks from the day of seeding.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from . import clock
from . import permissions as p
from .datagen import seed_demo_data
from .extensions import db
from .models import Employee, Segment, Station, Substitute


class DemoExists(Exception):
    pass


STATIONS = [
    ("S01", "北京朝阳服务站", Segment.consumer),
    ("S02", "上海浦东服务站", Segment.enterprise),
    ("S03", "广州天河服务站", Segment.mixed),
]

# username, name, station, position, supervisor username, roles
PEOPLE = [
    ("manager1", "王建国", "S01", "站长", None, [p.STATION_MANAGER, p.SUPERVISOR]),
    ("sup1", "李明", "S01", "主管", "manager1", [p.SUPERVISOR]),
    ("sup2", "陈静", "S02", "主管", None, [p.SUPERVISOR]),
    ("emp1", "张伟", "S01", "维修技师", "sup1", [p.EMPLOYEE]),
    ("emp2", "刘洋", "S01", "维修技师", "sup1", [p.EMPLOYEE]),
    ("emp3", "赵磊", "S01", "维修技师", "sup1", [p.EMPLOYEE]),
    ("emp4", "孙丽", "S01", "维修技师", "sup1", [p.EMPLOYEE]),
    ("emp5", "周敏", "S01", "客服", "sup1", [p.EMPLOYEE]),
    ("emp6", "吴强", "S02", "维修技师", "sup2", [p.EMPLOYEE]),
    ("emp7", "郑浩", "S02", "维修技师", "sup2", [p.EMPLOYEE]),
    ("emp8", "冯雪", "S02", "维修技师", "sup2", [p.EMPLOYEE]),
    ("emp9", "何军", "S02", "维修技师", "sup2", [p.EMPLOYEE]),
    ("emp10", "高燕", "S02", "客服", "sup2", [p.EMPLOYEE]),
]
# Monthly performance-bonus base (奖金基数), yuan: technicians 1500–3000, 客服 1200–2000, more for
# supervisors and the station manager.
BONUS_BASE = {
    "manager1": "5000", "sup1": "3800", "sup2": "3500",
    "emp1": "2500", "emp2": "2200", "emp3": "1800", "emp4": "2000", "emp5": "1500",
    "emp6": "2800", "emp7": "3000", "emp8": "2400", "emp9": "1600", "emp10": "1800",
}
# Skill in [0, 1] (quality, speed, how many orders): a spread from the station's best technician to one
# who needs training, so that the demo cycle has every grade.
SKILL = {
    "manager1": 0.8, "sup1": 0.8, "sup2": 0.7,
    "emp1": 0.8, "emp2": 0.7, "emp3": 0.55, "emp4": 0.3, "emp5": 0.8,
    "emp6": 0.8, "emp7": 1.0, "emp8": 0.45, "emp9": 0.15, "emp10": 0.75,
}
# The share of orders that wait for parts: S01 keeps little stock (its SWOT weakness 配件储备不足).
PARTS_DELAY = {"S01": 0.045, "S02": 0.015, "S03": 0.03}
HR_NAME = "人力资源"
STAFF_ACCOUNTS = [("admin", "系统管理员", p.ADMIN), ("hr", HR_NAME, p.HR)]
# principal, substitute, days from the day of seeding (inclusive), reason
SUBSTITUTE = ("sup1", "sup2", 14, "李明外出培训两周，期间由陈静代为审核。")


def _user(sm, username: str, name: str, roles: list[str], password: str):
    role_objs = [sm.find_role(r) for r in roles]
    user = sm.add_user(
        username=username,
        first_name=name,
        last_name="",
        email=f"{username}@demo.jixiao.local",
        role=role_objs,
        password=password,
    )
    if not user:
        raise RuntimeError(f"could not create demo user {username}")
    return user


def seed_demo() -> str:
    """Create the demo organisation; returns a one-line summary."""
    if db.session.scalar(select(func.count()).select_from(Station)):
        raise DemoExists("The database already has stations; the demo seeds an empty database only.")
    sm = current_app.appbuilder.sm
    password = current_app.config["JIXIAO_DEMO_PASSWORD"]
    stations = {code: Station(code=code, name=name, segment=seg) for code, name, seg in STATIONS}
    db.session.add_all(stations.values())
    for username, name, role in STAFF_ACCOUNTS:
        _user(sm, username, name, [role], password)
    people: dict[str, Employee] = {}
    hired = dt.date(2021, 3, 1)
    for i, (username, name, station, position, sup, roles) in enumerate(PEOPLE):
        user = _user(sm, username, name, roles, password)
        people[username] = Employee(
            employee_no=username.upper(), name=name, station=stations[station], position=position,
            supervisor=people.get(sup) if sup else None, user_id=user.id,
            hired_on=hired + dt.timedelta(days=37 * i), bonus_base=Decimal(BONUS_BASE[username]),
        )
        db.session.add(people[username])
    db.session.flush()
    stations["S01"].manager = people["manager1"]
    principal, substitute, days, reason = SUBSTITUTE
    today = clock.local_today()
    db.session.add(Substitute(
        principal_id=people[principal].user_id, substitute_id=people[substitute].user_id,
        starts_on=today, ends_on=today + dt.timedelta(days=days - 1), reason=reason, created_by=HR_NAME,
        created_at=clock.now(),
    ))
    db.session.commit()
    summary = f"Demo seeded: {len(stations)} stations, {len(PEOPLE) + len(STAFF_ACCOUNTS)} users."
    # --- source data: three months of generated orders, surveys and costs ---
    counts = seed_demo_data(months=3, skills={username.upper(): skill for username, skill in SKILL.items()},
                            parts_delay=PARTS_DELAY)
    summary += " Data: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + "."
    return summary
