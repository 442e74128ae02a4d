"""Background jobs: the job row (the truth about a job), the parts of a job done in pieces, and the
table queue that carries the jobs' messages when no broker is configured.

A message only wakes a worker up; the worker then *claims* the job row with a conditional UPDATE that
stores a fresh token (``claim``), and finishes it with an UPDATE fenced on that token. So a job's result
is written once however often its message is delivered (``app/jobs/runtime.py``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"  # its worker vanished or a transient error: sent again
    DONE = "done"
    FAILED = "failed"


UNFINISHED = (JobState.QUEUED, JobState.RUNNING, JobState.RETRYING)


class JobKind(StrEnum):
    COMPUTE = "compute"
    EXPORT = "export"
    IMPORT = "import"
    CLEANUP = "cleanup"
    DEADLINES = "deadlines"  # reminders, escalations and the daily digest (periodic)
    WHATIF = "whatif"  # a past cycle scored again with another rule-set version; the answer is the result


class Job(Model):
    """One background job: who asked for what, how far it is, and where its result is."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_kind_subject", "kind", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # NULL for the system's own jobs (periodic cleanup), or once the account is gone.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the cycle of a compute or export
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, native_enum=False, length=16, validate_strings=True,
             values_callable=lambda members: [m.value for m in members]),
        nullable=False, default=JobState.QUEUED, index=True,
    )
    stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    progress_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The job's own sentence in both languages, so each reader sees theirs.
    message_zh: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    result_path: Mapped[str | None] = mapped_column(String(255), nullable=True)  # under JIXIAO_JOB_DIR
    result_name: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the download's name
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The last message sent for it; NULL = not sent yet, and the ticker sends it (an outbox).
    celery_task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the running delivery's token
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # "compute:<cycle>" while unfinished, NULL after: one unfinished compute per cycle (NULLs may repeat).
    active_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # One job per periodic slot ("cleanup:2026-12-03T14"), however many workers tick.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)

    def __repr__(self) -> str:
        return f"job {self.id} ({self.kind}, {self.state})"


class JobPart(Model):
    """One piece of a job done in parts (a cycle's PDFs), claimed and finished like a job."""

    __tablename__ = "job_part"
    __table_args__ = (UniqueConstraint("job_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    appraisal_ids: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    claim: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class JobMessage(Model):
    """A message of the table queue (no broker configured): invisible while claimed, until the
    visibility timeout; acknowledging deletes it."""

    __tablename__ = "job_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(64), nullable=False)
    args: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    task_id: Mapped[str] = mapped_column(String(64), nullable=False)
    not_before: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                    index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
