"""``GET /api/v1/appraisal/<id>/pdf``: scoped per role (404 outside), a PDF with a safe file name."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SignedPdf
from tests.signoff.conftest import current_id

# EMP1 is in S01 (supervisor sup1, station manager manager1); sup2 supervises S02 and, in the demo, stands
# in for sup1 (so sees sup1's reports).
SEES_EMP1 = {"admin": True, "hr": True, "manager1": True, "sup1": True, "emp1": True,
             "sup2": True, "emp2": False, "emp6": False}


@pytest.fixture
def emp1_appraisal(app):
    return current_id(app, "EMP1")


@pytest.mark.parametrize(("username", "sees"), sorted(SEES_EMP1.items()))
def test_pdf_is_scoped_per_role(api_as, emp1_appraisal, username, sees):
    response = api_as(username).get(f"/api/v1/appraisal/{emp1_appraisal}/pdf")
    if sees:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    else:
        assert response.status_code == 404
        assert response.json == {"message": "未找到。"}


def test_pdf_needs_a_login(app, emp1_appraisal):
    assert app.test_client().get(f"/api/v1/appraisal/{emp1_appraisal}/pdf").status_code == 401


@pytest.mark.parametrize("pk", ["0", "999999", "2147483648", "abc", "-1"])
def test_no_such_appraisal_is_404(api_as, pk):
    assert api_as("hr").get(f"/api/v1/appraisal/{pk}/pdf").status_code == 404


def test_file_name_is_ascii_with_a_utf8_variant(api_as, emp1_appraisal):
    header = api_as("emp1").get(f"/api/v1/appraisal/{emp1_appraisal}/pdf").headers["Content-Disposition"]
    header.encode("latin-1")  # a header must be encodable as is
    expected = f'attachment; filename="appraisal-EMP1-{emp1_appraisal}.pdf"; filename*=UTF-8\'\''
    assert header.startswith(expected)
    full = unquote(header.split("UTF-8''", 1)[1])
    assert full.endswith("-EMP1-张伟.pdf") and "/" not in full


def test_signed_appraisal_gives_the_stored_bytes(app, api_as, signed):
    data = api_as("emp1").get(f"/api/v1/appraisal/{signed}/pdf?_l_=en").data
    with app.app_context():
        stored = db.session.scalar(select(SignedPdf.sha256).where(SignedPdf.appraisal_id == signed))
    assert hashlib.sha256(data).hexdigest() == stored


def test_browser_download_from_the_appraisal_screen(login_as, emp1_appraisal):
    browser = login_as("emp1")
    page = browser.get(f"/appraisal/show/{emp1_appraisal}").get_data(as_text=True)
    link = f"/api/v1/appraisal/{emp1_appraisal}/pdf"
    assert link in page
    response = browser.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert login_as("emp2").get(link).status_code == 404
