"""Fixtures for incentive amounts: a rule set whose S01 has a bonus pool, a cycle computed with it, and
publication as the publisher does it (the pools shared out, their terms kept on the cycle)."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal, Cycle, Employee
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from app.services.incentives import allocate_cycle
from app.services.rules.files import load_dir
from tests.factories import demo_period

RULES = Path(__file__).resolve().parents[2] / "rules"
POOLED = "奖金池周期"
POOL = Decimal("10000")


def rules_with(tmp_path: Path, extra: str) -> Path:
    """A copy of the default rule set with ``extra`` appended to policy.toml."""
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    policy = target / "policy.toml"
    policy.write_text(policy.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return target


def pooled_cycle(app, tmp_path: Path, *, pool: Decimal = POOL, cap: str | None = None,
                 name: str = POOLED) -> int:
    """Load the default rule set with a pool at S01 (and ``cap`` instead of the default one) and
    compute a new cycle over the demo period with it; returns the cycle's id."""
    extra = f'[[incentive.pool]]\nstation = "S01"\namount = {pool}\n'
    path = rules_with(tmp_path, extra)
    if cap is not None:
        policy = path / "policy.toml"
        text = policy.read_text(encoding="utf-8")
        text = text.replace("cap = 10000", f"cap = {cap}").replace("capped = 10000", f"capped = {cap}")
        policy.write_text(text, encoding="utf-8")
    with app.app_context():
        load_dir(db.session, path, user="test")
        start, end = demo_period()
        cycle = create_cycle(db.session, name, start, end)
        compute_cycle(db.session, cycle)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


def publish(cycle_id: int) -> dict:
    """Publication's share of the work: stamp the cycle, share out the pools, keep their terms."""
    cycle = db.session.get(Cycle, cycle_id)
    cycle.published_at = dt.datetime.now(dt.UTC)
    cycle.published_by = "hr"
    result = allocate_cycle(db.session, cycle)
    cycle.publication = {"pools": result["pools"]}
    db.session.commit()
    db.session.expire_all()
    return result


def station_appraisals(cycle_id: int, code: str = "S01") -> list[Appraisal]:
    db.session.expire_all()
    rows = db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle_id,
                                                      Appraisal.is_current.is_(True)).order_by(Appraisal.id))
    return [a for a in rows if a.snapshot["station"]["code"] == code]


def amount(appraisal: Appraisal) -> Decimal | None:
    text = (appraisal.snapshot.get("incentive") or {}).get("amount")
    return None if text is None else Decimal(text)


def set_bonus_base(employee_no: str, value: str | None) -> None:
    employee = db.session.scalar(select(Employee).where(Employee.employee_no == employee_no))
    employee.bonus_base = None if value is None else Decimal(value)
    db.session.commit()


@pytest.fixture
def pooled(app, tmp_path):
    """A cycle over the demo period computed with a 10000-yuan pool at S01 (not yet published)."""
    return pooled_cycle(app, tmp_path)
