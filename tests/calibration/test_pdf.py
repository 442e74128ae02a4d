"""The employee's PDF shows the calibrated result: the PDF of the new version carries the total and grade HR
set (its snapshot is what the PDF renders) and the calibration line (computed → calibrated), and the old
version's PDF still shows what was computed."""

from __future__ import annotations

import io

from pypdf import PdfReader

from app.extensions import db
from app.services.calibration import calibrate
from tests.factories import caller, current


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_shows_the_calibrated_result(app, moves, api_as):
    with app.app_context():
        moves.to_approved("EMP1")
        old = current(moves.cycle_id, "EMP1")
        old_id, old_total = old.id, old.total
        new_id = calibrate(db.session, old_id, caller(app, "hr"), total=91.5, reason="校准理由").id
        db.session.remove()
    hr = api_as("hr")
    r = hr.get(f"/api/v1/appraisal/{new_id}/pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = text_of(r.data)
    assert "91.5" in text and "优秀" in text
    assert f"B → A，{old_total:.1f} → 91.5" in text.replace("\n", "")  # the calibration line
    before = text_of(hr.get(f"/api/v1/appraisal/{old_id}/pdf").data)
    assert f"{old_total:.2f}".rstrip("0").rstrip(".") in before and "良好" in before and "91.5" not in before
    assert "B → A" not in before
