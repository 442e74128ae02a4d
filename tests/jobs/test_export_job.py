"""A cycle's PDF export as a job: parts planned once, each rendered once, one whole zip assembled once;
a part whose worker vanished is rendered again; the ticker sends what a vanished worker did not."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import zipfile

import pytest
from flask import current_app
from sqlalchemy import delete, select, update

from app.extensions import db
from app.jobs import storage, ticker
from app.jobs.export import (
    claim_part,
    export_assemble,
    export_cycle,
    export_part,
    latest_export,
    start_export,
)
from app.jobs.runtime import aware, now
from app.models import Appraisal, Job, JobMessage, JobPart, JobState, SignedPdf
from app.services import pdf_export
from app.services.cycles import create_cycle
from tests.factories import caller, demo_cycle, signing
from tests.jobs.conftest import drain
from tests.jobs.test_runner import start_worker, stop_worker

PART_SIZE = 2


@pytest.fixture
def exporting(jobctx, monkeypatch):
    """Parts of two; a quick stand-in for WeasyPrint that counts what it renders (the real renderer is
    exercised by tests/signoff/test_export.py)."""
    jobctx.config["JIXIAO_EXPORT_PART_SIZE"] = PART_SIZE
    rendered: list[int] = []

    def render(snapshot, locale):
        rendered.append(snapshot["appraisal_id"] if "appraisal_id" in snapshot else len(rendered))
        return b"%PDF-1.7 stand-in " + repr(sorted(snapshot)).encode()[:200]

    monkeypatch.setattr(pdf_export, "render_appraisal_pdf", render)
    return rendered


def current_ids(cycle_id: int) -> list[int]:
    return list(db.session.scalars(select(Appraisal.id).where(
        Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True)).order_by(Appraisal.id)))


def job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def parts(job_id: int) -> list[JobPart]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobPart).where(JobPart.job_id == job_id).order_by(JobPart.number)))


def messages(task: str) -> list[JobMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobMessage).where(JobMessage.task == task).order_by(JobMessage.id)))


def start(cycle=None) -> int:
    cycle = cycle or demo_cycle()
    return start_export(db.session, cycle, caller(current_app._get_current_object(), "hr"), "zh_CN").id


def plan(job_id: int) -> None:
    """Run the entry task alone, and forget its messages (the test delivers the parts by hand)."""
    export_cycle.apply(args=[job_id])
    db.session.execute(delete(JobMessage))
    db.session.commit()


def ago(seconds: float) -> dt.datetime:
    return now() - dt.timedelta(seconds=seconds)


def result_zip(job_id: int) -> zipfile.ZipFile:
    row = job(job_id)
    assert row.state == JobState.DONE and row.result_path
    return zipfile.ZipFile(storage.absolute(row.result_path))


def test_the_export_is_planned_in_parts_rendered_and_assembled_into_one_zip(exporting):
    app = current_app._get_current_object()
    signed_id = signing(app, "EMP1")[0]
    cycle = demo_cycle()
    ids = current_ids(cycle.id)
    job_id = start(cycle)
    drain(app)

    row = job(job_id)
    assert row.state == JobState.DONE, row.message_en
    assert (row.progress_done, row.progress_total) == (len(ids), len(ids))
    assert row.result == {"pdfs": len(ids), "cycle_id": cycle.id}
    assert row.result_name == f"{cycle.name}.zip" and row.active_key is None
    assert str(len(ids)) in row.message_en and row.message_zh
    with result_zip(job_id) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
        assert len(names) == len(ids) == len(set(names))
        assert all(name.endswith(".pdf") and "/" not in name for name in names)
        stored = db.session.scalar(select(SignedPdf.pdf).where(SignedPdf.appraisal_id == signed_id))
        assert archive.read("EMP1_张伟.pdf") == stored  # the signed document, byte for byte
    assert len(exporting) == len(ids) - 1  # every unsigned one rendered once; the signed one copied
    assert [p.state for p in parts(job_id)] == ["done"] * -(-len(ids) // PART_SIZE)
    assert not storage.part_dir(job_id).exists()  # the parts' files are gone with the job's end
    assert not list(storage.job_dir().rglob("*.tmp"))


def test_parts_are_planned_once_however_often_the_entry_task_runs(exporting):
    job_id = start()
    total = len(current_ids(demo_cycle().id))
    export_cycle.apply(args=[job_id])
    first = [(p.number, p.appraisal_ids) for p in parts(job_id)]
    assert len(first) == -(-total // PART_SIZE) and all(len(ids) <= PART_SIZE for _, ids in first)
    assert sorted(i for _, ids in first for i in ids) == current_ids(demo_cycle().id)
    assert [m.args for m in messages(ticker.PART_TASK)] == [[job_id, n] for n, _ in first]
    row = job(job_id)
    assert (row.state, row.stage, row.claim) == (JobState.RUNNING, "render", None)
    assert (row.progress_done, row.progress_total) == (0, total)

    export_cycle.apply(args=[job_id])  # delivered again: the job is held by its parts, nothing happens
    assert [(p.number, p.appraisal_ids) for p in parts(job_id)] == first
    assert len(messages(ticker.PART_TASK)) == len(first)

    # Its worker vanished mid-plan after the parts were written: the redelivery sends the pending ones only.
    export_part.apply(args=[job_id, 1])
    db.session.execute(update(Job).where(Job.id == job_id).values(state=JobState.RETRYING, stage="plan"))
    db.session.execute(delete(JobMessage))
    db.session.commit()
    export_cycle.apply(args=[job_id])
    assert [(p.number, p.appraisal_ids) for p in parts(job_id)] == first
    assert [m.args[1] for m in messages(ticker.PART_TASK)] == [n for n, _ in first[1:]]
    assert job(job_id).progress_done == len(first[0][1])
    drain(current_app._get_current_object())
    assert job(job_id).state == JobState.DONE


def test_a_part_delivered_twice_renders_once_and_the_progress_goes_up_to_the_total(exporting):
    job_id = start()
    plan(job_id)
    numbers = [p.number for p in parts(job_id)]
    export_part.apply(args=[job_id, 1])
    once = len(exporting)
    assert once == len(parts(job_id)[0].appraisal_ids)
    export_part.apply(args=[job_id, 1])
    assert len(exporting) == once and parts(job_id)[0].state == "done"

    seen = [job(job_id).progress_done]
    for number in numbers[1:]:
        export_part.apply(args=[job_id, number])
        seen.append(job(job_id).progress_done)
    total = job(job_id).progress_total
    assert seen == sorted(seen) and seen[-1] == total
    # The last part sent the assembly once.
    assert [m.args for m in messages(ticker.ASSEMBLE_TASK)] == [[job_id]]


def test_the_zip_is_assembled_once_and_nothing_is_under_its_name_until_it_is_whole(exporting, monkeypatch):
    from app.jobs import export as module

    job_id = start()
    plan(job_id)
    for part in parts(job_id):
        export_part.apply(args=[job_id, part.number])
    target = storage.result_path(job_id, ".zip")
    seen_early: list[bool] = []
    real = module.unique_name
    monkeypatch.setattr(module, "unique_name", lambda name, used: (seen_early.append(target.exists()),
                                                                   real(name, used))[1])
    export_assemble.apply(args=[job_id])
    assert seen_early and not any(seen_early)
    attempts, written = job(job_id).attempts, target.stat().st_mtime_ns
    export_assemble.apply(args=[job_id])  # a second assembly message finds the job done
    assert (job(job_id).attempts, target.stat().st_mtime_ns) == (attempts, written)
    with result_zip(job_id) as archive:
        assert archive.testzip() is None and len(archive.namelist()) == job(job_id).progress_total


def test_a_part_whose_worker_vanished_is_rendered_again_and_the_zip_is_whole(exporting):
    app = current_app._get_current_object()
    job_id = start()
    plan(job_id)
    dead = claim_part(job_id, 2)  # claimed, and its worker died: no heartbeat ever again
    half = storage.part_path(job_id, 2).with_name(f"part-00002.{dead.token}.zip.tmp")
    half.write_bytes(b"PK\x03\x04 half a zip")
    for part in parts(job_id):
        if part.number != 2:
            export_part.apply(args=[job_id, part.number])
    assert job(job_id).state == JobState.RUNNING and not messages(ticker.ASSEMBLE_TASK)

    db.session.execute(update(JobPart).where(JobPart.job_id == job_id, JobPart.number == 2)
                       .values(heartbeat_at=ago(60)))
    db.session.commit()
    assert latest_export(db.session, demo_cycle().id, "en")["state"] == "retrying"
    assert ticker.tick(app)["parts"] == 1
    assert [m.args for m in messages(ticker.PART_TASK)] == [[job_id, 2]]
    drain(app)

    row = job(job_id)
    assert row.state == JobState.DONE and row.progress_done == row.progress_total
    with result_zip(job_id) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == len(current_ids(demo_cycle().id))
    part = parts(job_id)[1]
    assert (part.state, part.attempts) == ("done", 2)
    # The vanished delivery, should it come back, passes no fence.
    late = update(JobPart.__table__).where(dead.fenced()).values(state="done")
    assert db.session.execute(late).rowcount == 0
    db.session.rollback()


def test_the_ticker_sends_the_assembly_a_vanished_worker_did_not_send(exporting):
    app = current_app._get_current_object()
    job_id = start()
    plan(job_id)
    for part in parts(job_id):
        export_part.apply(args=[job_id, part.number])
    db.session.execute(delete(JobMessage))  # the worker died before the assembly's message went out
    db.session.commit()
    assert ticker.tick(app)["assemble"] == 0  # the last part has just finished: not yet
    db.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=ago(60)))
    db.session.commit()
    assert ticker.tick(app)["assemble"] == 1
    assert ticker.tick(app)["assemble"] == 0  # sent once per stale time
    drain(app)
    assert job(job_id).state == JobState.DONE


def test_parts_whose_messages_were_never_sent_or_lost_are_sent_by_the_ticker(exporting):
    app = current_app._get_current_object()
    job_id = start()
    plan(job_id)
    # Nobody sent them (the sender died, the broker was down), and the job's plan is old enough.
    db.session.execute(update(JobPart).where(JobPart.job_id == job_id).values(heartbeat_at=None))
    db.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=ago(60)))
    db.session.commit()
    count = len(parts(job_id))
    assert ticker.tick(app)["parts_sent"] == count
    assert ticker.tick(app)["parts_sent"] == 0
    assert len(messages(ticker.PART_TASK)) == count

    # Sent, but never taken within the visibility timeout: presumed lost, sent again.
    db.session.execute(delete(JobMessage))
    db.session.execute(update(JobPart).where(JobPart.job_id == job_id).values(heartbeat_at=ago(7200)))
    db.session.commit()
    assert ticker.tick(app)["parts_sent"] == count
    drain(app)
    assert job(job_id).state == JobState.DONE


def test_parts_whose_messages_a_vanished_worker_took_are_sent_again_after_the_stale_time(exporting):
    """A worker took the parts' messages and vanished before claiming a part: the queue gives the
    messages back only after the visibility timeout, so with nothing waiting in the queue the ticker
    sends the parts again after the stale time. While messages wait in the queue, it leaves them."""
    app = current_app._get_current_object()
    job_id = start()
    plan(job_id)
    count = len(parts(job_id))
    ticker.send_parts(job_id, [part.number for part in parts(job_id)])
    db.session.execute(update(JobPart).where(JobPart.job_id == job_id).values(heartbeat_at=ago(30)))
    db.session.commit()
    assert ticker.tick(app)["parts_sent"] == 0  # their messages wait in the queue, behind nothing lost
    assert len(messages(ticker.PART_TASK)) == count

    db.session.execute(update(JobMessage).values(claimed_by="gone:1:1", claimed_at=now()))
    db.session.commit()
    assert ticker.tick(app)["parts_sent"] == count
    assert ticker.tick(app)["parts_sent"] == 0  # once per stale time
    db.session.execute(delete(JobMessage).where(JobMessage.claimed_by == "gone:1:1"))
    db.session.commit()
    drain(app)
    assert job(job_id).state == JobState.DONE


def test_a_part_sent_with_a_countdown_is_not_presumed_lost_before_its_time(exporting):
    """A part given back after a database error is sent again with a countdown (the message waits in
    a worker meanwhile): it counts as sent when it may start, so the ticker leaves it until then."""
    app = current_app._get_current_object()
    job_id = start()
    plan(job_id)
    db.session.execute(update(JobPart).where(JobPart.job_id == job_id).values(heartbeat_at=None))
    db.session.commit()
    ticker.send_parts(job_id, [1], countdown=600)
    db.session.execute(update(JobMessage).values(claimed_by="alive:1:1", claimed_at=now()))
    db.session.commit()
    assert aware(parts(job_id)[0].heartbeat_at) > ago(-500)
    waiting = [part.number for part in parts(job_id) if part.number != 1]
    assert ticker.tick(app)["parts_sent"] == 0  # the others were planned just now: not yet "never sent"
    db.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=ago(60)))
    db.session.commit()
    assert ticker.tick(app)["parts_sent"] == len(waiting)  # never sent; part 1 is not among them
    assert sorted(m.args[1] for m in messages(ticker.PART_TASK) if m.claimed_by is None) == waiting


def test_a_job_whose_parts_were_all_reaped_finishes(exporting):
    app = current_app._get_current_object()
    job_id = start()
    plan(job_id)
    holds = [claim_part(job_id, part.number) for part in parts(job_id)]
    assert all(holds)
    db.session.execute(update(JobPart).where(JobPart.job_id == job_id).values(heartbeat_at=ago(60)))
    db.session.commit()
    assert ticker.tick(app)["parts"] == len(holds)
    drain(app)
    assert job(job_id).state == JobState.DONE
    assert len(exporting) == len(current_ids(demo_cycle().id))  # nothing signed in this test


def test_a_missing_part_file_is_rendered_again_before_the_assembly(exporting):
    job_id = start()
    plan(job_id)
    for part in parts(job_id):
        export_part.apply(args=[job_id, part.number])
    storage.part_path(job_id, 1).unlink()
    db.session.execute(delete(JobMessage))
    db.session.commit()
    export_assemble.apply(args=[job_id])
    row = job(job_id)
    assert (row.state, row.stage, row.claim) == (JobState.RUNNING, "render", None)
    assert parts(job_id)[0].state == "pending"
    assert [m.args for m in messages(ticker.PART_TASK)] == [[job_id, 1]]
    drain(current_app._get_current_object())
    row = job(job_id)
    assert row.state == JobState.DONE and row.progress_done == row.progress_total


def test_a_part_that_cannot_be_rendered_fails_the_job(exporting, monkeypatch):
    def broken(snapshot, locale):
        raise ValueError("bad snapshot")

    monkeypatch.setattr(pdf_export, "render_appraisal_pdf", broken)
    job_id = start()
    drain(current_app._get_current_object())
    row = job(job_id)
    assert row.state == JobState.FAILED and "ValueError" in row.message_en and row.active_key is None
    assert row.result_path is None


def test_an_empty_cycle_is_done_at_once_without_a_zip(exporting):
    start_day = dt.date(2031, 1, 1)
    cycle = create_cycle(db.session, "空周期", start_day, start_day + dt.timedelta(days=30))
    job_id = start(cycle)
    drain(current_app._get_current_object())
    row = job(job_id)
    assert row.state == JobState.DONE and row.result == {"pdfs": 0} and row.result_path is None
    assert "nothing to export" in row.message_en and row.message_zh and parts(job_id) == []


def test_a_second_start_joins_the_unfinished_export(exporting):
    first = start()
    assert start() == first
    drain(current_app._get_current_object())
    assert start() != first


def test_two_worker_processes_render_the_parts_and_a_worker_killed_mid_part_loses_nothing(
        jobctx, database_url, tmp_path):
    """Real `flask --app run worker` processes (the table queue) and the real renderer: the worker holding a
    part is killed (SIGKILL) mid-part; the other's ticker reaps the part, it finishes, the zip is whole."""
    settings = {"JIXIAO_EXPORT_PART_SIZE": "2", "JIXIAO_JOB_STALE_SECONDS": "3",
                "JIXIAO_JOB_TICK_SECONDS": "0.5"}
    total = len(current_ids(demo_cycle().id))
    job_id = start()
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    workers = {}
    for log in logs:
        worker = start_worker(jobctx, database_url, log, **settings)
        workers[worker.pid] = (worker, log)
    try:
        deadline = time.monotonic() + 90
        holder = None
        while holder is None:  # a part being rendered, and the worker whose message it is (host:pid:thread)
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            running = [(p.job_id, p.number) for p in parts(job_id) if p.state == "running"]
            for message in messages(ticker.PART_TASK):
                if tuple(message.args) in running and message.claimed_by:
                    holder = int(message.claimed_by.split(":")[1])
            db.session.rollback()
            time.sleep(0.02)
        killed, _ = workers.pop(holder)
        os.kill(holder, signal.SIGKILL)
        killed.wait()
        deadline = time.monotonic() + 120
        while (row := job(job_id)).state not in (JobState.DONE, JobState.FAILED):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            db.session.rollback()
            time.sleep(0.2)
    finally:
        texts = [stop_worker(worker, log) for worker, log in workers.values()]
    assert row.state == JobState.DONE, (row.message_en, texts)
    assert row.progress_done == row.progress_total == total
    assert any(part.attempts >= 2 for part in parts(job_id))  # the killed worker's part, rendered again
    with result_zip(job_id) as archive:
        assert archive.testzip() is None and len(archive.namelist()) == total
        assert all(archive.read(name).startswith(b"%PDF-") for name in archive.namelist())
