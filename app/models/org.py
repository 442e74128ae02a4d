"""The organisation: stations and employees."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Date, Enum, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model


class Segment(str, enum.Enum):  # noqa: UP042 - str() and the stored value stay the code
    """A station's primary customer segment; it selects template weights (rule sets)."""

    enterprise = "enterprise"
    consumer = "consumer"
    mixed = "mixed"


POSITIONS = ("维修技师", "客服", "主管", "站长")


class Station(Model):
    __tablename__ = "station"
    __scope__ = (None, "id")  # see app.scoping

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    segment: Mapped[Segment] = mapped_column(
        Enum(Segment, native_enum=False, length=16, validate_strings=True),
        nullable=False,
        default=Segment.mixed,
    )
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", use_alter=True, name="fk_station_manager"), nullable=True
    )
    manager: Mapped[Employee | None] = relationship(foreign_keys=[manager_id], post_update=True)

    def __repr__(self) -> str:
        return f"{self.code} {self.name}"


class Employee(Model):
    __tablename__ = "employee"
    __scope__ = ("id", "station_id")  # see app.scoping

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_no: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), nullable=False, index=True)
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    position: Mapped[str] = mapped_column(String(32), nullable=False, default="维修技师")
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id"), nullable=True, index=True
    )
    supervisor: Mapped[Employee | None] = relationship(remote_side=[id])
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id"), nullable=True, unique=True
    )
    user: Mapped[User | None] = relationship(User)
    hired_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # Monthly performance-bonus base in yuan (绩效奖金基数); the incentive formula may use it.
    bonus_base: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)

    def __repr__(self) -> str:
        return f"{self.employee_no} {self.name}"
