"""Every built-in metric on a small hand-made data set, the expected values worked out by hand.

Period: May 2024 (2024-05-01 – 2024-05-31, local wall time). Stations T01, T02; technicians TA and
TB at T01, TC at T02 with no data. The rows, and what they contribute:

TA's orders (technician TA):
  O1 T01 enterprise  reported 04-30 22:00, responded 23:00 (1 h), arrived 23:30, completed 05-01 00:00
     (exactly the first instant of the period: counts)  ftf 1, SLA 2 h (met), parts 100, fee 500,
     tags 新技术;增值服务, survey 5/4/3 (mean 4), repair 0.5 h
  O2 T01 consumer    reported 05-10 08:00, responded 10:00 (2 h), no arrival, completed 14:00 (repair
     4 h from the response)  ftf 0, parts empty, fee 300, parts_delay 1, tags 新技术; reworked by B2
  O3 T01 enterprise  reported 05-31 20:00, responded 23:00 (3 h), arrived 23:10, completed 05-31 23:59
     (last minute of the period: counts)  ftf 1, SLA 2 h (missed), parts 50, fee 200,
     survey 1/3/5 (mean 3), repair 49 min; reworked by O6, created in June, after the period
  O4 T01 consumer    completed 06-01 00:00: after the period, left out (its survey too)
  O5 T01 consumer    open (no completed_at): counts nowhere
  O7 T01 enterprise  no promise, no response, no arrival, completed 05-15 12:00, ftf empty (= 0),
     parts 0, fee 100
  O8 T01 consumer    completed 04-30 23:59: before the period, left out (its survey too)
  O9 T02 consumer    (TA working at another station) reported 05-12 08:00, responded 09:00 (1 h),
     arrived 09:30, completed 11:30 (repair 2 h), ftf 1, fee 100
TB's orders:
  B1 T01 consumer    reported 05-05 08:00, responded 08:30 (0.5 h), completed 10:30 (repair 2 h),
     ftf 1, parts 30, fee 400
  B2 T01 consumer    rework of O2: reported 05-24 08:00, responded 09:00 (1 h), arrived 10:00,
     completed 05-25 10:00 (repair 24 h), ftf 1, no parts, no fee
  O6 T01 consumer    rework of O3: reported 06-05, completed 06-06 (outside the period)
Labour costs: TA 2024-04 (outside), 2024-05: 500 + 50 + 50 = 600 (inside), 2024-06 (outside).
"""

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.metrics import CODES, compute_metrics
from app.models import Employee
from tests.source.factories import COST_HEADER, ORDER_HEADER, SURVEY_HEADER, load, make_org, order

MAY = (dt.date(2024, 5, 1), dt.date(2024, 5, 31))

ORDERS = [
    order("O1", customer_type="enterprise", reported_at="2024-04-30 22:00", responded_at="2024-04-30 23:00",
          arrived_at="2024-04-30 23:30", completed_at="2024-05-01 00:00", first_time_fixed="1",
          sla_response_hours="2", parts_cost="100", service_fee="500", tags="新技术;增值服务"),
    order("O2", reported_at="2024-05-10 08:00", responded_at="2024-05-10 10:00",
          completed_at="2024-05-10 14:00", first_time_fixed="0", service_fee="300", parts_delay="1",
          tags="新技术"),
    order("O3", customer_type="enterprise", reported_at="2024-05-31 20:00", responded_at="2024-05-31 23:00",
          arrived_at="2024-05-31 23:10", completed_at="2024-05-31 23:59", first_time_fixed="1",
          sla_response_hours="2", parts_cost="50", service_fee="200"),
    order("O4", reported_at="2024-05-20 08:00", responded_at="2024-05-20 09:00",
          completed_at="2024-06-01 00:00",
          first_time_fixed="1", service_fee="999", parts_cost="999"),
    order("O5", reported_at="2024-05-15 08:00", responded_at="2024-05-15 09:00"),
    order("O7", customer_type="enterprise", reported_at="2024-05-15 08:00", completed_at="2024-05-15 12:00",
          parts_cost="0", service_fee="100"),
    order("O8", reported_at="2024-04-30 08:00", completed_at="2024-04-30 23:59", first_time_fixed="1",
          service_fee="999"),
    order("O9", station_code="T02", reported_at="2024-05-12 08:00", responded_at="2024-05-12 09:00",
          arrived_at="2024-05-12 09:30", completed_at="2024-05-12 11:30", first_time_fixed="1",
          service_fee="100"),
    order("B1", technician_no="TB", reported_at="2024-05-05 08:00", responded_at="2024-05-05 08:30",
          completed_at="2024-05-05 10:30", first_time_fixed="1", parts_cost="30", service_fee="400"),
    order("B2", technician_no="TB", reported_at="2024-05-24 08:00", responded_at="2024-05-24 09:00",
          arrived_at="2024-05-24 10:00", completed_at="2024-05-25 10:00", first_time_fixed="1",
          rework_of="O2"),
    order("O6", technician_no="TB", reported_at="2024-06-05 08:00", responded_at="2024-06-05 09:00",
          completed_at="2024-06-06 10:00", first_time_fixed="1", rework_of="O3"),
]
SURVEYS = [
    {"order_no": "O1", "surveyed_at": "2024-05-02 10:00", "attitude": "5", "quality": "4", "speed": "3"},
    {"order_no": "O3", "surveyed_at": "2024-06-02 10:00", "attitude": "1", "quality": "3", "speed": "5"},
    {"order_no": "O4", "surveyed_at": "2024-06-02 10:00", "attitude": "1", "quality": "1", "speed": "1"},
    {"order_no": "O8", "surveyed_at": "2024-05-02 10:00", "attitude": "1", "quality": "1", "speed": "1"},
]
COSTS = [
    {"employee_no": "TA", "month": "2024-04", "salary": "9999"},
    {"employee_no": "TA", "month": "2024-05", "salary": "500", "training_cost": "50",
     "other_labor_cost": "50"},
    {"employee_no": "TA", "month": "2024-06", "salary": "9999"},
]

# TA in May: O1, O2, O3, O7, O9 -> 5 orders.
TA = {
    "orders": 5,
    "satisfaction": (4 + 3) / 2,                  # O1 mean 4, O3 mean 3
    "attitude": (5 + 1) / 2,
    "repair_quality": (4 + 3) / 2,
    "speed_rating": (3 + 5) / 2,
    "survey_rate": 2 / 5,                         # O1, O3 surveyed
    "first_fix_rate": 2 / 5,                      # ftf: O1, O3, O9; O3 reworked later -> O1, O9
    "rework_rate": 2 / 5,                         # O2 (by B2), O3 (by O6 in June)
    "avg_repair_hours": (0.5 + 4 + 49 / 60 + 2) / 4,  # O7 has no start time
    "avg_response_hours": (1 + 2 + 3 + 1) / 4,    # O7 has no response
    "sla_rate": 1 / 2,                            # O1 met, O3 missed, O7 no promise
    "parts_cost_per_order": (100 + 50 + 0) / 5,   # empty parts count as 0 once one order has a cost
    "labor_cost_ratio": 600 / (500 + 300 + 200 + 100 + 100),
    "parts_delay_count": 1,                       # O2
    "enterprise_share": 3 / 5,                    # O1, O3, O7
    "period_days": 31,
}
# TB in May: B1, B2 -> 2 orders.
TB = {
    "orders": 2, "satisfaction": None, "attitude": None, "repair_quality": None, "speed_rating": None,
    "survey_rate": 0.0, "first_fix_rate": 1.0, "rework_rate": 0.0, "avg_repair_hours": (2 + 24) / 2,
    "avg_response_hours": (0.5 + 1) / 2, "sla_rate": None, "parts_cost_per_order": 30 / 2,
    "labor_cost_ratio": None,                     # no cost rows
    "parts_delay_count": 0, "enterprise_share": 0.0, "period_days": 31,
}
TC = {code: None for code in CODES} | {"period_days": 31}
# Station T01 in May: O1, O2, O3, O7, B1, B2 -> 6 (O9 belongs to T02).
T01 = {
    "orders": 6,
    "first_fix_rate": 3 / 6,                      # ftf O1, O3, B1, B2; O3 reworked
    "rework_rate": 2 / 6,
    "enterprise_share": 3 / 6,
    "survey_rate": 2 / 6,
    "labor_cost_ratio": 600 / (500 + 300 + 200 + 100 + 400),  # TA's cost was borne by T01
    "parts_cost_per_order": (100 + 50 + 0 + 30) / 6,
    "avg_response_hours": (1 + 2 + 3 + 0.5 + 1) / 5,
    "sla_rate": 1 / 2,
}


@pytest.fixture
def data(appctx):
    ids = make_org(db.session)
    load("work-orders", ORDER_HEADER, ORDERS)
    load("surveys", SURVEY_HEADER, SURVEYS)
    load("costs", COST_HEADER, COSTS)
    return ids


def assert_metrics(actual: dict, expected: dict) -> None:
    for code, value in expected.items():
        if value is None:
            assert actual[code] is None, code
        else:
            assert actual[code] == pytest.approx(value), code


@pytest.mark.parametrize("who,expected", [("TA", TA), ("TB", TB), ("TC", TC)])
def test_employee_metrics_by_hand(data, who, expected):
    result = compute_metrics(db.session, *MAY, employee_ids=[data["TA"], data["TB"], data["TC"]])
    assert set(result.employees[data[who]]) == set(CODES)
    assert_metrics(result.employees[data[who]], expected)


def test_station_metrics_by_hand(data):
    result = compute_metrics(db.session, *MAY, station_ids=[data["T01"], data["T02"]])
    assert_metrics(result.stations[data["T01"]], T01)
    assert result.stations[data["T02"]]["orders"] == 1  # O9, done by TA from T01
    # employees chosen by station: their own orders count wherever they were done
    assert_metrics(result.employees[data["TA"]], TA)
    assert result.employees[data["TC"]]["orders"] is None


def test_variables_for_merges_the_station(data):
    result = compute_metrics(db.session, *MAY, employee_ids=[data["TA"]])
    variables = result.variables_for(data["TA"], data["T01"])
    assert variables["orders"] == 5 and variables["station_orders"] == 6
    assert variables["station_first_fix_rate"] == pytest.approx(0.5)
    assert len(variables) == 2 * len(CODES)
    unknown = result.variables_for(-1, None)
    assert unknown["orders"] is None and unknown["station_orders"] is None and unknown["period_days"] == 31


def test_tags(data):
    result = compute_metrics(db.session, *MAY, employee_ids=[data["TA"], data["TB"]],
                             tag_words=["新技术", "增值服务", "新", "50%_"])
    assert result.tags[data["TA"]] == {"新技术": 2, "增值服务": 1, "新": 0, "50%_": 0}
    assert result.tags[data["TB"]] == {"新技术": 0, "增值服务": 0, "新": 0, "50%_": 0}


@pytest.mark.parametrize("start,end,orders", [
    ("2024-05-01", "2024-05-01", 1),     # O1 at 00:00 of the first day
    ("2024-05-31", "2024-05-31", 1),     # O3 at 23:59 of the last day
    ("2024-06-01", "2024-06-01", 1),     # O4 at 00:00 of the next day
    ("2024-04-30", "2024-04-30", 1),     # O8 at 23:59
    ("2024-04-01", "2024-06-30", 7),     # everything TA completed; O5 (open) never
    ("2024-07-01", "2024-07-31", None),  # no data: N/A, not 0
])
def test_period_boundaries(data, start, end, orders):
    start, end = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    result = compute_metrics(db.session, start, end, employee_ids=[data["TA"]]).employees[data["TA"]]
    assert result["orders"] == orders
    assert result["period_days"] == (end - start).days + 1


def test_rework_counts_whenever_it_was_created(data):
    # In May alone O6 (June) does not exist yet in the period, but it still marks O3 as reworked.
    result = compute_metrics(db.session, dt.date(2024, 5, 31), dt.date(2024, 5, 31),
                             employee_ids=[data["TA"]])
    assert result.employees[data["TA"]]["rework_rate"] == 1.0
    assert result.employees[data["TA"]]["first_fix_rate"] == 0.0


def test_costs_without_revenue_and_orders_without_parts_are_na(data):
    load("costs", COST_HEADER, [{"employee_no": "TC", "month": "2024-05", "salary": "100"}])
    load("work-orders", ORDER_HEADER, [order("C1", technician_no="TC", station_code="T02",
                                             completed_at="2024-05-20 10:00")])
    tc = compute_metrics(db.session, *MAY, employee_ids=[data["TC"]]).employees[data["TC"]]
    assert tc["orders"] == 1
    assert tc["labor_cost_ratio"] is None      # cost but no service_fee
    assert tc["parts_cost_per_order"] is None  # no order carries a parts cost
    assert tc["first_fix_rate"] == 0.0         # empty first_time_fixed counts as 0
    assert tc["avg_repair_hours"] is None and tc["avg_response_hours"] is None


@pytest.mark.parametrize("threads", [1, 2])
def test_whole_population_matches_the_filtered_run(data, threads):
    everyone = compute_metrics(db.session, *MAY, tag_words=["新技术"], threads=threads)
    assert_metrics(everyone.employees[data["TA"]], TA)
    assert_metrics(everyone.stations[data["T01"]], T01)
    assert everyone.tags[data["TA"]] == {"新技术": 2}


def test_passes_side_by_side_give_the_same_metrics(data):
    words = ["新技术", "增值服务"]
    one = compute_metrics(db.session, *MAY, tag_words=words)
    for threads in (2, 5):
        side_by_side = compute_metrics(db.session, *MAY, tag_words=words, threads=threads)
        assert (side_by_side.employees, side_by_side.stations, side_by_side.tags) == (
            one.employees, one.stations, one.tags)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_caller_reads_once_while_the_passes_run(data, threads):
    seen = []

    def meanwhile():
        seen.append(db.session.scalar(select(func.count(Employee.id))))

    everyone = compute_metrics(db.session, *MAY, tag_words=["新技术"], threads=threads, meanwhile=meanwhile)
    assert seen == [db.session.scalar(select(func.count(Employee.id)))]
    assert_metrics(everyone.employees[data["TA"]], TA)


def test_codes_are_the_formula_catalogue(appctx):
    from app.engine import BUILTIN_VARIABLES

    assert CODES == tuple(v.code for v in BUILTIN_VARIABLES)


def test_reversed_period_is_refused(appctx):
    with pytest.raises(ValueError):
        compute_metrics(db.session, dt.date(2024, 5, 2), dt.date(2024, 5, 1))
