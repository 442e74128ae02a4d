"""Scoring's shortcuts give the same bytes as the plain way: a cycle's people scored in a row by one scorer
(its rule set's kept answers warm, the snapshot made of the result's own dicts without copies, each
indicator's formulas looked up once, float texts of the explanation lines kept by value, incentive answers
shared across stations without a pool) against each person scored alone by a fresh copy of the rule set,
the snapshot built from copies and encoded by the encoder: same canonical JSON, same hash.

The people vary where shortcuts could go wrong: N/A inputs, 0.0 and -0.0, 0.1 + 0.2, ints, large and tiny
numbers, Chinese and English lines, bonus bases of one value written differently, manual values,
adjustments, calibrations, a station with an incentive pool and stations without."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random
from decimal import Decimal

import pytest

from app.engine import explain
from app.rules import load_dir
from app.services.scoring import Appraisee, Scorer
from app.services.snapshot import CycleFacts, canonical_json
from tests.factories import RULES_DIR

OWN = ("orders", "first_fix_rate", "rework_rate", "satisfaction", "attitude", "repair_quality",
       "speed_rating", "survey_rate", "avg_repair_hours", "avg_response_hours", "sla_rate",
       "parts_cost_per_order", "labor_cost_ratio", "parts_delay_count", "enterprise_share", "period_days")
ODD = (None, None, 0.0, -0.0, 0.1 + 0.2, 0.3, 1, 0, 1e15 + 0.5, 123456789.125, 1e-9, -2.5, 0.005, 100.0)
STATIONS = (("S01", "北京朝阳服务站", "consumer"), ("S02", "上海浦东服务站", "enterprise"),
            ("S03", "广州服务站", "mixed"))
POSITIONS = ("维修技师", "维修技师", "维修技师", "客服", "主管", "站长", "保安")
BASES = (None, Decimal("2000"), Decimal("2000.00"), Decimal("5400.00"), Decimal("0"), Decimal("3500.5"))
CYCLE = CycleFacts("2024Q1 考核", dt.date(2024, 1, 1), dt.date(2024, 3, 31))


@pytest.fixture(scope="module")
def ruleset():
    """The default rule set with an incentive pool at S02 (its people's incentive names the pool)."""
    loaded, problems = load_dir(RULES_DIR)
    assert not problems
    policy = loaded.extras["policy.toml"] + '\n[[incentive.pool]]\nstation = "S02"\namount = 20000\n'
    pooled = dataclasses.replace(loaded, extras={**loaded.extras, "policy.toml": policy})
    assert pooled.incentive.pool_for("S02") is not None and pooled.incentive.pool_for("S01") is None
    return pooled


def figure(rng: random.Random):
    if rng.random() < 0.35:
        return rng.choice(ODD)
    return round(rng.uniform(0, 1.2), rng.choice((2, 6, 12))) if rng.random() < 0.7 else rng.uniform(0, 500)


class Metrics:
    """What Scorer.score reads of the metrics layer: figures per employee and station, tag counts."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.employees = {i: {code: figure(rng) for code in OWN} for i in range(count)}
        # two stations share their figures; some people's own figures repeat another's
        shared = {code: figure(rng) for code in OWN}
        self.stations = {0: shared, 1: dict(shared), 2: {code: figure(rng) for code in OWN}}
        for i in range(0, count, 7):
            self.employees[i] = dict(self.employees[max(0, i - 3)])
        self.tags = {i: {"新技术": rng.choice((0, 0, 1, 3)), "新工艺": rng.choice((0, 2))}
                     for i in range(count) if i % 5}

    def variables_for(self, employee_id: int, station_id: int | None) -> dict:
        variables = dict(self.employees[employee_id])
        for code, value in self.stations[station_id].items():
            variables[f"station_{code}"] = value
        return variables


def jobs(count: int, seed: int):
    rng = random.Random(seed)
    metrics = Metrics(rng, count)
    out = []
    for i in range(count):
        station = i % 3
        code, name, segment = STATIONS[station]
        person = Appraisee(i, f"E{i:05d}", rng.choice(("张伟", "李娜", "O'Brien \"Bob\"", "王小明\\")),
                           rng.choice(POSITIONS), station, code, name, segment, rng.choice(BASES))
        manual = rng.choice(({}, {}, {"kpi_teamwork": 85}, {"kpi_teamwork": 85.0}, {"kpi_teamwork": None},
                             {"kpi_teamwork": 120}, {"kpi_teamwork": -0.0}))
        adjustment = rng.choice((0.0, 0.0, 0.0, 1.5, -3.25, 0.1 + 0.2))
        calibration = rng.choice((None, None, None, None, {"total": 77.5, "grade": None},
                                  {"total": None, "grade": "A"}))
        out.append((person, manual, adjustment, "加分：季度之星" if adjustment else None, calibration))
    return metrics, out


def plain(scorer: Scorer, ruleset, job) -> tuple[str, str]:
    """One person scored the plain way: a fresh rule set (nothing kept), copies, the encoder."""
    person, manual, adjustment, reason, calibration = job
    explain._FLOAT_TEXTS.clear()
    alone = Scorer(scorer.cycle, scorer.rule_version, dataclasses.replace(ruleset), locale=scorer.locale,
                   company=scorer.company)
    variables = scorer.variables(person)  # the metrics as the scorer rounds them
    tags = dict(scorer.metrics.tags.get(person.id, {}))
    result = alone.appraise(person, variables, tags, manual, adjustment, calibration)
    text = canonical_json(alone.snapshot(person, result, variables, tags, reason if adjustment else None))
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_cycle_scored_in_a_row_gives_the_bytes_of_each_person_scored_alone(ruleset, locale):
    metrics, todo = jobs(240, seed=19 if locale == "zh_CN" else 20)
    scorer = Scorer(CYCLE, "v3", dataclasses.replace(ruleset), metrics, locale=locale,
                    company="Jixiao 售后服务网络")
    fast = [scorer.score(*job) for job in todo]
    memo = scorer.ruleset.memo
    # the shortcuts were taken: shared indicator, outcome and incentive answers
    assert memo["indicator_results"] and memo["outcome_results"]
    assert len(memo["incentive_results"]) < len(todo) // 4
    for job, scored in zip(todo, fast, strict=True):
        text, digest = plain(scorer, ruleset, job)
        assert scored.json == text, job[0].no
        assert scored.digest == digest
    texts = [scored.json for scored in fast]
    assert len(set(texts)) == len(texts)  # the people differ
    assert any('"pool":{' in text for text in texts) and any('"pool":null' in text for text in texts)
    assert any("N/A" in text for text in texts) and any('"total":null' in text for text in texts)
    assert any('"calibration":{' in text for text in texts)


def test_float_texts_of_the_lines_are_those_of_the_plain_formatting():
    values = [0.0, -0.0, 0.1 + 0.2, 1e15, 1e15 + 0.5, -1e16, 0.005, 0.00999, 123.45678, 7.0, -3.0,
              float("inf"), float("-inf"), float("nan"), 2.675]
    plain_texts = [explain._number_text(value) for value in values]
    explain._FLOAT_TEXTS.clear()
    assert [explain.format_value(value) for value in values] == plain_texts
    assert [explain.format_value(value) for value in values] == plain_texts  # from what was kept
    assert explain.format_value(-0.0) == explain.format_value(0.0) == "0"
    assert explain.format_value(3) == "3" and explain.format_value(True, "en") == "true"
    assert all(key == key for key in explain._FLOAT_TEXTS)  # no NaN kept
