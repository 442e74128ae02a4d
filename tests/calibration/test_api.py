"""The calibration API: the distribution scoped like the screen (HR every station, a station manager their
own, anyone else 403), and HR's calibration of one appraisal with every error answered by its kind; many
calibrations of one appraisal at once: one wins, the others get 409."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, AuditEvent
from app.services.publication import publish
from tests.calibration.conftest import RESULTS
from tests.factories import ApiClient, caller, current, events, jwt_token

URL = "/api/v1/calibration/appraisal/{}"


@pytest.fixture
def approved(app, moves):
    """EMP1 approved in the fresh cycle (B); its appraisal id."""
    with app.app_context():
        moves.to_approved("EMP1")
        pk = moves.id("EMP1")
        db.session.remove()
    return pk


def test_hr_reads_every_station(api_as, hand):
    r = api_as("hr").get(f"/api/v1/calibration/{hand}")
    assert r.status_code == 200, r.json
    assert [s["key"] for s in r.json["stations"]] == ["S01", "S02"]
    assert r.json["whole_network"] is True and r.json["network"]["headcount"] == 12
    assert r.json["network"]["counts"] == {"A": 3, "B": 4, "C": 3, "D": 2}
    assert [(b["scope"], b["grade"], b["count"], b["allowed"]) for b in r.json["breaches"]] == [
        ("network", "A", 3, 2)]
    assert r.json["breaches"][0]["message"].startswith("全网")
    assert len(r.json["boundary"]) == 8 and r.json["boundary_total"] == 8
    english = api_as("hr").get(f"/api/v1/calibration/{hand}?_l_=en")
    assert english.json["breaches"][0]["message"].startswith("Network")
    assert english.json["grades"][0] == {"grade": "A", "label": "Excellent", "min": 90}


def test_a_station_manager_reads_their_station_only(api_as, hand):
    r = api_as("manager1").get(f"/api/v1/calibration/{hand}")
    assert r.status_code == 200
    assert [s["key"] for s in r.json["stations"]] == ["S01"]
    assert r.json["whole_network"] is False and r.json["breaches"] == []
    assert {p["station"] for p in r.json["boundary"]} == {"S01"}
    assert r.json["network"]["headcount"] == sum(1 for no, (_t, g) in RESULTS.items() if g and no in (
        "EMP1", "EMP2", "EMP3", "EMP4", "EMP5", "MANAGER1", "SUP1"))


@pytest.mark.parametrize("who", ["sup1", "emp1"])
def test_others_are_refused(api_as, hand, who):
    r = api_as(who).get(f"/api/v1/calibration/{hand}")
    assert r.status_code == 403 and "人力资源" in r.json["message"]


def test_an_unknown_cycle_is_not_found(api_as, client):
    assert api_as("hr").get("/api/v1/calibration/999999").status_code == 404
    assert client.get("/api/v1/calibration/1").status_code == 401


def test_hr_calibrates(app, api_as, approved):
    r = api_as("hr").post(f"/api/v1/calibration/appraisal/{approved}",
                          json={"total": 91, "comment": "校准理由", "visibility": "shared"})
    assert r.status_code == 200, r.json
    assert (r.json["previous_id"], r.json["version"], r.json["state"], r.json["total"], r.json["grade"]) == (
        approved, 2, "approved", 91.0, "A")
    with app.app_context():
        new = current(current_cycle(approved), "EMP1")
        assert new.id == r.json["id"] and new.snapshot_hash == r.json["hash"]
        (event,) = events(new.id)
        assert (event.action, event.visibility) == ("calibrate", "shared")
        assert event.comment.endswith("校准理由")
    r = api_as("hr").post(URL.format(r.json["id"]), json={"grade": "B", "comment": "再议"})
    assert r.status_code == 200 and (r.json["grade"], r.json["total"], r.json["version"]) == ("B", 91.0, 3)


def current_cycle(appraisal_id: int) -> int:
    return db.session.get(Appraisal, appraisal_id).cycle_id


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"grade": "Z", "comment": "x"}, 422, "grade"),
    ({"total": 120, "comment": "x"}, 422, "total"),
    ({"total": "91", "comment": "x"}, 422, None),
    ({"comment": "x"}, 422, "total"),
    ({"grade": "A"}, 422, None),
    ({"grade": "A", "comment": "x", "visibility": "everyone"}, 422, "visibility"),
    ({"grade": "A", "comment": "x", "hash": "0" * 64}, 409, None),
    ({"grade": "A", "comment": 5}, 400, None),
    ([1, 2], 400, None),
])
def test_errors_by_their_kind(app, api_as, approved, body, status, field):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    r = api_as("hr").post(f"/api/v1/calibration/appraisal/{approved}", json=body)
    assert r.status_code == status, r.json
    assert r.json["message"]
    if field:
        assert field in r.json["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_the_message_follows_the_language(api_as, approved):
    r = api_as("hr").post(URL.format(approved) + "?_l_=en", json={"grade": "Z", "comment": "x"})
    assert r.status_code == 422 and "rule set's grades" in r.json["message"]
    r = api_as("hr").post(f"/api/v1/calibration/appraisal/{approved}", json={"grade": "Z", "comment": "x"})
    assert "等级必须" in r.json["message"]


def test_a_station_manager_may_not_and_is_told_why(api_as, approved):
    r = api_as("manager1").post(URL.format(approved), json={"grade": "A", "comment": "x"})
    assert r.status_code == 403 and r.json["code"] == "NOT_PERMITTED" and "人力资源" in r.json["message"]


@pytest.mark.parametrize("who", ["emp3", "sup2"])
def test_outside_the_scope_is_not_found(api_as, approved, who):
    r = api_as(who).post(f"/api/v1/calibration/appraisal/{approved}", json={"grade": "A", "comment": "x"})
    assert r.status_code == 404


def test_many_calibrations_at_once_one_wins(app, approved):
    token = jwt_token(app.test_client(), "hr")
    clients = [ApiClient(app.test_client(), token) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int | None] = [None] * len(clients)

    def run(i, api):
        barrier.wait()
        statuses[i] = api.post(f"/api/v1/calibration/appraisal/{approved}",
                               json={"grade": "A", "comment": f"第 {i} 次"}).status_code

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(statuses) == [200, 409, 409, 409], statuses
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "calibrate")) == 1


def test_after_publication_the_employee_sees_the_calibrated_result_without_the_internal_reason(
        app, api_as, approved):
    r = api_as("hr").post(URL.format(approved), json={"total": 91, "comment": "内部校准理由"})
    assert r.status_code == 200
    new_id = r.json["id"]
    emp = api_as("emp1")
    assert emp.get(f"/api/v1/appraisal/{new_id}").status_code == 404  # not published yet
    with app.app_context():
        cycle_id = current_cycle(approved)
        publish(db.session, cycle_id, caller(app, "hr"))
        db.session.remove()
    r = emp.get(f"/api/v1/appraisal/{new_id}")
    assert r.status_code == 200 and (r.json["result"]["grade"], r.json["result"]["total"]) == ("A", 91.0)
    assert "内部校准理由" not in json.dumps(r.json, ensure_ascii=False)
    hr_sees = api_as("hr").get(f"/api/v1/appraisal/{new_id}").json
    assert any("内部校准理由" in (e["comment"] or "") for e in hr_sees["result"]["trail"])
