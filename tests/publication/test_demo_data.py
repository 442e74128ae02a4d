"""The demo's data is believable: labour cost is a plausible share of each station's service revenue, and the
demo cycle shows a spread (every grade, an indicator without data, a dispute, people on both sides of each
indicator's target), whatever the day the demo is seeded: the months that are over are generated the same on
any day of the next month, and the demo cycle covers those months only."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from app import datagen
from app.demo import PARTS_DELAY, PEOPLE, SKILL, STATIONS
from app.extensions import db
from app.metrics.period import compute_metrics
from app.models import Appraisal, Station
from app.setup import prepare
from tests.factories import RULES_DIR, demo_cycle, make_app


def current_appraisals(cycle_id: int) -> list[Appraisal]:
    return list(db.session.scalars(
        select(Appraisal).where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))))


def test_labour_cost_is_a_plausible_share_of_each_demo_stations_revenue(appctx):
    labour_cost_is_plausible()


def labour_cost_is_plausible() -> None:
    demo = demo_cycle()
    stations = {s.id: s.code for s in db.session.scalars(select(Station))}
    metrics = compute_metrics(db.session, demo.start, demo.end)
    ratios = {stations[sid]: m["labor_cost_ratio"] for sid, m in metrics.stations.items()
              if m["orders"] is not None}
    assert {"S01", "S02"} <= set(ratios), ratios
    for code, ratio in ratios.items():
        assert ratio is not None and 0.2 <= ratio <= 0.45, (code, ratio)
    # technicians score on the indicator: most above 0 (one person's costly month may leave them at 0)
    scores = [line["score"] for a in current_appraisals(demo.id) for line in a.snapshot["lines"]
              if line["code"] == "kpi_labor_cost"]
    assert scores and sum(score > 0 for score in scores) >= 0.75 * len(scores), scores


def test_the_demo_cycle_shows_a_spread(appctx):
    the_demo_cycle_shows_a_spread()


def the_demo_cycle_shows_a_spread() -> None:
    demo = demo_cycle()
    appraisals = current_appraisals(demo.id)
    grades = Counter(a.grade for a in appraisals)
    assert {"A", "B", "C", "D"} <= set(grades), grades
    assert sum(a.state.value == "disputed" for a in appraisals) == 1
    assert any(line["na"] for a in appraisals for line in a.snapshot["lines"])

    with open(RULES_DIR / "indicators.toml", "rb") as fh:
        direction = {i["code"]: i.get("direction", "higher") for i in tomllib.load(fh)["indicator"]}
    sides: dict[str, set[str]] = defaultdict(set)
    for a in appraisals:
        for line in a.snapshot["lines"]:
            value, target = line["value"], line["target"]
            if value is None or target is None:
                continue
            met = value >= target if direction[line["code"]] == "higher" else value <= target
            sides[line["code"]].add("met" if met else "missed")
    # Indicators measured on each person; the station-wide ones (kpi_station_…) give everybody at a
    # station the same value, and the demo has two stations with people.
    personal = {code: found for code, found in sides.items() if not code.startswith("kpi_station_")}
    assert "kpi_labor_cost" in personal and "kpi_teamwork" in personal, sorted(personal)
    one_sided = {code: found for code, found in personal.items() if found != {"met", "missed"}}
    assert not one_sided, one_sided


# -- whatever the day ---------------------------------------------------------------------------------------

SEGMENT = {code: segment.value for code, _name, segment in STATIONS}
WORKERS = [datagen.Worker(username.upper(), station, SEGMENT[station], position, SKILL[username],
                          PARTS_DELAY[station])
           for username, _name, station, position, _sup, _roles in PEOPLE]
Pairs = dict[str, tuple[dict, dict | None]]  # order number -> the order and its survey


def generated(day: dt.date, hour: int = 10) -> list[tuple[dict, dict | None]]:
    """The demo's orders and surveys as seeding at ``hour`` o'clock (local) on ``day`` generates them."""
    return list(datagen.demo_orders(WORKERS, dt.datetime.combine(day, dt.time(hour))))


def over(pairs, month: dt.date) -> Pairs:
    """The orders reported before ``month``, by number."""
    return {o["order_no"]: (o, s) for o, s in pairs if o["reported_at"] < month.isoformat()}


def settled_by(pairs: Pairs, moment: str) -> Pairs:
    """The orders whose every step (reply, visit, repair, survey) had happened by ``moment``."""
    def last_step(order, survey):
        return max(order["responded_at"], order["arrived_at"], order["completed_at"],
                   survey["surveyed_at"] if survey else "")
    return {no: pair for no, pair in pairs.items() if last_step(*pair) <= moment}


@pytest.mark.parametrize("month", [dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2028, 3, 1)])
def test_the_months_that_are_over_are_generated_the_same_whatever_the_day(month):
    last = month.replace(day=31 if month.month in (1, 3, 12) else 28)
    days = [month, month + dt.timedelta(days=2), month.replace(day=15), last]
    runs = {day: generated(day) for day in days}
    whole = over(runs[last], month)
    first_month = datagen.demo_months(month)[0]
    count = int(sum(datagen.ORDER_WEIGHT[w.position] for w in WORKERS) * 16)
    assert len(whole) == 2 * count
    assert min(o["reported_at"] for o, _s in whole.values()) >= first_month.isoformat()
    for day, pairs in runs.items():
        now = f"{day.isoformat()} 10:00"
        numbers = [o["order_no"] for o, _s in pairs]
        assert len(numbers) == len(set(numbers)) <= 3 * count, day
        # nothing after now: no order reported, answered, finished or surveyed later
        assert all(max(o["reported_at"], o["responded_at"], o["arrived_at"], o["completed_at"]) <= now
                   and (s is None or s["surveyed_at"] <= now) for o, s in pairs), day
        # the months that are over: the same orders, and the same rows but for what comes after now (the
        # last orders of the month before, on the first days)
        mine = over(pairs, month)
        assert mine.keys() == whole.keys(), day
        settled = settled_by(whole, now)
        assert {no: mine[no] for no in settled} == settled, day
        assert len(settled) >= len(whole) - 30, day
        if day >= month.replace(day=15):
            assert mine == whole, day
    # this month so far: more orders as the month goes on
    this_month = [len(runs[day]) - len(whole) for day in days]
    assert this_month == sorted(this_month), this_month
    assert this_month[0] < 10 and this_month[-1] > 0.9 * count, this_month


def test_the_demo_seeded_on_new_years_day_shows_a_spread(tmp_path):
    """Seeded just after midnight on 1 January: the demo cycle covers October and November, labour costs
    and grades as on any other day."""
    moment = dt.datetime(2027, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    application = make_app(f"sqlite:///{tmp_path / 'demo.db'}", JIXIAO_CLOCK=lambda: moment)
    prepare(application, demo=True)
    with application.app_context():
        demo = demo_cycle()
        assert (demo.start, demo.end) == (dt.date(2026, 11, 1), dt.date(2026, 12, 31))
        labour_cost_is_plausible()
        the_demo_cycle_shows_a_spread()
        db.session.remove()
        db.engine.dispose()
