"""Metrics are rounded to 12 significant digits before formulas read them (a sum's last bits depend on
the database's scan order): the stations' when the scorer is made, each employee's as it is scored."""

import datetime as dt

from app.metrics.period import PeriodMetrics, metrics_of
from app.services.scoring import Appraisee, Scorer
from app.services.snapshot import CycleFacts

NOISY = 0.1 + 0.2  # 0.30000000000000004


def metrics_with(value: float) -> PeriodMetrics:
    days = 91
    own = metrics_of([0] * 21, days)
    own.update(orders=3.0, first_fix_rate=value, satisfaction=None)
    station = metrics_of([0] * 21, days)
    station.update(orders=30.0, first_fix_rate=value)
    return PeriodMetrics(dt.date(2024, 1, 1), dt.date(2024, 3, 31), employees={1: own}, stations={7: station},
                         tags={1: {}}, station_codes={7: "S07"})


def scorer_of(metrics: PeriodMetrics) -> Scorer:
    return Scorer(CycleFacts("Q1", dt.date(2024, 1, 1), dt.date(2024, 3, 31)), "v1", None, metrics,
                  locale="zh_CN", company="")


PERSON = Appraisee(1, "E1", "张伟", "维修技师", 7, "S07", "一站", "consumer")


def test_an_employees_and_a_stations_metrics_reach_the_formulas_rounded():
    variables = scorer_of(metrics_with(NOISY)).variables(PERSON)
    assert variables["first_fix_rate"] == 0.3 and variables["station_first_fix_rate"] == 0.3
    assert repr(variables["first_fix_rate"]) == "0.3"
    assert variables["satisfaction"] is None and variables["period_days"] == 91.0
    assert variables["orders"] == 3.0 and variables["station_orders"] == 30.0


def test_rounding_twice_changes_nothing_and_keeps_twelve_digits():
    scorer = scorer_of(metrics_with(2 / 3))
    first = scorer.variables(PERSON)
    assert first["first_fix_rate"] == 0.666666666667
    assert scorer.variables(PERSON) == first  # a rescore in the write phase reads the same figures


def test_a_person_without_metrics_reads_the_empty_figures():
    variables = scorer_of(metrics_with(NOISY)).variables(
        Appraisee(2, "E2", "李娜", "维修技师", 7, "S07", "一站", "consumer"))
    assert variables["orders"] is None and variables["station_first_fix_rate"] == 0.3
