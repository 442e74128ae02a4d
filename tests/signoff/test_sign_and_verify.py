"""Signing stores the final PDF and chains its hash; verify recognises exactly those bytes."""

from __future__ import annotations

import hashlib
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import Appraisal, HashChainRecord, SignedPdf
from app.models.signoff import GENESIS_HASH, AppendOnly, chain_hash
from app.scoping import Scope
from app.services import signoff
from app.services.caller import caller_for
from app.services.transitions import transition
from tests.signoff.conftest import appraisal_of, sign


def stored(appraisal_id: int) -> SignedPdf:
    return signoff.signed_pdf_of(db.session, appraisal_id)


def test_sign_stores_the_final_pdf_and_its_chain_record(signed, appctx):
    pdf = stored(signed)
    assert pdf.pdf.startswith(b"%PDF-") and pdf.size == len(pdf.pdf)
    assert pdf.sha256 == hashlib.sha256(pdf.pdf).hexdigest()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.pdf)).pages)
    assert "张伟" in text and "签字确认" in text  # the employee, and the signature in the trail
    assert "电子签署" in text  # the signature block is filled in
    record = db.session.scalar(select(HashChainRecord))
    assert (record.seq, record.prev_hash, record.appraisal_id, record.pdf_sha256) == (
        1, GENESIS_HASH, signed, pdf.sha256)
    assert record.record_hash == chain_hash(GENESIS_HASH, signed, 1, pdf.sha256, pdf.signer_user_id,
                                            record.signed_at)
    assert pdf.signer_user_id == db.session.get(Appraisal, signed).employee.user_id


def test_the_second_signature_links_the_first(signed_two, appctx):
    first, second = db.session.scalars(select(HashChainRecord).order_by(HashChainRecord.seq)).all()
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev_hash == first.record_hash
    assert signoff.verify_chain(db.session) is None


def test_verify_the_stored_bytes_matches(signed, appctx):
    answer = signoff.verify_pdf_bytes(db.session, stored(signed).pdf, Scope(everything=True))
    assert answer["match"] is True
    assert answer["appraisal_id"] == signed
    assert answer["employee"] == "张伟" and answer["employee_no"] == "EMP1"
    assert answer["signed_at"].endswith("+08:00")  # Asia/Shanghai


def test_outside_the_scope_verify_says_only_that_it_matches(signed, appctx):
    answer = signoff.verify_pdf_bytes(db.session, stored(signed).pdf)  # nobody's scope
    assert answer["match"] is True and answer["cycle"] and answer["signed_at"]
    assert (answer["appraisal_id"], answer["employee"], answer["employee_no"]) == (None, "张*", None)
    other = db.session.get(Appraisal, signed).employee.supervisor_id + 1000  # someone else's own records only
    outside = signoff.verify_pdf_bytes(db.session, stored(signed).pdf, Scope(employee_id=other))
    assert outside["employee"] == "张*"


@pytest.mark.parametrize(("name", "masked"), [
    ("张伟", "张*"), ("欧阳娜娜", "欧***"), ("王", "*"), ("", ""), ("John Smith", "J*** *****"),
    ("  Ann   Lee ", "A** ***"), ("Zoë", "Z**"),
])
def test_mask_name(name, masked):
    assert signoff.mask_name(name) == masked


@pytest.mark.parametrize("where", [0, 1000, -1])
def test_one_changed_byte_does_not_match(signed, appctx, where):
    data = bytearray(stored(signed).pdf)
    data[where] ^= 0x01
    assert signoff.verify_pdf_bytes(db.session, bytes(data)) == {
        "match": False, "sha256": hashlib.sha256(bytes(data)).hexdigest()}


def test_unknown_hash_does_not_match(signed, appctx):
    assert signoff.verify_sha256(db.session, "ab" * 32)["match"] is False
    # upper case and spaces around are the same hash
    assert signoff.verify_sha256(db.session, f"  {stored(signed).sha256.upper()} ")["match"] is True


@pytest.mark.parametrize("text", ["", "xyz", "ab" * 31, "ab" * 33, "g" * 64, None, 12])
def test_not_a_sha256_is_refused(appctx, text):
    with pytest.raises(signoff.InvalidDigest):
        signoff.verify_sha256(db.session, text)


def test_the_pdf_of_a_signed_appraisal_is_the_stored_one(signed, appctx):
    appraisal = db.session.get(Appraisal, signed)
    assert signoff.appraisal_pdf(db.session, appraisal, "en") == stored(signed).pdf


def test_a_failing_render_rolls_the_signature_back(appctx, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(signoff, "render_live", broken)
    appraisal_id = appraisal_of("EMP1").id
    with pytest.raises(RuntimeError):
        sign(appctx, "EMP1")
    db.session.expire_all()
    assert db.session.get(Appraisal, appraisal_id).state.value == "approved"
    assert db.session.scalar(select(SignedPdf)) is None and db.session.scalar(select(HashChainRecord)) is None
    assert [e.action for e in db.session.get(Appraisal, appraisal_id).events][-1] != "sign"


def test_entering_signed_stores_the_pdf_whatever_the_action_is_called(appctx, monkeypatch):
    from app.services import workflows

    text = workflows.default_workflow_file().read_text(encoding="utf-8")
    renamed = text.replace('sign = { zh = "签字确认", en = "Sign" }',
                           'confirm = { zh = "确认", en = "Confirm" }')
    renamed = renamed.replace('action = "sign"', 'action = "confirm"')
    assert renamed.count("confirm") == 2
    monkeypatch.setattr(workflows, "workflow_table",
                        lambda session, version_id: workflows.table_from_text(renamed))
    appraisal = appraisal_of("EMP1")
    user = appctx.appbuilder.sm.find_user(username="emp1")
    assert transition(db.session, appraisal.id, caller_for(db.session, user), "confirm", "") == "signed"
    assert stored(appraisal.id).pdf.startswith(b"%PDF")
    assert db.session.scalar(select(HashChainRecord)) is not None


def test_records_are_append_only_through_the_orm(signed, appctx):
    record = db.session.scalar(select(HashChainRecord))
    record.signer_user_id = 999
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    pdf = db.session.scalar(select(SignedPdf))
    db.session.delete(pdf)
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    for statement in (update(SignedPdf).values(sha256="0" * 64), delete(HashChainRecord),
                      update(HashChainRecord.__table__).values(seq=5)):
        with pytest.raises(AppendOnly):
            db.session.execute(statement)
        db.session.rollback()
    assert signoff.verify_chain(db.session) is None
