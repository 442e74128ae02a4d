"""``POST /api/v1/cycle/`` with ``"compute": true`` starts the new cycle's compute as the compute call
does."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, AuditEvent
from tests.cycles.conftest import demo_period, wait_job


def new_cycle(app, name: str, **extra) -> dict:
    with app.app_context():
        start, end = demo_period()
    return {"name": name, "start": start.isoformat(), "end": end.isoformat(), **extra}


def appraisals(app, pk: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Appraisal).where(Appraisal.cycle_id == pk))


def test_compute_true_starts_the_compute_at_once(app, api_as):
    hr = api_as("hr")
    created = hr.post("/api/v1/cycle/", json=new_cycle(app, "建即算", stations=["S01"], compute=True))
    assert created.status_code == 201, created.json
    pk = created.json["id"]
    assert set(created.json["compute"]) == {"job_id"}
    job = wait_job(app, created.json["compute"]["job_id"])
    assert job["state"] == "done" and job["subject_id"] == pk and job["result"]["created"] >= 5
    assert appraisals(app, pk) == job["result"]["created"]
    assert hr.get(f"/api/v1/cycle/{pk}").json["result"]["status"] == "computed"
    with app.app_context():  # in HR's name, as the compute call records it
        hr_id = app.appbuilder.sm.find_user(username="hr").id
        actors = set(db.session.scalars(select(AuditEvent.user_id).join(Appraisal)
                                        .where(Appraisal.cycle_id == pk)))
        who = set(db.session.scalars(select(AuditEvent.who).join(Appraisal).where(Appraisal.cycle_id == pk)))
    assert actors == {hr_id} and who and "system" not in who


def test_without_compute_nothing_is_computed(app, api_as):
    created = api_as("hr").post("/api/v1/cycle/", json=new_cycle(app, "只建"))
    assert created.status_code == 201 and "compute" not in created.json
    assert appraisals(app, created.json["id"]) == 0


def test_background_is_ignored_the_compute_is_always_a_job(app, api_as):
    hr = api_as("hr")
    created = hr.post("/api/v1/cycle/", json=new_cycle(app, "建后台算", compute=True, background=True))
    assert created.status_code == 201 and set(created.json["compute"]) == {"job_id"}
    pk = created.json["id"]
    assert wait_job(app, created.json["compute"]["job_id"])["state"] == "done"
    progress = hr.get(f"/api/v1/cycle/{pk}/progress").json
    assert progress["status"] == "computed" and not progress["running"]
    assert progress["appraisals"]["draft"] >= 10


def test_compute_must_be_true_or_false(app, api_as):
    response = api_as("hr").post("/api/v1/cycle/", json=new_cycle(app, "坏参数", compute="yes"))
    assert response.status_code == 422 and response.json["message"]


def test_the_openapi_document_lists_compute(api_as):
    spec = api_as("hr").get("/api/v1/_openapi").json
    schema = spec["paths"]["/api/v1/cycle/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["compute"] == {"type": "boolean"}
