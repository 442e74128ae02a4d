"""Shared helpers of the rules tests (importable: ``from tests.rules.rules_support import …``)."""

from __future__ import annotations

from pathlib import Path

from app.rules import EmployeeFacts

TECH_S01 = EmployeeFacts("EMP1", "张伟", "维修技师", "S01", "北京朝阳服务站", "consumer")
TECH_S02 = EmployeeFacts("EMP6", "吴强", "维修技师", "S02", "上海浦东服务站", "enterprise")
TECH_S03 = EmployeeFacts("EMP11", "林一", "维修技师", "S03", "广州天河服务站", "mixed")
CS_S01 = EmployeeFacts("EMP5", "周敏", "客服", "S01", "北京朝阳服务站", "consumer")


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def cycle_with_appraisals(session, name: str = "what-if test"):
    """A past cycle over the demo data's months with three stored appraisals (total 50, grade D)."""
    from sqlalchemy import func, select

    from app.models import Employee
    from app.models.appraisal import Appraisal, Cycle
    from app.models.source import WorkOrder
    from app.services import rules as service

    done = WorkOrder.completed_at
    first, last = session.execute(select(func.min(done), func.max(done))).one()
    version = service.current_version(session)
    cycle = Cycle(name=name, start=first.date(), end=last.date(), rule_set_version_id=version.id)
    session.add(cycle)
    session.flush()
    people = session.scalars(select(Employee).where(Employee.employee_no.in_(["EMP1", "EMP6", "EMP5"]))).all()
    for person in people:
        session.add(Appraisal(cycle_id=cycle.id, employee_id=person.id, station_id=person.station_id,
                              rule_set_version_id=version.id, total=50.0,
                              grade="D", manual={"kpi_teamwork": 80}, snapshot={}, snapshot_hash="0" * 64))
    session.commit()
    return cycle
