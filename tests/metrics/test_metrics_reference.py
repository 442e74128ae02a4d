"""Every metric of every employee and station against a plain reference computation.

The reference reads the rows back as they were imported and applies the period rules of
``app.metrics.period`` one order at a time, the obvious way; ``compute_metrics`` must agree with it
on random data built around the edges: orders completed on the first and the last second of the
period and just outside it, open orders, orders without survey, response, arrival or promise,
parts costs of 0 and none, fees of 0, reworks made after the period, technicians working at another
station, an employee without any order, tags that differ only in letter case or that hold LIKE's
wildcards, a period without data.
"""

import datetime as dt
import random

import pytest
from sqlalchemy import select

from app.extensions import db
from app.metrics import CODES, compute_metrics
from app.models import Employee, LaborCost, Station, Survey, WorkOrder
from tests.factories import counted
from tests.source.factories import COST_HEADER, ORDER_HEADER, SURVEY_HEADER, load, make_org, order

WORDS = ["新技术", "增值服务", "新", "VIP", "vip", "50%_", "上门"]
VOCABULARY = ["新技术", "增值服务", "上门服务", "VIP", "Vip", "50%_", "50%x", "新技术a"]
EDGES = ["2024-04-30 23:59:59", "2024-05-01 00:00:00", "2024-05-01 00:00:01", "2024-05-31 23:59:59",
         "2024-06-01 00:00:00"]
PERIODS = [
    (dt.date(2024, 5, 1), dt.date(2024, 5, 31)),
    (dt.date(2024, 5, 31), dt.date(2024, 5, 31)),
    (dt.date(2024, 4, 1), dt.date(2024, 6, 30)),
    (dt.date(2023, 1, 1), dt.date(2023, 1, 31)),  # no data at all
]


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def random_orders(rng: random.Random, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        pick = rng.random()
        if pick < 0.25:
            completed = dt.datetime.fromisoformat(rng.choice(EDGES))
        elif pick < 0.3:
            completed = None  # open
        else:
            completed = dt.datetime(2024, 4, 25) + dt.timedelta(minutes=rng.randrange(60 * 24 * 42))
        end = completed or dt.datetime(2024, 5, 20)
        reported = end - dt.timedelta(minutes=rng.randrange(0, 60 * 30))
        responded = reported + (end - reported) * rng.random() if rng.random() < 0.8 else None
        arrived = None
        if responded is not None and rng.random() < 0.6:
            arrived = responded + (end - responded) * rng.random()
        fields = {
            "reported_at": _stamp(reported),
            "responded_at": _stamp(min(responded, end)) if responded else "",
            "arrived_at": _stamp(min(arrived, end)) if arrived else "",
            "completed_at": _stamp(completed) if completed else "",
            "first_time_fixed": rng.choice(["1", "0", ""]),
            "parts_cost": rng.choice(["", "", "0", str(rng.randrange(1, 500)), f"{rng.random() * 90:.2f}"]),
            "service_fee": rng.choice(["", "0", str(rng.randrange(50, 900))]),
            "sla_response_hours": rng.choice(["", "1", "2", "4"]),
            "parts_delay": rng.choice(["", "0", "1"]),
            "tags": ";".join(rng.sample(VOCABULARY, rng.choice([0, 0, 1, 1, 2, 3]))),
        }
        if rows and rng.random() < 0.2:
            fields["rework_of"] = rng.choice(rows)["order_no"]
        rows.append(order(f"R{i:04d}", technician_no=rng.choice(["TA", "TA", "TB", "TC"]),
                          station_code=rng.choice(["T01", "T01", "T02"]),
                          customer_type=rng.choice(["enterprise", "consumer"]), **fields))
    return rows


@pytest.fixture
def random_data(appctx):
    ids = make_org(db.session)
    nobody = Employee(employee_no="TD", name="丁", station_id=ids["T02"], position="维修技师")
    db.session.add(nobody)
    db.session.commit()
    ids["TD"] = nobody.id
    rng = random.Random(19)
    orders = random_orders(rng, 400)
    load("work-orders", ORDER_HEADER, orders)
    completed = [o for o in orders if o["completed_at"]]
    load("surveys", SURVEY_HEADER, [
        {"order_no": o["order_no"], "surveyed_at": "2024-06-10 10:00", "attitude": str(rng.randint(1, 5)),
         "quality": str(rng.randint(1, 5)), "speed": str(rng.randint(1, 5))}
        for o in completed if rng.random() < 0.4])
    load("costs", COST_HEADER, [
        {"employee_no": who, "month": month, "salary": str(rng.randrange(3000, 9000)),
         "training_cost": str(rng.randrange(0, 300)), "other_labor_cost": str(rng.randrange(0, 300))}
        for who in ("TA", "TB", "TC") for month in ("2024-04", "2024-05", "2024-06") if rng.random() < 0.8])
    return ids


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def reference_metrics(orders, survey_of, reworked, costs, days) -> dict:
    """The metrics of one employee's or station's completed orders of the period, the obvious way."""
    n = len(orders)
    surveys = [survey_of[o.id] for o in orders if o.id in survey_of]
    promised = [o for o in orders if o.customer_type == "enterprise" and o.sla_response_hours is not None
                and o.response_hours is not None]
    fees = [o.service_fee for o in orders if o.service_fee is not None]
    with_parts = [o for o in orders if o.parts_cost is not None]
    cost = sum(c.salary + c.training_cost + c.other_labor_cost for c in costs)
    return {
        "orders": float(n) if n else None,
        "satisfaction": _mean([(s.attitude + s.quality + s.speed) / 3 for s in surveys]),
        "attitude": _mean([s.attitude for s in surveys]),
        "repair_quality": _mean([s.quality for s in surveys]),
        "speed_rating": _mean([s.speed for s in surveys]),
        "survey_rate": _share(len(surveys), n),
        "first_fix_rate": _share(sum(1 for o in orders if o.first_time_fixed and o.id not in reworked), n),
        "rework_rate": _share(sum(1 for o in orders if o.id in reworked), n),
        "avg_repair_hours": _mean([o.repair_hours for o in orders if o.repair_hours is not None]),
        "avg_response_hours": _mean([o.response_hours for o in orders if o.response_hours is not None]),
        "sla_rate": _share(sum(1 for o in promised if o.response_hours <= o.sla_response_hours),
                           len(promised)),
        "parts_cost_per_order": sum(o.parts_cost for o in with_parts) / n if with_parts else None,
        "labor_cost_ratio": cost / sum(fees) if costs and sum(fees) else None,
        "parts_delay_count": float(sum(1 for o in orders if o.parts_delay)) if n else None,
        "enterprise_share": _share(sum(1 for o in orders if o.customer_type == "enterprise"), n),
        "period_days": float(days),
    }


def reference(session, start, end, employee_ids, station_ids, words):
    lower = dt.datetime.combine(start, dt.time())
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    every_order = session.scalars(select(WorkOrder)).all()
    reworked = {o.rework_of_id for o in every_order if o.rework_of_id is not None}
    orders = [o for o in every_order if o.completed_at is not None and lower <= o.completed_at < upper]
    survey_of = {s.order_id: s for s in session.scalars(select(Survey))}
    costs = [c for c in session.scalars(select(LaborCost)) if start <= c.month <= end]
    days = (end - start).days + 1
    employees = {e.id: e.station_id for e in session.scalars(select(Employee))}
    if employee_ids is not None:
        employees = {e: s for e, s in employees.items() if e in employee_ids}
        stations = set(employees.values())
    elif station_ids is not None:
        employees = {e: s for e, s in employees.items() if s in station_ids}
        stations = set(station_ids)
    else:
        stations = set(session.scalars(select(Station.id)))
    by_employee, tags = {}, {}
    for e in employees:
        mine = [o for o in orders if o.technician_id == e]
        own_costs = [c for c in costs if c.employee_id == e]
        by_employee[e] = reference_metrics(mine, survey_of, reworked, own_costs, days)
        tags[e] = {w: sum(1 for o in mine if o.tags and w in o.tags.split(";")) for w in words}
    by_station = {
        st: reference_metrics([o for o in orders if o.station_id == st], survey_of, reworked,
                              [c for c in costs if c.station_id == st], days)
        for st in stations
    }
    return by_employee, by_station, tags


def assert_same(actual: dict, expected: dict, who) -> None:
    assert set(actual) == set(CODES), who
    for code in CODES:
        if expected[code] is None:
            assert actual[code] is None, (who, code)
        else:
            assert actual[code] == pytest.approx(expected[code], rel=1e-12, abs=1e-12), (who, code)


@pytest.mark.parametrize("start,end", PERIODS)
@pytest.mark.parametrize("chosen", ["everyone", "employees", "station", "side by side"])
def test_every_metric_matches_the_reference(random_data, start, end, chosen):
    ids = random_data
    employee_ids = [ids["TA"], ids["TD"]] if chosen == "employees" else None
    station_ids = [ids["T02"]] if chosen == "station" else None
    result = compute_metrics(db.session, start, end, employee_ids=employee_ids, station_ids=station_ids,
                             tag_words=WORDS, threads=2 if chosen == "side by side" else 1)
    employees, stations, tags = reference(db.session, start, end, employee_ids, station_ids, WORDS)
    assert set(result.employees) == set(employees) and set(result.stations) == set(stations)
    for e, expected in employees.items():
        assert_same(result.employees[e], expected, e)
        assert result.tags[e] == tags[e], e
    for st, expected in stations.items():
        assert_same(result.stations[st], expected, st)
    if (start, end) == PERIODS[0] and chosen == "everyone":  # the data reaches every branch
        ta = result.employees[ids["TA"]]
        assert all(ta[code] is not None for code in CODES), ta
        assert result.employees[ids["TD"]]["orders"] is None
        assert 0 < result.tags[ids["TA"]]["VIP"] and result.tags[ids["TA"]]["上门"] == 0


def test_letter_case_and_wildcards_are_matched_as_written(appctx):
    ids = make_org(db.session)
    load("work-orders", ORDER_HEADER, [
        order("V1", reported_at="2024-05-02 08:00", completed_at="2024-05-02 10:00", tags="VIP;50%x"),
        order("V2", reported_at="2024-05-03 08:00", completed_at="2024-05-03 10:00", tags="vip"),
        order("V3", reported_at="2024-05-04 08:00", completed_at="2024-05-04 10:00", tags="50%_;a_b"),
    ])
    got = compute_metrics(db.session, dt.date(2024, 5, 1), dt.date(2024, 5, 31), employee_ids=[ids["TA"]],
                          tag_words=["VIP", "vip", "Vip", "50%_", "50%", "a_b", "axb"]).tags[ids["TA"]]
    assert got == {"VIP": 1, "vip": 1, "Vip": 0, "50%_": 1, "50%": 0, "a_b": 1, "axb": 0}


def test_a_fixed_number_of_statements_whatever_the_tags(appctx):
    make_org(db.session)
    with counted(appctx) as statements:
        for words in ([], ["新技术"], ["新技术", "增值服务", "上门服务", "VIP"]):
            statements.clear()
            compute_metrics(db.session, dt.date(2024, 5, 1), dt.date(2024, 5, 31), tag_words=words)
            # people, stations, then one pass each: orders (with every tag), surveys, reworks, costs
            assert len(statements) == 6, words
