"""Work orders, surveys and labour costs: the large files. Each chunk of valid rows is checked
against the database with one query per lookup and written with one executemany, inside the one
transaction of the import. The import's own earlier rows are told apart from older data by their
keys (above ``Job.max_id``), so memory does not grow with the file."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update

from ..models import Employee, LaborCost, Station, Survey, WorkOrder
from . import cells as c
from .base import Column, Job, Kind, bulk_insert, in_chunk_duplicates

ORDER = WorkOrder.__table__
SURVEY = Survey.__table__
COST = LaborCost.__table__


def _stations(job: Job) -> dict[str, int]:
    return dict(job.conn.execute(select(Station.code, Station.id)).all())


def _employees(job: Job) -> dict[str, tuple[int, int]]:
    rows = job.conn.execute(select(Employee.employee_no, Employee.id, Employee.station_id))
    return {no: (id_, station) for no, id_, station in rows}


def _existing_message(key: str) -> str:
    return _("“%(key)s” was imported before; import with the update option to change it.", key=key)


def _earlier_message(key: str) -> str:
    return _("Duplicate: “%(key)s” is in an earlier row of this file.", key=key)


class WorkOrders(Kind):
    key = "work-orders"
    columns = (
        Column("order_no", c.text(64), True),
        Column("station_code", c.text(32), True),
        Column("technician_no", c.text(32), True),
        Column("customer_type", c.customer_type, True),
        Column("reported_at", c.timestamp, True),
        Column("responded_at", c.timestamp),
        Column("arrived_at", c.timestamp),
        Column("completed_at", c.timestamp),
        Column("first_time_fixed", c.flag),
        Column("rework_of", c.text(64)),
        Column("parts_cost", c.number),
        Column("labor_hours", c.number),
        Column("service_fee", c.number),
        Column("sla_response_hours", c.number),
        Column("parts_delay", c.flag),
        Column("tags", c.tags),
    )

    def start(self, job: Job) -> None:
        self.stations = _stations(job)
        self.employees = _employees(job)
        self.floor = job.max_id(ORDER)
        self.pending: dict[str, list[int]] = {}  # rework_of naming an order not seen yet -> rows
        self.updated_ids: list[int] = []

    def check(self, job: Job, row: int, v: dict[str, Any]) -> bool:
        ok = True
        add = job.errors.add
        station = self.stations.get(v["station_code"])
        if station is None and v["station_code"] is not None:
            add(row, "station_code", _("Unknown station “%(code)s”.", code=v["station_code"]))
            ok = False
        technician = self.employees.get(v["technician_no"])
        if technician is None and v["technician_no"] is not None:
            add(row, "technician_no", _("Unknown employee “%(code)s”.", code=v["technician_no"]))
            ok = False
        reported, responded, arrived, completed = (
            v["reported_at"], v["responded_at"], v["arrived_at"], v["completed_at"])
        for name, t in (("responded_at", responded), ("arrived_at", arrived), ("completed_at", completed)):
            if t is not None and reported is not None and t < reported:
                add(row, name, _("%(column)s is before reported_at.", column=name))
                ok = False
        begun, begun_name = (arrived, "arrived_at") if arrived is not None else (responded, "responded_at")
        if ok and completed is not None and begun is not None and completed < begun:
            add(row, "completed_at", _("completed_at is before %(column)s.", column=begun_name))
            ok = False
        if v["rework_of"] is not None and v["rework_of"] == v["order_no"]:
            add(row, "rework_of", _("An order cannot be a rework of itself."))
            ok = False
        if not ok or station is None or technician is None or reported is None:
            return False
        v["station_id"] = station
        v["technician_id"] = technician[0]
        v["rework_of_id"] = None  # resolved in finish(), once every order of the file is in
        v["response_hours"] = job.hours(reported, responded) if responded is not None else None
        v["repair_hours"] = job.hours(begun,
                                      completed) if completed is not None and begun is not None else None
        return True

    def write(self, job: Job, rows) -> None:
        rows = in_chunk_duplicates(job, rows, lambda v: v["order_no"], "order_no")
        keys = [v["order_no"] for _row, v in rows]
        existing = dict(job.conn.execute(
            select(ORDER.c.order_no, ORDER.c.id).where(ORDER.c.order_no.in_(keys))).all())
        inserts, updates = [], []
        for row, v in rows:
            id_ = existing.get(v["order_no"])
            if id_ is None:
                inserts.append(v)
            elif id_ > self.floor:
                job.errors.add(row, "order_no", _earlier_message(v["order_no"]))
            elif job.update:
                updates.append({**v, "b_id": id_})
            else:
                job.errors.add(row, "order_no", _existing_message(v["order_no"]))
        self._note_references(job, rows, set(keys))
        # Rows are written even once the file is known to be refused (the transaction is rolled
        # back): later chunks then still find this file's earlier rows, so duplicates and
        # references are reported correctly.
        bulk_insert(job, ORDER, inserts)
        if updates:
            job.conn.execute(update(ORDER).where(ORDER.c.id == bindparam("b_id")), updates)
            job.updated += len(updates)
            self._sync_surveys(job, [u["b_id"] for u in updates])

    def _note_references(self, job: Job, rows, keys: set[str]) -> None:
        wanted = {v["rework_of"] for _row, v in rows if v["rework_of"]} - keys
        if not wanted:
            return
        known = set(job.conn.scalars(select(ORDER.c.order_no).where(ORDER.c.order_no.in_(sorted(wanted)))))
        for row, v in rows:
            ref = v["rework_of"]
            if ref and ref not in known and ref not in keys:
                self.pending.setdefault(ref, []).append(row)

    @staticmethod
    def _sync_surveys(job: Job, order_ids: list[int]) -> None:
        """A re-imported order may change technician, station or completion: its survey follows."""
        def of_order(column):
            return select(column).where(ORDER.c.id == SURVEY.c.order_id).scalar_subquery()

        job.conn.execute(
            update(SURVEY).where(SURVEY.c.order_id.in_(order_ids)).values(
                technician_id=of_order(ORDER.c.technician_id),
                station_id=of_order(ORDER.c.station_id),
                order_completed_at=of_order(ORDER.c.completed_at),
            )
        )

    def finish(self, job: Job) -> None:
        if self.pending:
            codes = sorted(self.pending)
            found: set[str] = set()
            for i in range(0, len(codes), 5000):
                found.update(job.conn.scalars(
                    select(ORDER.c.order_no).where(ORDER.c.order_no.in_(codes[i:i + 5000]))))
            for code in codes:
                if code not in found:
                    for row in self.pending[code][:20]:
                        job.errors.add(row, "rework_of", _("Unknown order “%(code)s”.", code=code))
        if job.errors:
            return
        original = ORDER.alias("original")
        job.conn.execute(
            update(ORDER)
            .where(ORDER.c.rework_of.is_not(None), ORDER.c.rework_of_id.is_(None))
            .values(rework_of_id=select(original.c.id)
                    .where(original.c.order_no == ORDER.c.rework_of).scalar_subquery())
        )


class Surveys(Kind):
    key = "surveys"
    columns = (
        Column("order_no", c.text(64), True),
        Column("surveyed_at", c.timestamp, True),
        Column("attitude", c.score, True),
        Column("quality", c.score, True),
        Column("speed", c.score, True),
        Column("comment", c.text(2000)),
    )

    def start(self, job: Job) -> None:
        self.floor = job.max_id(SURVEY)

    def write(self, job: Job, rows) -> None:
        rows = in_chunk_duplicates(job, rows, lambda v: v["order_no"], "order_no")
        keys = [v["order_no"] for _row, v in rows]
        orders = {
            r.order_no: r for r in job.conn.execute(
                select(ORDER.c.order_no, ORDER.c.id, ORDER.c.technician_id, ORDER.c.station_id,
                       ORDER.c.reported_at, ORDER.c.completed_at).where(ORDER.c.order_no.in_(keys)))
        }
        existing = dict(job.conn.execute(
            select(SURVEY.c.order_id, SURVEY.c.id).where(
                SURVEY.c.order_id.in_([o.id for o in orders.values()]))).all())
        inserts, updates = [], []
        for row, v in rows:
            order = orders.get(v["order_no"])
            if order is None:
                job.errors.add(row, "order_no", _("Unknown order “%(code)s”.", code=v["order_no"]))
                continue
            if v["surveyed_at"] < order.reported_at:
                job.errors.add(row, "surveyed_at", _("surveyed_at is before the order was reported."))
                continue
            values = {
                **v, "order_id": order.id, "technician_id": order.technician_id,
                "station_id": order.station_id, "order_completed_at": order.completed_at,
            }
            id_ = existing.get(order.id)
            if id_ is None:
                inserts.append(values)
            elif id_ > self.floor:
                job.errors.add(row, "order_no", _earlier_message(v["order_no"]))
            elif job.update:
                updates.append({**values, "b_id": id_})
            else:
                job.errors.add(row, "order_no", _existing_message(v["order_no"]))
        bulk_insert(job, SURVEY, inserts)
        if updates:
            job.conn.execute(update(SURVEY).where(SURVEY.c.id == bindparam("b_id")), updates)
            job.updated += len(updates)


class LabourCosts(Kind):
    key = "costs"
    columns = (
        Column("employee_no", c.text(32), True),
        Column("month", c.month, True),
        Column("salary", c.number, True),
        Column("training_cost", c.number),
        Column("other_labor_cost", c.number),
    )

    def start(self, job: Job) -> None:
        self.employees = _employees(job)
        self.floor = job.max_id(COST)

    def check(self, job: Job, row: int, v: dict[str, Any]) -> bool:
        employee = self.employees.get(v["employee_no"])
        if employee is None:
            if v["employee_no"] is not None:
                job.errors.add(row, "employee_no", _("Unknown employee “%(code)s”.", code=v["employee_no"]))
            return False
        v["employee_id"], v["station_id"] = employee
        v["training_cost"] = v["training_cost"] or 0.0
        v["other_labor_cost"] = v["other_labor_cost"] or 0.0
        return True

    def write(self, job: Job, rows) -> None:
        rows = in_chunk_duplicates(job, rows, lambda v: (v["employee_id"], v["month"]), "month")
        pairs = sorted({(v["employee_id"], v["month"]) for _row, v in rows})
        existing: dict[tuple, int] = {}
        for i in range(0, len(pairs), 1000):
            part = pairs[i:i + 1000]
            query = select(COST.c.employee_id, COST.c.month, COST.c.id).where(
                COST.c.employee_id.in_({p[0] for p in part}), COST.c.month.in_({p[1] for p in part}))
            existing.update({(e, m): id_ for e, m, id_ in job.conn.execute(query)})
        inserts, updates = [], []
        for row, v in rows:
            id_ = existing.get((v["employee_id"], v["month"]))
            label = f"{v['employee_no']} {v['month']:%Y-%m}"
            if id_ is None:
                inserts.append(v)
            elif id_ > self.floor:
                job.errors.add(row, "month", _earlier_message(label))
            elif job.update:
                updates.append({**v, "b_id": id_})
            else:
                job.errors.add(row, "month", _existing_message(label))
        bulk_insert(job, COST, inserts)
        if updates:
            job.conn.execute(update(COST).where(COST.c.id == bindparam("b_id")), updates)
            job.updated += len(updates)

