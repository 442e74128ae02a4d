"""Sign-off: freeze the signed PDF, chain its hash, and answer "is this the signed PDF?".

* :func:`on_sign` runs inside the ``sign`` transition's transaction (:func:`register_effects`
  registers it as the effect of entering ``signed``; the app factory calls it): it renders the final
  document (the snapshot with its trail and signature), stores the bytes and their SHA-256, and
  appends a :class:`HashChainRecord`. If anything fails the whole transition rolls back: there is no
  signed appraisal without its PDF.
* :func:`verify_pdf_bytes` / :func:`verify_sha256` look a document up by its SHA-256 among the
  signed PDFs that the chain vouches for; who it is and which appraisal only to those whose scope
  includes it, a masked name to anyone else.
* :func:`verify_chain` walks the chain and returns the first record that no longer adds up.
* :func:`appraisal_pdf` gives the stored bytes once signed, else renders the PDF live.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.orm import undefer

from ..clock import local_iso
from ..locales import default_locale
from ..models import Appraisal, Cycle, Employee
from ..models.signoff import GENESIS_HASH, HashChainRecord, SignedPdf, VerifyAttempt, chain_hash
from ..pdf import render_appraisal_pdf
from ..scoping import NOTHING, Scope, scope_clause
from ..workflow import State
from .document import document_snapshot
from .transitions import register_effect

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Any constant: the key of the PostgreSQL advisory lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = 0x4A58_5349  # "JXSI"


class InvalidDigest(ValueError):
    """The text is not a SHA-256 in hexadecimal."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def render_live(session, appraisal: Appraisal, locale: str | None = None) -> bytes:
    """The appraisal's PDF as it reads now (its snapshot, trail, comments and signature)."""
    locale = locale or default_locale()
    return render_appraisal_pdf(document_snapshot(session, appraisal, locale), locale)


# --- signing ----------------------------------------------------------------------------------


def on_sign(session, appraisal: Appraisal, actor, *, signed_at: dt.datetime | None = None,
            locale: str | None = None) -> SignedPdf:
    """Store the signed PDF of ``appraisal`` and append its chain record, in the caller's transaction.

    ``actor`` is whatever signed: anything with a ``user_id`` (the workflow's Actor, the sign
    AuditEvent) or a user id. Call it after the appraisal has moved to ``signed`` and its audit event
    exists, so that the document carries the signature; the caller commits (or rolls back).
    """
    user_id = actor if isinstance(actor, int) or actor is None else actor.user_id
    signed_at = signed_at or getattr(actor, "at", None) or _utcnow()
    locale = locale or default_locale()
    pdf = render_live(session, appraisal, locale)
    digest = sha256_hex(pdf)

    _lock_chain(session)
    head = session.execute(
        select(HashChainRecord.seq, HashChainRecord.record_hash).order_by(HashChainRecord.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head.seq + 1, head.record_hash) if head else (1, GENESIS_HASH)
    stored = SignedPdf(appraisal_id=appraisal.id, pdf=pdf, size=len(pdf), sha256=digest,
                       signer_user_id=user_id, signed_at=signed_at, locale=locale)
    record = HashChainRecord(
        seq=seq, prev_hash=prev_hash, appraisal_id=appraisal.id, appraisal_version=appraisal.version,
        pdf_sha256=digest, signer_user_id=user_id, signed_at=signed_at,
        record_hash=chain_hash(prev_hash, appraisal.id, appraisal.version, digest, user_id, signed_at),
    )
    session.add_all([stored, record])
    session.flush()
    return stored


def sign_effect(session, appraisal: Appraisal, event) -> None:
    """The effect of entering ``signed``: the sign transition's audit event is the signature."""
    on_sign(session, appraisal, event, signed_at=event.at)


def register_effects() -> None:
    """Signing stores the final PDF and appends its chain record inside the sign transition's own
    transaction: no signed appraisal without its frozen PDF. Idempotent (several apps may call it)."""
    register_effect(State.signed.value, sign_effect)


def _lock_chain(session) -> None:
    """Serialise appends so that two sign-offs at once cannot both extend the same head. SQLite
    already has one writer at a time (the transition's UPDATE holds the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})


# --- reading ------------------------------------------------------------------------------------


def signed_pdf_of(session, appraisal_id: int) -> SignedPdf | None:
    return session.scalar(
        select(SignedPdf).options(undefer(SignedPdf.pdf)).where(SignedPdf.appraisal_id == appraisal_id)
    )


def appraisal_pdf(session, appraisal: Appraisal, locale: str | None = None) -> bytes:
    """The stored bytes once signed (whatever ``locale``), else the PDF rendered live."""
    stored = signed_pdf_of(session, appraisal.id)
    return stored.pdf if stored is not None else render_live(session, appraisal, locale)


def pdf_filename(appraisal: Appraisal) -> tuple[str, str]:
    """(ASCII file name, full UTF-8 file name) for a download, e.g. ("appraisal-EMP1-12.pdf",
    "演示考核 2024Q3-EMP1-张伟.pdf")."""
    snapshot = appraisal.snapshot
    employee_no = str(snapshot.get("employee", {}).get("no", ""))
    name = str(snapshot.get("employee", {}).get("name", ""))
    cycle = str(snapshot.get("cycle", {}).get("name", ""))
    ascii_no = re.sub(r"[^A-Za-z0-9_-]+", "", employee_no)[:40]
    fallback = f"appraisal-{ascii_no + '-' if ascii_no else ''}{appraisal.id}.pdf"
    full = safe_file_name("-".join(part for part in (cycle, employee_no, name) if part)) or fallback[:-4]
    return fallback, f"{full}.pdf"


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def safe_file_name(name: str, limit: int = 120) -> str:
    """A name without separators or characters file systems (and headers) refuse."""
    return _UNSAFE_NAME.sub("_", name).replace("..", "_").strip(" ._")[:limit]


# --- verifying a document ------------------------------------------------------------------------


def normalise_sha256(value) -> str:
    """The lower-case hex digest, or InvalidDigest (spaces around and upper case are accepted)."""
    digest = value.strip().lower() if isinstance(value, str) else ""
    if not SHA256_HEX.fullmatch(digest):
        raise InvalidDigest(value)
    return digest


def mask_name(name: str) -> str:
    """A name as a stranger holding the document may see it: the first character, then one ``*``
    per further character (张伟 → 张*, 欧阳娜娜 → 欧***, John Smith → J*** *****). Spaces stay, so
    a Latin name keeps its shape; a name of one character shows none of it."""
    name = " ".join((name or "").split())
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "".join(" " if ch == " " else "*" for ch in name[1:])


def verify_sha256(session, hex_digest: str, scope: Scope = NOTHING) -> dict:
    """Whether a document with this SHA-256 was signed (and the chain vouches for it), and which.

    Anyone may ask; what the answer reveals depends on ``scope`` (app.scoping). To a caller whose
    scope includes the appraisal (its employee, their reviewers, HR): ``{"match": True,
    "appraisal_id", "signed_at", "employee", "employee_no", "cycle", "sha256"}``. To anyone else,
    only what confirms the document they hold: ``"appraisal_id"`` and ``"employee_no"`` are None and
    ``"employee"`` is masked (:func:`mask_name`). No match: ``{"match": False, "sha256"}``. Raises
    InvalidDigest for text that is no SHA-256.
    """
    digest = normalise_sha256(hex_digest)
    row = session.execute(
        select(SignedPdf.appraisal_id, SignedPdf.signed_at, Employee.name, Employee.employee_no, Cycle.name,
               scope_clause(Appraisal, scope).label("in_scope"))
        .join(HashChainRecord, (HashChainRecord.appraisal_id == SignedPdf.appraisal_id)
              & (HashChainRecord.pdf_sha256 == SignedPdf.sha256))
        .join(Appraisal, Appraisal.id == SignedPdf.appraisal_id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(SignedPdf.sha256 == digest)
        .order_by(SignedPdf.id)
        .limit(1)
    ).first()
    if row is None:
        return {"match": False, "sha256": digest}
    appraisal_id, signed_at, name, employee_no, cycle, in_scope = row
    answer = {"match": True, "appraisal_id": appraisal_id, "signed_at": local_iso(signed_at),
              "employee": name, "employee_no": employee_no, "cycle": cycle, "sha256": digest}
    if not in_scope:
        answer.update(appraisal_id=None, employee=mask_name(name), employee_no=None)
    return answer


def verify_pdf_bytes(session, data: bytes, scope: Scope = NOTHING) -> dict:
    """:func:`verify_sha256` of the document's bytes: one changed byte and it no longer matches."""
    return verify_sha256(session, sha256_hex(data), scope)


# --- verifying the chain ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain does not add up."""

    seq: int | None  # the record (None: a signed appraisal or PDF outside the chain)
    appraisal_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"chain record {self.seq}" if self.seq is not None else "outside the chain"
        if self.appraisal_id is not None:
            where += f" (appraisal {self.appraisal_id})"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    records: int
    broken: ChainBreak | None


def _records(session, batch: int = 100) -> Iterator[tuple[HashChainRecord, str | None, bytes | None]]:
    """The chain in order with each record's stored PDF, a batch at a time (bounded memory)."""
    last = 0
    while True:
        rows = session.execute(
            select(HashChainRecord, SignedPdf.sha256, SignedPdf.pdf)
            .outerjoin(SignedPdf, SignedPdf.appraisal_id == HashChainRecord.appraisal_id)
            .where(HashChainRecord.seq > last).order_by(HashChainRecord.seq).limit(batch)
        ).all()
        if not rows:
            return
        last = rows[-1][0].seq
        yield from rows  # the identity map holds rows weakly: a batch goes once it is walked


def walk_chain(session, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Check every record: consecutive numbers, each linking the previous hash, its own hash
    matching its content, its PDF present with the recorded SHA-256 (recomputed from the bytes);
    then that no signed appraisal or stored PDF is missing from the chain."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for record, stored_sha, pdf in _records(session):
        count += 1
        where = record.seq, record.appraisal_id
        if record.seq != expected_seq:
            missing = f"the record is missing (the next one is {record.seq})"
            return ChainReport(count, ChainBreak(expected_seq, None, missing))
        if record.prev_hash != prev_hash:
            return ChainReport(count, ChainBreak(*where,
                                                 "its previous hash does not match the record before it"))
        if record.expected_hash() != record.record_hash:
            return ChainReport(count, ChainBreak(*where, "its hash does not match its content"))
        if pdf is None:
            return ChainReport(count, ChainBreak(*where, "its signed PDF is missing"))
        if stored_sha != record.pdf_sha256 or sha256_hex(pdf) != record.pdf_sha256:
            return ChainReport(count, ChainBreak(*where, "the stored PDF is not the one that was signed"))
        prev_hash, expected_seq = record.record_hash, expected_seq + 1
        if progress:
            progress(count)

    unchained = session.scalar(
        select(SignedPdf.appraisal_id)
        .where(~exists().where(HashChainRecord.appraisal_id == SignedPdf.appraisal_id))
        .order_by(SignedPdf.appraisal_id).limit(1)
    )
    if unchained is not None:
        return ChainReport(count, ChainBreak(None, unchained, "a signed PDF has no chain record"))
    unsigned = session.scalar(
        select(Appraisal.id).where(Appraisal.state == State.signed,
                                   ~exists().where(SignedPdf.appraisal_id == Appraisal.id))
        .order_by(Appraisal.id).limit(1)
    )
    if unsigned is not None:
        return ChainReport(count, ChainBreak(None, unsigned, "the appraisal is signed but has no stored PDF"))
    return ChainReport(count, None)


def verify_chain(session) -> ChainBreak | None:
    """The first broken record of the sign-off chain, or None when it is whole."""
    return walk_chain(session).broken


def chain_length(session) -> int:
    return session.scalar(select(func.count()).select_from(HashChainRecord)) or 0


# --- the public verify endpoint's rate limit ----------------------------------------------------


def verify_attempt_allowed(session, address: str, *, limit: int, window_seconds: int) -> bool:
    """Count one verify call from ``address``; False when it already made ``limit`` calls in the
    window. Kept in the database so that every server worker sees the same count; old attempts
    are pruned on the way. Commits its own small transaction."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    since = now - dt.timedelta(seconds=window_seconds)
    try:
        session.execute(delete(VerifyAttempt).where(VerifyAttempt.at < since))
        recent = session.scalar(select(func.count()).select_from(VerifyAttempt)
                                .where(VerifyAttempt.address == address[:64], VerifyAttempt.at >= since))
        allowed = recent < limit
        if allowed:
            session.add(VerifyAttempt(address=address[:64], at=now))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return allowed
