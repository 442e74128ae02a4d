"""Sign-off records: the stored PDF of a signed appraisal and the hash chain over them.

Both tables are **append-only**. Rows are inserted by ``app.services.signoff.on_sign`` inside the
``sign`` transition's transaction and never change afterwards:

* the mapper events below refuse a flush that would UPDATE or DELETE a loaded row, and
* the session event refuses ``session.execute(update(...)/delete(...))`` aimed at either table
  (ORM-enabled or Core, as long as it goes through an ORM session).

That is a guard against mistakes in application code, not against someone with database access:
raw SQL or another client can still change a row. The chain is what makes such a change visible:
every record's hash covers the previous record's hash and the PDF's SHA-256, so
``flask --app run audit verify-chain`` names the first record that no longer adds up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .appraisal import Appraisal
from .base import Model

GENESIS_HASH = "0" * 64


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_iso(when: dt.datetime) -> str:
    """A moment as the fixed ISO text that is hashed (SQLite gives naive UTC, PostgreSQL aware)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(prev_hash: str, appraisal_id: int, appraisal_version: int, pdf_sha256: str,
               signer_user_id: int | None, signed_at: dt.datetime) -> str:
    """SHA-256 of one chain record's content, as canonical JSON (no ambiguity between fields)."""
    content = [prev_hash, int(appraisal_id), int(appraisal_version), pdf_sha256,
               None if signer_user_id is None else int(signer_user_id), utc_iso(signed_at)]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode("ascii")).hexdigest()


class AppendOnly(Exception):
    """Somebody tried to change or delete a sign-off record."""


class SignedPdf(Model):
    """The PDF bytes an employee signed, exactly as stored at the moment of signing."""

    __tablename__ = "signed_pdf"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisal.id"), nullable=False, unique=True)
    appraisal: Mapped[Appraisal] = relationship()
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    signer_user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)

    def __repr__(self) -> str:
        return f"signed PDF of appraisal {self.appraisal_id} ({self.sha256[:12]})"


class HashChainRecord(Model):
    """One link of the sign-off chain: ``record_hash = chain_hash(prev_hash, …)``."""

    __tablename__ = "hash_chain_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisal.id"), nullable=False, index=True)
    appraisal_version: Mapped[int] = mapped_column(Integer, nullable=False)
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    signer_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    record_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    def expected_hash(self) -> str:
        return chain_hash(self.prev_hash, self.appraisal_id, self.appraisal_version, self.pdf_sha256,
                          self.signer_user_id, self.signed_at)

    def __repr__(self) -> str:
        return f"chain record {self.seq} (appraisal {self.appraisal_id})"


class VerifyAttempt(Model):
    """A call of the public verify endpoint, for its per-address rate limit (shared by all workers)."""

    __tablename__ = "verify_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)  # naive UTC


APPEND_ONLY = (SignedPdf, HashChainRecord)
_APPEND_ONLY_TABLES = frozenset(model.__table__.name for model in APPEND_ONLY)


def _refuse(mapper, connection, target) -> None:
    raise AppendOnly(f"{type(target).__name__} rows are append-only: {target!r} cannot be changed or deleted")


for _model in APPEND_ONLY:
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _APPEND_ONLY_TABLES:
        raise AppendOnly(f"{table.name} rows are append-only: no UPDATE or DELETE")
