"""The indicator form's preview on real data: one employee's value, target and score, or a station's lowest,
median and highest, as the appraisal shows them (a rate in %, two decimals) rather than raw floats."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from sqlalchemy import select

from app.extensions import db
from app.metrics import compute_metrics
from app.models import Employee, Station
from app.pdf.numbers import format_number, measure
from tests.factories import csrf_token

START, END = dt.date(2020, 1, 1), dt.date(2029, 12, 31)
BODY = {"start": START.isoformat(), "end": END.isoformat(), "code": "x", "name": "x", "category": "服务质量",
        "kind": "formula", "value": "一次修复率", "unit": "%", "target": "0.9",
        "score": "PIECEWISE(value, 0.6, 0, target, 90, 1, 100)"}


@pytest.fixture
def preview(login_as):
    hr = login_as("hr")
    token = csrf_token(hr, "/rules/v/1/indicator/1")

    def _preview(**body):
        r = hr.post("/rules/v/1/preview", json={**BODY, **body}, headers={"X-CSRFToken": token})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.json

    return _preview


def _score(rate: float) -> float:
    """PIECEWISE(rate, 0.6, 0, 0.9, 90, 1, 100)."""
    if rate <= 0.6:
        return 0.0
    if rate <= 0.9:
        return (rate - 0.6) / 0.3 * 90
    return 90 + (min(rate, 1) - 0.9) / 0.1 * 10


def test_one_employee_reads_as_the_appraisal_shows_it(appctx, preview):
    emp1 = db.session.scalar(select(Employee).where(Employee.employee_no == "EMP1"))
    out = preview(employee_id=emp1.id)
    rate = out["value"]
    assert rate is not None and 0 < rate < 1
    shown = {"value": measure(rate, "%"), "target": "90%", "score": format_number(_score(rate))}
    assert out["shown"] == shown
    assert out["shown"]["value"].endswith("%") and len(out["shown"]["value"].split(".")[-1]) <= 3
    assert out["employee"] == f"EMP1 {emp1.name}"
    assert preview(employee_id=emp1.id, unit="")["shown"]["target"] == "0.9"


def test_a_station_gives_its_lowest_median_and_highest(appctx, preview):
    station = db.session.scalar(select(Station).where(Station.code == "S01"))
    metrics = compute_metrics(db.session, START, END, station_ids=[station.id])
    rates = [v["first_fix_rate"] for v in metrics.employees.values() if v["first_fix_rate"] is not None]
    assert len(rates) >= 2

    out = preview(station_id=station.id)
    assert out["station"] == f"S01 {station.name}"
    assert out["headcount"] == len(metrics.employees) and out["counts"]["value"] == len(rates)
    assert out["shown"]["value"] == {"min": measure(min(rates), "%"),
                                     "median": measure(statistics.median(rates), "%"),
                                     "max": measure(max(rates), "%")}
    scores = [_score(r) for r in rates]
    assert out["shown"]["score"] == {"min": format_number(min(scores)),
                                     "median": format_number(statistics.median(scores)),
                                     "max": format_number(max(scores))}
    assert out["error"] is None and out["errors"] == 0


def test_a_station_names_the_first_error_and_how_many_met_one(appctx, preview):
    station = db.session.scalar(select(Station).where(Station.code == "S01"))
    out = preview(station_id=station.id, value="1 / (一次修复率 - 一次修复率)")
    assert out["error"]["code"] == "DIVIDE_BY_ZERO" and out["error"]["field"] == "value"
    assert out["errors"] > 0 and out["counts"]["value"] == 0 and out["shown"]["value"] is None


def test_an_unknown_station_is_not_found(appctx, login_as):
    hr = login_as("hr")
    token = csrf_token(hr, "/rules/v/1/indicator/1")
    r = hr.post("/rules/v/1/preview", json={**BODY, "station_id": 10**9}, headers={"X-CSRFToken": token})
    assert r.status_code == 404
