"""The demo's data is believable: labour cost is a plausible share of each station's service revenue, and the
demo cycle shows a spread (every grade, an indicator without data, a dispute, people on both sides of each
indicator's target)."""

from __future__ import annotations

import tomllib
from collections import Counter, defaultdict

from sqlalchemy import select

from app.extensions import db
from app.metrics.period import compute_metrics
from app.models import Appraisal, Station
from tests.factories import RULES_DIR, demo_cycle


def current_appraisals(cycle_id: int) -> list[Appraisal]:
    return list(db.session.scalars(
        select(Appraisal).where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))))


def test_labour_cost_is_a_plausible_share_of_each_demo_stations_revenue(appctx):
    demo = demo_cycle()
    stations = {s.id: s.code for s in db.session.scalars(select(Station))}
    metrics = compute_metrics(db.session, demo.start, demo.end)
    ratios = {stations[sid]: m["labor_cost_ratio"] for sid, m in metrics.stations.items()
              if m["orders"] is not None}
    assert {"S01", "S02"} <= set(ratios), ratios
    for code, ratio in ratios.items():
        assert ratio is not None and 0.2 <= ratio <= 0.45, (code, ratio)
    # technicians score on the indicator: most above 0 (the demo's data follows the day it is seeded, so one
    # person's costly month may leave them at 0)
    scores = [line["score"] for a in current_appraisals(demo.id) for line in a.snapshot["lines"]
              if line["code"] == "kpi_labor_cost"]
    assert scores and sum(score > 0 for score in scores) >= 0.75 * len(scores), scores


def test_the_demo_cycle_shows_a_spread(appctx):
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
