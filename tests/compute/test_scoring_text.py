"""The snapshot's text written from its parts equals the canonical encoder's, value by value: floats
kept by value (0.0 and -0.0, 1 and 1.0 and True are equal yet print differently), dict formats kept by
their keys (a "%" in a key or a constant), nested dicts and lists, non-text keys, and the encoder's
error for a value JSON cannot hold."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from app.rules import AppraisalResult
from app.services import snapshot
from app.services.snapshot import CycleFacts, SnapshotWriter, build_snapshot, canonical_json

ODD = [0.0, -0.0, 1, 1.0, True, False, None, 0, -1, 2**70, 0.1 + 0.2, 1e-9, 1e22, -2.5, 100.0, "",
       "中文 \"quoted\" \\ back", "%s %d 100%", "\u2028\n\t", 86.28, 86.28]


@pytest.mark.parametrize("value", ODD + [{"b": 1.0, "a": -0.0}, [1, 1.0, True], {"%": {"x": [None]}}])
def test_a_value_reads_as_the_encoder_writes_it(value):
    assert snapshot._scalar(value) == canonical_json(value)
    assert snapshot._scalar(value) == canonical_json(value)  # again, from what was kept


def test_dicts_of_equal_keys_and_values_of_other_classes_read_apart():
    for value in ({"x": 1, "y": 0.0}, {"x": 1.0, "y": -0.0}, {"x": True, "y": 0}, {"y": -0.0, "x": 1.0},
                  {"a%s": "100%", "%(b)s": 2.0}, {"z": {"b": 1, "a": 2}, "a": []}):
        assert snapshot._object(value) == canonical_json(value)
    mixed = {1: "one", "1": "text"}  # not text keys: the encoder's own way
    with pytest.raises(TypeError):
        canonical_json(mixed)
    with pytest.raises(TypeError):
        snapshot._object(mixed)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_value_json_cannot_hold_fails_as_with_the_encoder(bad):
    with pytest.raises(ValueError):
        snapshot._scalar(bad)
    with pytest.raises(ValueError):
        snapshot._object({"x": bad})
    assert all(key == key and math.isfinite(key) for key in snapshot._FLOAT_TEXTS)


class Person:
    no, name, position, bonus_base = "E1", "张伟", "维修技师", None


def line(**changes) -> dict:
    row = dict(code="kpi_x", name="一次修复率", category="服务质量", unit="%", value=0.92, target=0.9,
               score=92.0, weight=25, effective_weight=50.0, weighted=46.0, explain="一次修复率 0.92 = 0.92",
               na=False, manual=False, error=None, source="template")
    row.update(changes)
    return row


@pytest.mark.parametrize(("lines", "written"), [
    ([line(), line(code="kpi_%s", unit="100%%", value=-0.0, manual=True, weight=1.0)], True),
    ([line(value=None, score=None, na=True, error="DIVIDE_BY_ZERO", explain="DIVIDE_BY_ZERO: 除以零")], True),
    ([line(manual=True), line(manual=1)], False),  # 1 == True but prints as 1: the dict is encoded
    ([dict(line(), extra=1)], False),  # not a line as the rules make them
    ([], True),
])
def test_a_snapshot_written_from_its_parts_is_the_encoded_dict(lines, written):
    cycle = CycleFacts("2024Q1", dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    result = AppraisalResult("tech", "技师", lines=lines, na_notes=["无数据"], subtotal=46.0, adjustment=-0.0,
                             total=46.0, grade="D", grade_label="待改进", outcomes=["培训"],
                             outcome_details=[{"code": "t", "action": "training", "label": "培训",
                                               "coefficient": None}],
                             category_scores={"服务质量": 92.0, "其他": None},
                             variables={"kpi_x": 0.92, "tag:新": 2}, calibration=None,
                             incentive={"amount": "0", "pool": {"code": "S1", "amount": 1.0}})
    station = {"code": "S1", "name": "一站", "segment": "consumer"}
    variables, tags = {"orders": 3.0, "station_orders": 0.0, "a%": 1}, {"新": 2}
    writer = SnapshotWriter(cycle=cycle, rule_version="v1", company="公司")
    expected = canonical_json(build_snapshot(cycle=cycle, rule_version="v1", employee=Person, station=station,
                                             result=result, inputs={"variables": variables, "tags": tags},
                                             adjustment_reason=None, company="公司"))
    for _ in range(2):  # the second time from what was kept
        text = writer.text(employee=Person, station=station, result=result, variables=variables, tags=tags,
                           adjustment_reason=None)
        assert text == expected if written else text is None
