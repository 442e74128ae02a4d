"""A reproducible generator of realistic source data, at any size.

The same seed gives the same rows. Everything streams: orders and their surveys come out of one
generator, in the order they were reported, so a million orders need no more memory than a few
hundred. Rows are dicts keyed by the column names of the source-data files (work orders, call-back
surveys, labour costs), with values already formatted as a station's export would write them, so
they can go straight into a CSV file and through the import.

What makes the data realistic enough for appraisals: each technician has a skill that moves their
first-time-fix rate, repair times (log-normal, long-tailed), how many orders they take and survey
scores; enterprise customers come with response promises and answer call-backs less often; stations
differ by customer segment; orders that were not fixed the first time are the ones that come back as
reworks; some wait for parts; some carry tags such as 新技术 or 增值服务. Fees and labour costs keep a
service business's proportion: a station's labour cost is roughly a third of its service revenue.
"""

from __future__ import annotations

import bisect
import calendar
import csv
import datetime as dt
import io
import itertools
import math
import random
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import select

from . import clock
from .extensions import db
from .importing import import_file
from .models import Employee, Station

WORK_ORDER_COLUMNS = [
    "order_no", "station_code", "technician_no", "customer_type", "reported_at", "responded_at",
    "arrived_at", "completed_at", "first_time_fixed", "rework_of", "parts_cost", "labor_hours",
    "service_fee", "sla_response_hours", "parts_delay", "tags",
]
SURVEY_COLUMNS = ["order_no", "surveyed_at", "attitude", "quality", "speed", "comment"]
COST_COLUMNS = ["employee_no", "month", "salary", "training_cost", "other_labor_cost"]
EMPLOYEE_COLUMNS = [
    "employee_no", "name", "station_code", "position", "supervisor_no", "username", "hired_on", "bonus_base",
]

TAGS = [("新技术", 0.12), ("增值服务", 0.10), ("新工艺", 0.05), ("上门服务", 0.20), ("夜间抢修", 0.03)]
# Tags that skilled technicians earn more often (at skill 1, 1.7 times the rate above; at 0, 0.3 times).
SKILLED_TAGS = frozenset({"新技术", "新工艺"})
PARTS_DELAY = 0.03  # the share of orders that wait for parts, where a station's stock is not said
ORDER_WEIGHT = {"维修技师": 1.0, "客服": 0.35, "主管": 0.15, "站长": 0.0}
# Monthly base salary by position, yuan (each month's row varies around it).
SALARY = {"维修技师": 8000, "客服": 5500, "主管": 8500, "站长": 11000}
# What an order is billed (service revenue, yuan): a call-out fee, the labour of the job at an hourly rate
# (standard hours for the job, whoever does it), and the parts at a markup. By customer type.
CALL_OUT_FEE = {"consumer": 400, "enterprise": 600}
HOURLY_RATE = {"consumer": 380, "enterprise": 480}
PARTS_MARKUP = 1.5
# The share of completed orders whose customer answers the call-back survey, by customer type.
SURVEY_ANSWERED = {"consumer": 0.88, "enterprise": 0.62}
DAYS_PER_MONTH = 365.25 / 12
# Monthly performance-bonus base (奖金基数) by position: the lowest and highest, in steps of 100 yuan.
BONUS_BASE = {"维修技师": (1500, 3000), "客服": (1200, 2000), "主管": (3000, 4500), "站长": (4500, 6000)}
SEGMENT_ENTERPRISE_SHARE = {"enterprise": 0.75, "consumer": 0.12, "mixed": 0.45}
COMMENTS = [
    "", "", "", "师傅很专业", "响应及时", "等待时间较长", "态度很好", "问题已解决", "希望加快配件供应",
]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
            "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉鹏飞宇浩然欣怡晨阳子涵俊杰"
CITIES = "北京上海广州深圳杭州南京成都武汉西安重庆天津苏州长沙郑州济南青岛沈阳大连厦门福州合肥昆明"


@dataclass(frozen=True)
class GeneratedEmployee:
    employee_no: str
    name: str
    station_code: str
    position: str
    supervisor_no: str = ""
    username: str = ""
    hired_on: str = ""
    bonus_base: str = ""


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    segment: str


@dataclass
class Organisation:
    stations: list[Site] = field(default_factory=list)
    people: list[GeneratedEmployee] = field(default_factory=list)

    def employee_rows(self) -> Iterator[dict]:
        for p in self.people:
            yield {c: getattr(p, c) for c in EMPLOYEE_COLUMNS}


def organisation(stations: int, employees: int, seed: int = 1) -> Organisation:
    """``stations`` stations and ``employees`` people spread over them: per station one manager,
    a supervisor for every eight staff, the rest technicians and customer-service staff."""
    rng = random.Random(seed)
    bonus_rng = random.Random(f"{seed}:bonus")  # its own stream: the people stay those of the seed
    org = Organisation()
    segments = ["consumer", "enterprise", "mixed"]
    for i in range(stations):
        city = CITIES[2 * (i % (len(CITIES) // 2)): 2 * (i % (len(CITIES) // 2)) + 2]
        org.stations.append(Site(f"G{i + 1:04d}", f"{city}第{i + 1}服务站", segments[i % 3]))
    per_station = [employees // stations + (1 if i < employees % stations else 0) for i in range(stations)]
    n = 0
    for site, count in zip(org.stations, per_station, strict=True):
        manager = supervisor = ""
        for k in range(count):
            n += 1
            no = f"E{n:06d}"
            if k == 0:
                position, boss = "站长", ""
                manager = no
            elif k % 9 == 1:
                position, boss = "主管", manager
                supervisor = no
            else:
                position = "客服" if rng.random() < 0.15 else "维修技师"
                boss = supervisor or manager
            hired = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3000))
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            low, high = BONUS_BASE.get(position, (1500, 3000))
            bonus = bonus_rng.randrange(low, high + 1, 100)
            org.people.append(GeneratedEmployee(no, name, site.code, position, boss, "", hired.isoformat(),
                                                str(bonus)))
    return org


@dataclass(frozen=True)
class Worker:
    """Who takes orders: an employee number, their station's code and segment, their position (which
    weighs how many orders they take), their skill in [0, 1] (None: drawn from the seed) and the share
    of their orders that wait for parts (their station's stock)."""

    employee_no: str
    station_code: str
    segment: str
    position: str = "维修技师"
    skill: float | None = None
    parts_delay: float = PARTS_DELAY


def _throughput(skill: float) -> float:
    """How many orders a person of ``skill`` gets done, relative to an average technician."""
    return 0.3 + 0.9 * skill


def workers_of(org: Organisation) -> list[Worker]:
    segment = {s.code: s.segment for s in org.stations}
    return [Worker(p.employee_no, p.station_code, segment[p.station_code], p.position) for p in org.people]


class _Clock:
    """Times as whole minutes from a start day, formatted fast (strftime is the slow part of a
    million rows)."""

    def __init__(self, start: dt.date) -> None:
        self.start = start
        self.days: dict[int, str] = {}

    def minutes(self, t: dt.datetime) -> int:
        return int((t - dt.datetime.combine(self.start, dt.time(0, 0))).total_seconds() // 60)

    def text(self, minute: int | None) -> str:
        if minute is None:
            return ""
        day, rest = divmod(minute, 1440)
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = (self.start + dt.timedelta(days=day)).isoformat()
        return f"{text} {rest // 60:02d}:{rest % 60:02d}"


def orders_and_surveys(
    workers: Sequence[Worker],
    start: dt.date,
    end: dt.date,
    count: int,
    *,
    seed: int = 1,
    now: dt.datetime | None = None,
    prefix: str = "WO",
    stream: str = "",
    first_number: int = 1,
) -> Iterator[tuple[dict, dict | None]]:
    """``count`` work orders reported between ``start`` and ``end`` (inclusive), each with its survey
    or None, numbered from ``first_number``.

    ``now`` only hides what has not happened yet, the rows are drawn the same whatever it is: orders
    reported after ``now`` are left out, those that would be answered, reached or finished after it are
    still open as far as they have gone, surveys after it are not taken. ``stream`` names a random
    stream of its own under the seed (a month of a longer span, say); the technicians' skills stay those
    of the seed."""
    rng = random.Random(f"{seed}:{stream}" if stream else seed)
    weighted = [w for w in workers if ORDER_WEIGHT.get(w.position, 1.0) > 0]
    if not weighted or count <= 0:
        return
    # A technician's skill in [0, 1] moves quality, speed and how many orders they take; stable per
    # employee and seed unless given.
    skill = {w.employee_no: w.skill if w.skill is not None
             else random.Random(f"{seed}:{w.employee_no}").betavariate(5, 2) for w in weighted}
    cumulative = list(itertools.accumulate(
        ORDER_WEIGHT.get(w.position, 1.0) * _throughput(skill[w.employee_no]) for w in weighted))
    total = cumulative[-1]
    recent: dict[str, deque] = {}  # station -> recently completed (order_no, completed minute, fixed)
    clock = _Clock(start)
    span = ((end - start).days + 1) * 1440
    last = span + 30 * 1440  # the rows' own horizon; ``now`` is applied to each row as it is drawn
    cut = clock.minutes(now) if now else None
    random_, expo, gauss, uniform = rng.random, rng.expovariate, rng.gauss, rng.uniform
    for i in range(count):
        reported = min(int(span * (i + random_()) / count), last - 1 - int(random_() * 600))
        worker = weighted[bisect.bisect_left(cumulative, random_() * total)]
        station = worker.station_code
        s = skill[worker.employee_no]
        enterprise = random_() < SEGMENT_ENTERPRISE_SHARE.get(worker.segment, 0.4)
        sla = rng.choice((2, 4, 4, 8, 24)) if enterprise and random_() < 0.8 else None
        # enterprise customers are answered first, at an enterprise station by a desk of their own
        mean_response = (1.0 if worker.segment == "enterprise" else 1.5) if enterprise else 2.4
        response_h = expo(1 / mean_response) * (1.4 - 0.6 * s)
        responded = reported + 5 + int(response_h * 60) if random_() < 0.97 else None
        arrived = None
        if responded is not None and random_() < 0.9:
            arrived = responded + (int(expo(1 / 90)) if random_() < 0.7 else 0)
        delay = random_() < worker.parts_delay
        repair_h = math.exp(gauss(0.7, 0.8)) * (1.5 - s) + (uniform(24, 72) if delay else 0)
        begun = arrived if arrived is not None else responded
        completed = None
        if begun is not None and random_() >= 0.01:
            completed = begun + max(10, int(repair_h * 60))
            if completed > last:
                completed = None
        ftf = random_() < 0.6 + 0.38 * s
        rework_of = ""
        queue = recent.get(station)
        if queue is None:
            queue = recent[station] = deque(maxlen=200)
        if queue and random_() < 0.2:
            # a customer calls again: mostly about an order that was not fixed the first time
            no, done, fixed = queue[int(random_() * len(queue))]
            if done < reported and (not fixed or random_() < 0.08):
                rework_of = no
        # a skilled technician replaces fewer parts that did not need replacing
        parts = 0.0 if random_() < 0.4 else math.exp(gauss(6.6, 0.8)) * (1.3 - 0.5 * s)
        labor = round(max(0.25, repair_h * uniform(0.6, 1.0)), 2)
        kind = "enterprise" if enterprise else "consumer"
        fee = CALL_OUT_FEE[kind] + math.exp(gauss(1.1, 0.5)) * HOURLY_RATE[kind] + parts * PARTS_MARKUP
        order_no = f"{prefix}{first_number + i:08d}"
        order = {
            "order_no": order_no,
            "station_code": station,
            "technician_no": worker.employee_no,
            "customer_type": "enterprise" if enterprise else "consumer",
            "reported_at": clock.text(reported),
            "responded_at": clock.text(responded),
            "arrived_at": clock.text(arrived),
            "completed_at": clock.text(completed),
            "first_time_fixed": ("1" if ftf else "0") if completed and random_() < 0.98 else "",
            "rework_of": rework_of,
            "parts_cost": f"{parts:.2f}" if parts else ("0" if random_() < 0.5 else ""),
            "labor_hours": f"{labor:g}",
            "service_fee": f"{fee:.2f}" if completed else "",
            "sla_response_hours": f"{sla}" if sla else "",
            "parts_delay": "1" if delay else ("0" if random_() < 0.5 else ""),
            "tags": ";".join([word for word, p in TAGS
                              if random_() < (p * (0.3 + 1.4 * s) if word in SKILLED_TAGS else p)]),
        }
        survey = None
        if completed is not None:
            queue.append((order_no, completed, ftf))
            surveyed = completed + int(uniform(120, 4320))
            if surveyed <= last and random_() < SURVEY_ANSWERED[kind]:
                base = 2.6 + 2.2 * s + (0.3 if ftf else -0.5) - (0.6 if delay else 0)
                survey = {
                    "order_no": order_no,
                    "surveyed_at": clock.text(surveyed),
                    "attitude": _score(gauss(base + 0.3, 0.7)),
                    "quality": _score(gauss(base, 0.7)),
                    "speed": _score(gauss(base - response_h / 6, 0.7)),
                    "comment": rng.choice(COMMENTS),
                }
        if cut is None:
            yield order, survey
        elif reported < cut:
            yield _as_at(order, survey, cut, responded, arrived, completed, clock)


def _as_at(order: dict, survey: dict | None, cut: int, responded: int | None, arrived: int | None,
           completed: int | None, clock: _Clock) -> tuple[dict, dict | None]:
    """An order and its survey as they stand at minute ``cut``: what happens later has not happened."""
    if completed is not None and completed > cut:
        order.update(completed_at="", first_time_fixed="", service_fee="")
        survey = None
        if arrived is not None and arrived > cut:
            order["arrived_at"] = ""
        if responded is not None and responded > cut:
            order["responded_at"] = ""
    elif completed is None:
        order["arrived_at"] = clock.text(arrived) if arrived is not None and arrived <= cut else ""
        order["responded_at"] = clock.text(responded) if responded is not None and responded <= cut else ""
    if survey is not None and survey["surveyed_at"] > clock.text(cut):
        survey = None
    return order, survey


def _score(x: float) -> str:
    return str(min(5, max(1, round(x))))


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the months from ``start``'s to ``end``'s, inclusive."""
    months, m = [], start.replace(day=1)
    while m <= end:
        months.append(m)
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def labour_costs(people: Iterable[GeneratedEmployee], start: dt.date, end: dt.date, *,
                 seed: int = 1) -> Iterator[dict]:
    """One cost row per person and month from ``start`` to ``end``. A month that ``end`` cuts short
    carries the cost accrued so far (its share of the days), as a month-to-date payroll export would."""
    rng = random.Random(seed)
    for month in months_between(start, end):
        days = calendar.monthrange(month.year, month.month)[1]
        share = min(days, (end - month).days + 1) / days
        for p in people:
            base = SALARY.get(p.position, 7000)
            yield {
                "employee_no": p.employee_no,
                "month": month.strftime("%Y-%m"),
                "salary": _fmt_money(base * rng.uniform(0.9, 1.25) * share),
                "training_cost": _fmt_money(rng.choice((0, 0, 0, 300, 800, 1500)) * share),
                "other_labor_cost": _fmt_money(base * rng.uniform(0.1, 0.2) * share),
            }


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[dict]) -> int:
    """Write ``rows`` as CSV with a header; returns the number of rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
        n += 1
    return n


def _fmt_money(x: float) -> str:
    return f"{x:.2f}"


DEMO_SEED = 20240601


def demo_months(today: dt.date, months: int = 3) -> list[dt.date]:
    """The first days of the demo's ``months`` months: the current one (``today``'s) and those before."""
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return months_between(first, today)


def demo_orders(workers: Sequence[Worker], now: dt.datetime, months: int = 3, *, seed: int = DEMO_SEED,
                orders_per_month: int = 16) -> Iterator[tuple[dict, dict | None]]:
    """The demo's orders and surveys as they stand at ``now`` (local, naive): each month of
    :func:`demo_months` drawn whole, from a random stream of its own (named by its place among the
    months: the first month of the demo draws the same whatever month it is) and with as many orders
    as any other month, then cut at ``now``. A month that is over comes out the same whatever the day,
    but for what falls after ``now`` (the last orders' repairs and surveys, in the first days of the
    next month)."""
    weight = sum(ORDER_WEIGHT.get(w.position, 1.0) for w in workers)
    count = int(weight * orders_per_month)
    for offset, month in enumerate(demo_months(now.date(), months)):
        last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        yield from orders_and_surveys(workers, month, last_day, count, seed=seed, now=now, prefix="DEMO",
                                      stream=f"month{offset}", first_number=offset * count + 1)


def seed_demo_data(months: int = 3, *, seed: int = DEMO_SEED, orders_per_month: int = 16,
                   skills: Mapping[str, float] | None = None,
                   parts_delay: Mapping[str, float] | None = None) -> dict[str, int]:
    """Three months (by default) of orders, surveys and labour costs for the demo organisation: the
    current month up to now (local time) and the whole months before it (:func:`demo_orders`),
    imported through the import service like any station's file.

    The same seed gives the same rows for the same day, and the months that are over the same rows
    whatever the day. Needs an application context and the demo people; returns the number of rows
    per kind. ``orders_per_month`` is per average technician and month (at most about 440 orders for
    the demo's people: every list fits one 500-row page); ``skills`` gives some people's skill in [0, 1]
    by employee number (the others' comes from the seed), ``parts_delay`` the share of orders that wait
    for parts by station code. Labour costs: one row per person and month, the current month's
    accrued so far.
    """
    now = clock.to_local(clock.now()).replace(tzinfo=None, second=0, microsecond=0)
    first = demo_months(now.date(), months)[0]
    rows = db.session.execute(
        select(Employee.employee_no, Employee.position, Station.code, Station.segment)
        .join(Station, Employee.station_id == Station.id).order_by(Employee.employee_no)).all()
    skills, parts_delay = skills or {}, parts_delay or {}
    workers = [Worker(no, code, getattr(segment, "value", segment), position, skills.get(no),
                      parts_delay.get(code, PARTS_DELAY))
               for no, position, code, segment in rows]
    people = [GeneratedEmployee(no, "", code, position) for no, position, code, _segment in rows]

    orders, surveys = io.StringIO(), io.StringIO()
    pairs = list(demo_orders(workers, now, months, seed=seed, orders_per_month=orders_per_month))
    write_csv(orders, WORK_ORDER_COLUMNS, (o for o, _s in pairs))
    write_csv(surveys, SURVEY_COLUMNS, (s for _o, s in pairs if s))
    costs = io.StringIO()
    write_csv(costs, COST_COLUMNS, labour_costs(people, first, now.date(), seed=seed))
    result = {}
    for kind, text in (("work-orders", orders), ("surveys", surveys), ("costs", costs)):
        result[kind] = import_file(db.session, kind, io.BytesIO(text.getvalue().encode("utf-8"))).inserted
    return result
