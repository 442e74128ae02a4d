"""Computing a cycle: one appraisal per employee with its snapshot (what is computed, hashed and signed);
recompute shows what changed and leaves locked appraisals alone; amendment makes a new version; CLI and
API."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, AuditEvent, Cycle, Employee, Station
from app.services.compute import CycleError, compute_cycle
from app.services.cycles import create_cycle
from app.services.errors import Conflict
from app.services.snapshot import snapshot_hash
from app.services.transitions import amend_appraisal
from app.workflow import CommentRequired, TransitionRefused
from tests.cycles.conftest import (
    FRESH,
    appraisal_ids,
    current,
    demo_period,
    events,
    person,
    spoil_first_fix,
    wait_job,
)
from tests.factories import counted

SNAPSHOT_KEYS = {"company", "cycle", "rule_version", "employee", "station", "lines", "na_notes", "subtotal",
                 "adjustment", "adjustment_reason", "total", "grade", "grade_label", "outcomes", "comments",
                 "trail", "category_scores", "signed", "variables"}
LINE_KEYS = {"code", "name", "category", "unit", "value", "target", "score", "weight", "effective_weight",
             "weighted", "explain", "na", "manual"}


def test_compute_writes_one_appraisal_per_employee_with_its_snapshot(app, fresh):
    with app.app_context():
        cycle = db.session.get(Cycle, fresh)
        assert cycle.status.value == "computed" and cycle.rule_set_version_id is not None
        rows = db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == fresh)).all()
        employees = {e.employee_no for e in db.session.scalars(select(Employee))}
        appraised = {a.employee.employee_no for a in rows}
        assert {f"EMP{i}" for i in range(1, 11)} <= appraised <= employees
        assert len(rows) == len(appraised)  # one each
        for a in rows:
            s = a.snapshot
            assert SNAPSHOT_KEYS <= set(s), SNAPSHOT_KEYS - set(s)
            assert s["employee"]["no"] == a.employee.employee_no
            assert s["station"]["code"] == a.station.code
            assert s["cycle"] == {"name": FRESH, "start": cycle.start.isoformat(),
                                  "end": cycle.end.isoformat()}
            assert s["lines"] and all(LINE_KEYS <= set(line) for line in s["lines"])
            assert a.snapshot_hash == snapshot_hash(s)
            assert (a.state.value, a.version, a.is_current) == ("draft", 1, True)
            assert (a.total, a.grade, a.subtotal) == (s["total"], s["grade"], s["subtotal"])
            if a.total is not None:
                assert a.subtotal == pytest.approx(sum(line["weighted"] or 0 for line in s["lines"]), abs=0.1)
                counted = [line for line in s["lines"] if not line["na"]]
                assert sum(line["effective_weight"] for line in counted) == pytest.approx(100, abs=0.1)
            (event,) = events(a.id)
            assert (event.action, event.from_state, event.to_state, event.snapshot_hash) == (
                "compute", None, "draft", a.snapshot_hash)


def test_a_cycle_covers_only_its_stations(app):
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, "S02 only", start, end, ["S02"])
        result = compute_cycle(db.session, cycle)
        stations = set(db.session.scalars(
            select(Station.code).join(Appraisal, Appraisal.station_id == Station.id)
            .where(Appraisal.cycle_id == cycle.id)))
        assert stations == {"S02"}
        assert result.created == len(appraisal_ids(cycle.id)) >= 5


def test_recompute_changes_drafts_shows_what_changed_and_leaves_locked_ones(app, moves, fresh):
    with app.app_context():
        cycle = db.session.get(Cycle, fresh)
        again = compute_cycle(db.session, cycle)
        assert (again.created, again.changed, again.locked) == (0, [], 0)
        assert again.unchanged == len(appraisal_ids(fresh))

        moves.to_approved("EMP1")
        moves.to_pending_review("EMP2")
        locked = current(fresh, "EMP1")
        before = {no: current(fresh, no).snapshot_hash for no in ("EMP1", "EMP2", "EMP3")}
        for no in ("EMP1", "EMP2", "EMP3"):
            spoil_first_fix(no)
        cycle = db.session.get(Cycle, fresh)
        result = compute_cycle(db.session, cycle)
        changed = {c.employee_no: c for c in result.changed}
        # their own metrics changed, and the station's (station_<code> variables) for all of S01
        assert {"EMP2", "EMP3"} <= set(changed) and "EMP1" not in changed
        assert {current(fresh, no).station.code for no in changed} == {"S01"}
        assert result.locked == 1
        assert changed["EMP2"].state == "pending_review" and changed["EMP3"].state == "draft"
        for no in ("EMP2", "EMP3"):
            a = current(fresh, no)
            assert a.snapshot_hash != before[no] and a.total == changed[no].new_total
            assert [e.action for e in events(a.id, "recompute")] == ["recompute"]
        assert current(fresh, "EMP2").state.value == "pending_review"  # a recompute moves no state
        assert current(fresh, "EMP1").snapshot_hash == locked.snapshot_hash == before["EMP1"]
        assert events(locked.id, "recompute") == []
        assert db.session.get(Cycle, fresh).last_result["updated"] == len(changed)


def test_recompute_keeps_the_review_inputs(app, moves, fresh):
    with app.app_context():
        moves.to_pending_review("EMP4")
        moves.review("sup1", "EMP4", adjustment=3, reason="客户表扬")
        spoil_first_fix("EMP4")
        compute_cycle(db.session, db.session.get(Cycle, fresh))
        a = current(fresh, "EMP4")
        assert (a.adjustment, a.adjustment_reason) == (3, "客户表扬")
        assert a.total == pytest.approx(min(100, a.subtotal + 3), abs=0.01)
        assert a.snapshot["adjustment_reason"] == "客户表扬"


def test_amendment_makes_a_new_version_that_goes_back_to_review(app, moves, fresh):
    with app.app_context():
        moves.to_approved("EMP5")
        old = current(fresh, "EMP5")
        hr, sup1 = person(app, "hr"), person(app, "sup1")
        with pytest.raises(CommentRequired):
            amend_appraisal(db.session, old.id, hr, "  ")
        with pytest.raises(TransitionRefused):
            amend_appraisal(db.session, old.id, sup1, "更正")
        spoil_first_fix("EMP5")
        new = amend_appraisal(db.session, old.id, hr, "工单数据更正后重算")
        db.session.expire_all()
        old = db.session.get(Appraisal, old.id)
        assert (new.version, new.state.value, new.is_current) == (2, "pending_review", True)
        assert (old.state.value, old.is_current) == ("approved", False)
        assert new.snapshot_hash != old.snapshot_hash
        (event,) = events(new.id)
        assert (event.action, event.from_state, event.to_state, event.comment) == (
            "amend", "approved", "pending_review", "工单数据更正后重算")
        with pytest.raises(Conflict):  # the old version is history
            amend_appraisal(db.session, old.id, hr, "再改")
        # a recompute now works on the new version; the old one stays as it was
        compute_cycle(db.session, db.session.get(Cycle, fresh))
        assert db.session.get(Appraisal, old.id).snapshot_hash == old.snapshot_hash


def test_scoring_on_several_cores_gives_the_same_snapshots(app):
    app.config.update(JIXIAO_COMPUTE_WORKERS=2, JIXIAO_COMPUTE_PARALLEL_MIN=1)
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, "并行", start, end)
        seen = []
        first = compute_cycle(db.session, cycle, lambda stage, done, total: seen.append((stage, done, total)))
        assert first.created == len(appraisal_ids(cycle.id)) > 10
        assert ("appraise", first.created, first.created) in seen
        app.config.update(JIXIAO_COMPUTE_WORKERS=1)
        again = compute_cycle(db.session, db.session.get(Cycle, cycle.id))
        assert (again.changed, again.unchanged) == ([], first.created)


@pytest.mark.parametrize(("name", "start", "end", "stations", "code"), [
    ("", "2024-01-01", "2024-03-31", None, "BAD_NAME"),
    ("x" * 101, "2024-01-01", "2024-03-31", None, "BAD_NAME"),
    ("反了", "2024-03-31", "2024-01-01", None, "BAD_PERIOD"),
    ("太长", "2020-01-01", "2024-03-31", None, "BAD_PERIOD"),
    ("没有的站", "2024-01-01", "2024-03-31", ["S01", "S99"], "UNKNOWN_STATION"),
    (FRESH, "2024-01-01", "2024-03-31", None, "NAME_TAKEN"),
])
def test_bad_cycles_are_refused_and_change_nothing(app, fresh, name, start, end, stations, code):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Cycle))
        with pytest.raises(CycleError) as error:
            create_cycle(db.session, name, dt.date.fromisoformat(start), dt.date.fromisoformat(end), stations)
        assert error.value.code == code and error.value.message
        assert db.session.scalar(select(func.count()).select_from(Cycle)) == before


def test_cli_create_compute_and_recompute(app):
    with app.app_context():
        start, end = demo_period()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["cycle", "create", "--name", "CLI周期", "--start", start.isoformat(),
                                 "--end", end.isoformat(), "--stations", "S01,S03", "--compute"])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    again = runner.invoke(args=["cycle", "compute", "CLI周期"])
    assert again.exit_code == 0, again.output
    assert "0 created, 0 changed" in again.output
    missing = runner.invoke(args=["cycle", "compute", "没有这个周期"])
    assert missing.exit_code != 0
    bad = runner.invoke(args=["cycle", "create", "--name", "坏", "--start", "2024-02-01",
                              "--end", "2024-01-01"])
    assert bad.exit_code != 0
    listed = runner.invoke(args=["cycle", "list"])
    assert "CLI周期" in listed.output
    with app.app_context():
        cycle = db.session.scalar(select(Cycle).where(Cycle.name == "CLI周期"))
        codes = set(db.session.scalars(
            select(Station.code).join(Appraisal, Appraisal.station_id == Station.id)
            .where(Appraisal.cycle_id == cycle.id)))
        assert codes <= {"S01", "S03"} and "S01" in codes


def test_api_lists_creates_and_computes_cycles(app, api_as, fresh):
    hr, emp = api_as("hr"), api_as("emp1")
    listed = emp.get("/api/v1/cycle/")
    assert listed.status_code == 200 and FRESH in [c["name"] for c in listed.json["result"]]
    with app.app_context():
        start, end = demo_period()
    body = {"name": "API周期", "start": start.isoformat(), "end": end.isoformat(), "stations": ["S01"]}
    assert emp.post("/api/v1/cycle/", json=body).status_code == 403
    assert hr.post("/api/v1/cycle/", json={**body, "start": "2024-13-01"}).status_code == 422
    created = hr.post("/api/v1/cycle/", json=body)
    assert created.status_code == 201, created.json
    pk = created.json["id"]
    assert hr.post("/api/v1/cycle/", json=body).status_code == 422  # the name is taken
    assert api_as("sup1").post(f"/api/v1/cycle/{pk}/compute").status_code == 403
    assert hr.post("/api/v1/cycle/999999/compute").status_code == 404
    started = hr.post(f"/api/v1/cycle/{pk}/compute")
    assert started.status_code == 202 and set(started.json) == {"job_id"}
    computed = wait_job(app, started.json["job_id"])
    assert computed["state"] == "done" and computed["result"]["created"] >= 5
    created = computed["result"]["created"]
    shown = emp.get(f"/api/v1/cycle/{pk}")
    assert shown.status_code == 200 and shown.json["result"]["stations"] == ["S01"]
    # counts stay within the caller's scope: an employee's own draft is not theirs to see yet
    assert shown.json["result"]["appraisals"] == {}
    assert api_as("sup1").get(f"/api/v1/cycle/{pk}").json["result"]["appraisals"] == {"draft": 5}
    assert hr.get(f"/api/v1/cycle/{pk}").json["result"]["appraisals"] == {"draft": created}
    assert hr.get(f"/api/v1/cycle/{pk}/progress").json["appraisals"] == {"draft": created}


def test_a_compute_reports_progress_until_done(app, api_as):
    hr = api_as("hr")
    with app.app_context():
        start, end = demo_period()
    pk = hr.post("/api/v1/cycle/", json={"name": "后台周期", "start": start.isoformat(),
                                         "end": end.isoformat()}).json["id"]
    started = hr.post(f"/api/v1/cycle/{pk}/compute", json={"background": True})  # "background" is ignored
    assert started.status_code == 202
    job_id = started.json["job_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = hr.get(f"/api/v1/cycle/{pk}/progress").json
        assert progress["job_id"] == job_id
        if not progress["running"]:
            break
        time.sleep(0.2)
    assert progress["status"] == "computed" and progress["error"] is None and progress["state"] == "done"
    assert progress["job"]["state"] == "done" and progress["job"]["result"]["cycle_id"] == pk
    assert progress["appraisals"]["draft"] >= 10
    # the job's details are its owner's and HR's: a supervisor reads the progress without them
    other = api_as("sup1").get(f"/api/v1/cycle/{pk}/progress").json
    assert other["job_id"] == job_id and other["job"] is None and other["running"] is False
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).join(Appraisal).where(
            Appraisal.cycle_id == pk)) == progress["appraisals"]["draft"]


def test_a_broken_workflow_in_the_rule_set_stops_the_compute(app, monkeypatch):
    from app.services import workflows
    from app.workflow import WorkflowTableError

    def broken(session, version_id):
        raise WorkflowTableError([("workflow.toml", "坏了", "broken")])

    monkeypatch.setattr(workflows, "workflow_table", broken)
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, "坏流程", start, end)
        with pytest.raises(CycleError) as error:
            compute_cycle(db.session, cycle)
        assert error.value.code == "BAD_WORKFLOW" and "坏了" in error.value.message
        assert db.session.scalar(select(func.count()).select_from(Appraisal)
                                 .where(Appraisal.cycle_id == cycle.id)) == 0


def test_the_compute_writes_with_whole_transaction_statements_on_sqlite(app):
    """A compute's bulk writes keep no statement journal on SQLite (app.bulk.WHOLE): new appraisals, their
    events, and on a recompute the rewritten ones and theirs. Other databases get plain statements."""
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, "整体写入", start, end)
        sqlite = db.engine.dialect.name == "sqlite"
        with counted(app) as statements:
            created = compute_cycle(db.session, cycle)
        spoil_first_fix("EMP3")
        with counted(app) as statements_again:
            again = compute_cycle(db.session, db.session.get(Cycle, cycle.id))
        assert created.created > 0 and again.changed
        writes = [s for s in statements + statements_again
                  if s.startswith(("INSERT", "UPDATE")) and re.search(r"\b(appraisal|audit_event)\b", s[:60])]
        kinds = {" ".join(s.replace(" OR ROLLBACK", "").split()[:3]) for s in writes}
        assert kinds == {"INSERT INTO appraisal", "INSERT INTO audit_event", "UPDATE appraisal SET"}, kinds
        assert all((" OR ROLLBACK " in s) == sqlite for s in writes), [s[:40] for s in writes]
