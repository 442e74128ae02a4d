"""Claims, fences and heartbeats; the reaper, the outbox and periodic slots; the table queue."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.jobs import dispatch, ticker
from app.jobs.embedded import ack, claim_message
from app.jobs.queries import job_dict
from app.jobs.runtime import Beat, LostClaim, aware, claim_job, claimed, effective_state, now
from app.models import Job, JobKind, JobMessage, JobPart, JobState
from app.services.errors import Conflict
from tests.jobs.conftest import drain


def new_job(**values) -> int:
    job = Job(kind=values.pop("kind", JobKind.CLEANUP), state=values.pop("state", JobState.QUEUED),
              params=values.pop("params", {}), **values)
    db.session.add(job)
    db.session.commit()
    return job.id


def job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def messages(*, periodic: bool = True) -> list[JobMessage]:
    """The table queue's messages; without those of the periodic jobs a tick opens with ``periodic=False``."""
    db.session.expire_all()
    query = select(JobMessage).order_by(JobMessage.id)
    if not periodic:
        slots = select(Job.celery_task_id).where(Job.dedupe_key.is_not(None))
        query = query.where(JobMessage.task_id.not_in(slots))
    return db.session.scalars(query).all()


def ago(seconds: float) -> dt.datetime:
    return now() - dt.timedelta(seconds=seconds)


# -- claim and fence --------------------------------------------------------------------------------------

def test_a_job_is_claimed_once(jobctx):
    job_id = new_job()
    first = claim_job(job_id)
    assert first is not None and claim_job(job_id) is None
    row = job(job_id)
    assert (row.state, row.claim, row.attempts) == (JobState.RUNNING, first.token, 1)
    assert row.started_at is not None and row.heartbeat_at is not None


def test_a_stale_claim_is_taken_over_and_the_first_delivery_writes_nothing(jobctx):
    job_id = new_job()
    first = claim_job(job_id)
    db.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=ago(10)))
    db.session.commit()
    second = claim_job(job_id)
    assert second is not None and second.token != first.token and job(job_id).attempts == 2

    # The first delivery's work and its finishing UPDATE share a transaction: both roll back.
    other = new_job(kind=JobKind.EXPORT)
    db.session.execute(update(Job).where(Job.id == other).values(stage="written by the loser"))
    with pytest.raises(LostClaim):
        first.finish_in(db.session, result={"by": "first"}, message=None)
    db.session.rollback()
    assert job(other).stage is None

    second.finish_in(db.session, result={"by": "second"}, message=None)
    db.session.commit()
    row = job(job_id)
    assert (row.state, row.result, row.claim) == (JobState.DONE, {"by": "second"}, None)
    assert row.expires_at is not None and row.finished_at is not None


@pytest.mark.parametrize("state", [JobState.DONE, JobState.FAILED])
def test_a_finished_job_delivered_again_is_ignored(jobctx, state):
    job_id = new_job(state=state)
    assert claim_job(job_id) is None
    assert job(job_id).attempts == 0


def test_a_running_job_with_a_fresh_heartbeat_is_not_taken(jobctx):
    job_id = new_job()
    claim_job(job_id)
    assert claim_job(job_id) is None


def test_a_claim_may_ask_for_its_own_condition(jobctx):
    job_id = new_job(state=JobState.RUNNING, stage="render")  # its parts render; nobody holds the job
    assert claim_job(job_id) is None
    assemble = (Job.state == JobState.RUNNING) & Job.claim.is_(None) & (Job.stage == "render")
    run = claim_job(job_id, stage="assemble", when=assemble)
    assert run is not None and claim_job(job_id, when=assemble) is None
    assert (job(job_id).stage, job(job_id).claim) == ("assemble", run.token)


def test_a_job_claimed_too_often_fails_instead_of_looping(jobctx):
    limit = jobctx.config["JIXIAO_JOB_MAX_ATTEMPTS"]
    job_id = new_job(state=JobState.RETRYING, attempts=limit)
    assert claim_job(job_id) is None
    row = job(job_id)
    assert row.state == JobState.FAILED and str(limit) in row.message_en and row.claim is None


def test_the_unfinished_key_is_freed_when_the_job_ends(jobctx):
    job_id = new_job(active_key="compute:1")
    run = claim_job(job_id)
    run.fail({"zh_CN": "失败", "en": "failed"})
    row = job(job_id)
    assert (row.state, row.active_key) == (JobState.FAILED, None)
    assert (row.message_en, row.message_zh) == ("failed", "失败")
    assert new_job(active_key="compute:1")


# -- claimed(): what a task raises, mapped once -----------------------------------------------------------

def test_a_service_refusal_fails_the_job_with_its_message(jobctx):
    job_id = new_job()
    with claimed(job_id) as run:
        assert run is not None
        raise Conflict("Somebody else computes this cycle.")
    row = job(job_id)
    assert row.state == JobState.FAILED and row.message_en == "Somebody else computes this cycle."


def test_an_unexpected_error_fails_the_job_with_its_name(jobctx):
    job_id = new_job()
    with claimed(job_id):
        raise ZeroDivisionError
    row = job(job_id)
    assert row.state == JobState.FAILED and "ZeroDivisionError" in row.message_en and row.message_zh


def test_a_lost_claim_rolls_the_work_back_quietly(jobctx):
    job_id = new_job()
    with claimed(job_id) as run:
        db.session.execute(update(Job).where(Job.id == job_id).values(claim="someone else"))
        db.session.commit()
        run.finish_in(db.session, result={}, message=None)  # raises LostClaim, handled by claimed()
    row = job(job_id)
    assert (row.state, row.claim) == (JobState.RUNNING, "someone else")


def test_the_heartbeat_writes_progress_and_notices_a_lost_claim(jobctx):
    job_id = new_job()
    run = claim_job(job_id)
    run.progress("render", 3, 10)
    beat = Beat(run, 0.05)
    beat.beat()
    row = job(job_id)
    assert (row.stage, row.progress_done, row.progress_total) == ("render", 3, 10)
    db.session.execute(update(Job).where(Job.id == job_id).values(claim="taken over"))
    db.session.commit()
    beat.beat()
    assert run.lost
    with pytest.raises(LostClaim):
        run.progress("render", 4, 10)


# -- what readers see ----------------------------------------------------------------------------------------

FRESH, STALE = 1, 100


@pytest.mark.parametrize(("state", "claim", "beat", "stage", "parts", "seen"), [
    ("queued", None, None, None, None, "queued"),
    ("running", "t", FRESH, None, None, "running"),
    ("running", "t", STALE, None, None, "retrying"),
    ("running", None, STALE, "render", [("done", None, None)], "running"),
    ("running", None, None, "render", [("running", "p", STALE), ("pending", None, None)], "retrying"),
    ("running", None, None, "render", [("running", "p", FRESH), ("pending", None, None)], "running"),
    ("running", None, None, "render", [("done", None, None), ("pending", None, None)], "queued"),
    ("retrying", None, STALE, None, None, "retrying"),
    ("done", None, STALE, None, None, "done"),
    ("failed", "t", STALE, None, None, "failed"),
])
def test_effective_state(state, claim, beat, stage, parts, seen):
    at = now()
    when = None if beat is None else at - dt.timedelta(seconds=beat)
    row = Job(state=JobState(state), claim=claim, heartbeat_at=when, stage=stage)
    rows = None if parts is None else [
        JobPart(state=s, claim=c, heartbeat_at=None if b is None else at - dt.timedelta(seconds=b))
        for s, c, b in parts]
    assert effective_state(row, rows, at, stale=60) == seen


def test_job_dict_is_the_api_shape_in_the_readers_language(jobctx):
    job_id = new_job(progress_done=1, progress_total=4, stage="render", message_zh="进行中",
                     message_en="Working", result_path="results/job-1.zip",
                     expires_at=now() + dt.timedelta(hours=1))
    shown = job_dict(job(job_id), "en")
    assert {"state", "progress", "message", "result_url"} <= set(shown)
    assert shown["progress"] == {"done": 1, "total": 4, "stage": "render", "percent": 25}
    assert (shown["message"], shown["result_url"]) == ("Working", f"/api/v1/job/{job_id}/result")
    assert job_dict(job(job_id), "zh_CN")["message"] == "进行中"
    expired = job_dict(job(job_id), "en", at=now() + dt.timedelta(hours=2))
    assert expired["result_url"] is None


# -- the reaper, the outbox, periodic slots ---------------------------------------------------------------

def test_a_vanished_worker_reads_as_retrying_and_the_reaper_sends_it_again(jobctx):
    job_id = new_job()
    run = claim_job(job_id)
    db.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=ago(10)))
    db.session.commit()
    assert job_dict(job(job_id))["state"] == "retrying"

    assert ticker.tick(jobctx)["reaped"] == 1
    row = job(job_id)
    assert (row.state, row.claim) == (JobState.RETRYING, None)
    assert [(m.task, m.args, m.task_id) for m in messages(periodic=False)] \
        == [("jixiao.cleanup", [job_id], row.celery_task_id)]
    assert ticker.tick(jobctx)["reaped"] == 0  # sent once

    with pytest.raises(LostClaim):  # the vanished delivery, should it come back, cannot finish
        run.finish_in(db.session, result={}, message=None)
    db.session.rollback()
    drain(jobctx)
    row = job(job_id)
    assert (row.state, row.attempts) == (JobState.DONE, 2) and messages() == []


def test_a_stale_part_is_pending_again_and_sent(jobctx):
    job_id = new_job(kind=JobKind.EXPORT, state=JobState.RUNNING, stage="render")
    db.session.add(JobPart(job_id=job_id, number=3, appraisal_ids=[1, 2], state="running", claim="p",
                           heartbeat_at=ago(10)))
    db.session.commit()
    assert ticker.tick(jobctx)["parts"] == 1
    part = db.session.scalars(select(JobPart)).one()
    assert (part.state, part.claim) == ("pending", None)
    assert [(m.task, m.args) for m in messages(periodic=False)] == [("jixiao.export_part", [job_id, 3])]


def test_a_committed_job_whose_message_was_never_sent_is_sent_by_the_ticker(jobctx):
    waiting = new_job(created_at=ago(60))
    recent = new_job()  # its sender may still be about to send it
    assert ticker.tick(jobctx)["sent"] == 1
    assert job(waiting).celery_task_id and job(recent).celery_task_id is None
    assert [m.args for m in messages(periodic=False)] == [[waiting]]


def test_a_job_whose_message_a_vanished_worker_took_is_sent_again_after_the_stale_time(jobctx):
    """The broker gives a taken message back only after the visibility timeout; with nothing waiting in
    the queue, a waiting job sent longer than the stale time ago is sent again at once."""
    ticker.tick(jobctx)  # this slot's periodic jobs, sent now
    job_id = new_job()
    first = dispatch.send_job(job_id)
    assert ticker.tick(jobctx)["taken"] == 0  # just sent
    db.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=ago(10)))
    db.session.commit()
    assert ticker.tick(jobctx)["taken"] == 0  # its message still waits in the queue

    db.session.execute(update(JobMessage).values(claimed_by="gone:1:1", claimed_at=now()))
    db.session.commit()  # a worker took every message and vanished
    assert ticker.tick(jobctx)["taken"] == 1
    assert job(job_id).celery_task_id not in (None, first)
    assert ticker.tick(jobctx)["taken"] == 0  # sent once
    db.session.execute(delete(JobMessage).where(JobMessage.claimed_by == "gone:1:1"))
    db.session.commit()
    drain(jobctx)
    assert (job(job_id).state, job(job_id).attempts) == (JobState.DONE, 1)


def test_a_job_sent_with_a_countdown_waits_for_it_before_it_counts_as_sent(jobctx):
    job_id = new_job(state=JobState.RETRYING)
    dispatch.send_job(job_id, countdown=600)
    assert aware(job(job_id).heartbeat_at) > ago(-500)


def test_a_periodic_slot_gets_one_job_however_many_tick(jobctx):
    assert ticker.tick(jobctx)["opened"] == len(ticker.PERIODIC)  # one job of each periodic kind
    assert ticker.tick(jobctx)["opened"] == 0
    slots = db.session.scalars(select(Job.dedupe_key).where(Job.kind == JobKind.CLEANUP)).all()
    assert len(slots) == 1 and slots[0].startswith("cleanup:")
    assert len(messages()) == len(ticker.PERIODIC)


def test_slot_keys_follow_the_period():
    at = dt.datetime(2026, 12, 3, 14, 59, tzinfo=dt.UTC)
    assert ticker.slot_key("cleanup", dt.timedelta(hours=1), at) == "cleanup:2026-12-03T14:00"
    assert ticker.slot_key("cleanup", dt.timedelta(hours=1), at + dt.timedelta(minutes=1)) \
        == "cleanup:2026-12-03T15:00"


# -- the table queue -----------------------------------------------------------------------------------------

def test_a_claimed_message_is_invisible_until_the_visibility_timeout_and_ack_deletes_it(jobctx):
    dispatch.send("jixiao.cleanup", 1)
    engine = db.engine
    first = claim_message(engine, "a", visibility=0.5)
    assert first is not None and claim_message(engine, "b", visibility=0.5) is None
    time.sleep(0.6)
    again = claim_message(engine, "b", visibility=0.5)
    assert again is not None and again.id == first.id and again.task_id == first.task_id
    ack(engine, again.id)
    assert claim_message(engine, "c", visibility=0.5) is None and messages() == []


def test_a_message_with_a_countdown_waits(jobctx):
    dispatch.send("jixiao.cleanup", 1, countdown=60)
    assert claim_message(db.engine, "a", visibility=10) is None
    assert db.session.scalar(select(func.count()).select_from(JobMessage)) == 1


def test_send_job_sends_a_waiting_job_once(jobctx):
    job_id = new_job()
    assert dispatch.send_job(job_id) is not None
    assert dispatch.send_job(job_id) is None
    assert [m.args for m in messages()] == [[job_id]]


def test_with_a_broker_the_message_goes_to_celery_and_not_into_the_table(jobctx):
    jobctx.config.update(CELERY_BROKER_URL="memory://", JIXIAO_JOB_QUEUE="jixiao-test-broker")
    celery = jobctx.extensions["jixiao_jobs"].celery
    celery.conf.broker_url = "memory://"
    job_id = new_job()
    task_id = dispatch.send_job(job_id)
    assert task_id == job(job_id).celery_task_id and messages() == []
    assert jobctx.extensions["jixiao_jobs"].runner is None
    with celery.connection_for_read() as conn:
        queue = conn.SimpleQueue("jixiao-test-broker")
        message = queue.get(timeout=5)
        assert (message.headers["task"], message.headers["id"]) == ("jixiao.cleanup", task_id)
        assert message.decode()[0] == [job_id]
        message.ack()
        queue.close()


def test_a_job_with_an_active_key_starts_once_while_unfinished(jobctx):
    from app.jobs import JobRunning, start_job

    first = start_job(db.session, JobKind.CLEANUP, owner_id=None, active_key="cleanup:test")
    with pytest.raises(JobRunning) as refused:
        start_job(db.session, JobKind.CLEANUP, owner_id=None, active_key="cleanup:test")
    assert refused.value.job_id == first.id
    again = start_job(db.session, JobKind.CLEANUP, owner_id=None, active_key="cleanup:test", reuse=True)
    assert again.id == first.id
    drain(jobctx)
    db.session.expire_all()
    assert db.session.get(Job, first.id).state == JobState.DONE
    second = start_job(db.session, JobKind.CLEANUP, owner_id=None, active_key="cleanup:test")
    assert second.id != first.id
