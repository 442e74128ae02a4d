"""``flask --app run audit verify-chain``: exit 0 on a whole chain, non-zero naming the first broken
record."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.extensions import db

SIGNED_AT_SHIFT = {
    "sqlite": "UPDATE hash_chain_record SET signed_at = datetime(signed_at, '+1 second') WHERE seq = :seq",
    "postgresql": "UPDATE hash_chain_record SET signed_at = signed_at + interval '1 second' WHERE seq = :seq",
}


def verify_chain(app):
    return app.test_cli_runner().invoke(args=["audit", "verify-chain"])


def raw(sql: str, **params) -> None:
    """Change the database behind the ORM's back, as someone with database access could."""
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_an_intact_chain_passes(app, signed_two):
    result = verify_chain(app)
    assert result.exit_code == 0, result.output
    assert "intact: 2 records" in result.output


def test_an_empty_chain_passes(app):
    result = verify_chain(app)
    assert result.exit_code == 0 and "0 records" in result.output


@pytest.mark.parametrize(("tamper", "named"), [
    ("UPDATE hash_chain_record SET signer_user_id = 1 WHERE seq = 2", "chain record 2"),
    ("signed_at", "chain record 2"),
    ("UPDATE hash_chain_record SET pdf_sha256 = :fake WHERE seq = 1", "chain record 1"),
    ("UPDATE hash_chain_record SET prev_hash = :fake WHERE seq = 2", "chain record 2"),
    ("UPDATE hash_chain_record SET seq = 3 WHERE seq = 2", "chain record 2"),
    ("DELETE FROM hash_chain_record WHERE seq = 1", "chain record 1"),
    ("DELETE FROM hash_chain_record WHERE seq = 2", "outside the chain"),
    ("UPDATE signed_pdf SET sha256 = :fake"
     " WHERE appraisal_id = (SELECT appraisal_id FROM hash_chain_record WHERE seq = 2)",
     "chain record 2"),
])
def test_a_tampered_record_is_named(app, signed_two, appctx, tamper, named):
    if tamper == "signed_at":
        tamper = SIGNED_AT_SHIFT[db.engine.dialect.name]
    raw(tamper, seq=2, fake="f" * 64)
    result = verify_chain(app)
    assert result.exit_code != 0
    assert f"broken at {named}" in result.output, result.output


def test_changed_pdf_bytes_are_found(app, signed_two, appctx):
    """The stored PDF itself changed, its recorded hash left alone: the bytes are hashed again."""
    first = signed_two[0]
    data = bytearray(db.session.execute(text("SELECT pdf FROM signed_pdf WHERE appraisal_id = :a"),
                                        {"a": first}).scalar_one())
    data[500] ^= 0xFF
    db.session.rollback()
    raw("UPDATE signed_pdf SET pdf = :pdf WHERE appraisal_id = :a", pdf=bytes(data), a=first)
    result = verify_chain(app)
    assert result.exit_code != 0
    expected = f"chain record 1 (appraisal {first}): the stored PDF is not the one that was signed"
    assert expected in result.output


def test_a_signed_appraisal_without_its_pdf_is_found(app, signed, appctx):
    raw("DELETE FROM hash_chain_record")
    raw("DELETE FROM signed_pdf")
    result = verify_chain(app)
    assert result.exit_code != 0
    assert f"appraisal {signed}): the appraisal is signed but has no stored PDF" in result.output
