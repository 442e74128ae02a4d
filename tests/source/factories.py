"""Helpers for source-data tests: small stations and people, files built from rows, row counts."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from app.extensions import db
from app.importing import import_file
from app.models import Employee, LaborCost, Segment, Station, Survey, WorkOrder

ORDER_HEADER = ["order_no", "station_code", "technician_no", "customer_type", "reported_at", "responded_at",
                "arrived_at", "completed_at", "first_time_fixed", "rework_of", "parts_cost", "labor_hours",
                "service_fee", "sla_response_hours", "parts_delay", "tags"]
SURVEY_HEADER = ["order_no", "surveyed_at", "attitude", "quality", "speed", "comment"]
COST_HEADER = ["employee_no", "month", "salary", "training_cost", "other_labor_cost"]


def csv_bytes(header, rows, encoding="utf-8") -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return io.BytesIO(out.getvalue().encode(encoding))


def order(order_no, technician_no="TA", station_code="T01", customer_type="consumer",
          reported_at="2024-05-10 08:00", **fields) -> dict:
    return {"order_no": order_no, "station_code": station_code, "technician_no": technician_no,
            "customer_type": customer_type, "reported_at": reported_at, **fields}


def make_org(session) -> dict[str, int]:
    """Stations T01, T02 and employees TA, TB (T01) and TC (T02, no data); returns ids by code."""
    t01 = Station(code="T01", name="测试一站", segment=Segment.consumer)
    t02 = Station(code="T02", name="测试二站", segment=Segment.enterprise)
    session.add_all([t01, t02])
    session.flush()
    people = {
        "TA": Employee(employee_no="TA", name="甲", station=t01, position="维修技师"),
        "TB": Employee(employee_no="TB", name="乙", station=t01, position="维修技师"),
        "TC": Employee(employee_no="TC", name="丙", station=t02, position="维修技师"),
    }
    session.add_all(people.values())
    session.commit()
    return {"T01": t01.id, "T02": t02.id, **{k: e.id for k, e in people.items()}}


def load(kind, header, rows, **kwargs):
    return import_file(db.session, kind, csv_bytes(header, rows), **kwargs)


def counts() -> dict[str, int]:
    return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
            for m in (WorkOrder, Survey, LaborCost, Employee)}
