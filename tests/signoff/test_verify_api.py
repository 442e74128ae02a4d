"""``POST /api/v1/verify`` and the verify page: no login, file or hash, size and rate limits."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SignedPdf
from tests.conftest import csrf_token


@pytest.fixture
def signed_pdf(app, signed) -> bytes:
    with app.app_context():
        return db.session.scalar(select(SignedPdf.pdf).where(SignedPdf.appraisal_id == signed))


def post_file(client, data: bytes, **kwargs):
    return client.post("/api/v1/verify", data={"file": (io.BytesIO(data), "appraisal.pdf")},
                       content_type="multipart/form-data", **kwargs)


def test_the_signed_file_matches_without_login(app, signed, signed_pdf):
    response = post_file(app.test_client(), signed_pdf)
    assert response.status_code == 200
    body = response.json
    assert body["match"] is True and body["signed_at"] and body["cycle"]


def test_a_stranger_learns_the_match_not_who(app, signed, signed_pdf):
    body = post_file(app.test_client(), signed_pdf).json
    assert body["employee"] == "张*"  # 张伟, masked
    assert body["appraisal_id"] is None and body["employee_no"] is None and "url" not in body
    assert "张伟" not in response_text(body) and "EMP1" not in response_text(body)
    assert set(body) == {"match", "signed_at", "cycle", "employee", "appraisal_id", "employee_no", "sha256"}


def test_its_hash_matches(app, signed, signed_pdf):
    digest = hashlib.sha256(signed_pdf).hexdigest()
    response = app.test_client().post("/api/v1/verify", json={"sha256": digest})
    assert response.status_code == 200 and response.json["match"] is True
    assert response.json["employee"] == "张*" and response.json["appraisal_id"] is None


def response_text(body: dict) -> str:
    return repr(body)


@pytest.mark.parametrize("username", ["emp1", "sup1", "manager1", "hr"])
def test_whose_scope_includes_it_sees_which(app, api_as, signed, signed_pdf, username):
    """The employee, their supervisor, their station's manager and HR."""
    digest = hashlib.sha256(signed_pdf).hexdigest()
    body = api_as(username).post("/api/v1/verify", json={"sha256": digest}).json
    assert body["match"] is True and body["appraisal_id"] == signed
    assert body["employee"] == "张伟" and body["employee_no"] == "EMP1"
    assert body["url"] == f"/appraisal/show/{signed}"


@pytest.mark.parametrize("username", ["emp3", "emp6"])  # (sup2 stands in for sup1 in the demo)
def test_a_colleague_outside_the_scope_sees_what_a_stranger_sees(app, api_as, signed, signed_pdf, username):
    body = post_file(api_as(username), signed_pdf).json
    assert body["match"] is True and body["employee"] == "张*"
    assert body["appraisal_id"] is None and body["employee_no"] is None and "url" not in body


def test_one_changed_byte_is_no_match(app, signed_pdf):
    changed = bytearray(signed_pdf)
    changed[len(changed) // 2] ^= 0x20
    response = post_file(app.test_client(), bytes(changed))
    assert response.status_code == 200 and response.json["match"] is False


def test_an_unknown_hash_is_no_match(app, signed):
    response = app.test_client().post("/api/v1/verify", json={"sha256": "0" * 64})
    assert response.status_code == 200 and response.json["match"] is False
    assert set(response.json) == {"match", "sha256"}


@pytest.mark.parametrize("body", [{}, {"sha256": ""}, {"sha256": "12"}, {"sha256": ["a"]}])
def test_bad_input_is_422(app, body):
    response = app.test_client().post("/api/v1/verify", json=body)
    assert response.status_code == 422 and response.json["message"]


@pytest.mark.parametrize("body", [[], "x"])
def test_a_body_that_is_no_object_is_400(app, body):
    """As for every API: the request boundary refuses JSON that is not an object."""
    response = app.test_client().post("/api/v1/verify", json=body)
    assert response.status_code == 400 and response.json["message"]


def test_too_large_is_413(app):
    app.config["JIXIAO_VERIFY_MAX_BYTES"] = 100 * 1024
    client = app.test_client()
    assert post_file(client, b"%PDF-" + b"x" * (200 * 1024)).status_code == 413
    # just under the limit is fine
    assert post_file(client, b"%PDF-" + b"x" * (90 * 1024)).json["match"] is False


def test_calls_are_limited_per_address(app):
    app.config["JIXIAO_VERIFY_PER_WINDOW"] = 3
    client = app.test_client()
    here = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = [client.post("/api/v1/verify", json={"sha256": "1" * 64}, environ_base=here).status_code
                for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert client.post("/api/v1/verify", json={"sha256": "1" * 64}, environ_base=here).json["message"]
    elsewhere = {"REMOTE_ADDR": "203.0.113.8"}
    assert client.post("/api/v1/verify", json={"sha256": "1" * 64}, environ_base=elsewhere).status_code == 200


def test_signed_in_browser_sends_the_csrf_header(login_as):
    browser = login_as("emp3")
    assert browser.post("/api/v1/verify", json={"sha256": "1" * 64}).status_code == 400
    token = csrf_token(browser, "/verify/")
    response = browser.post("/api/v1/verify", json={"sha256": "1" * 64}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json["match"] is False


def test_the_page_is_public_and_bilingual(app):
    client = app.test_client()
    page = client.get("/verify/").get_data(as_text=True)
    assert 'data-api="/api/v1/verify"' in page and "js/verify.js" in page and 'name="file"' in page
    english = client.get("/verify/?_l_=en").get_data(as_text=True)
    assert "Verify a signed appraisal" in english


def test_the_page_works_without_a_script(app, signed, signed_pdf):
    client = app.test_client()
    token = csrf_token(client, "/verify/")
    page = client.post("/verify/", data={"csrf_token": token, "file": (io.BytesIO(signed_pdf), "a.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "alert-success" in page and "张*" in page
    assert "张伟" not in page and "EMP1" not in page and "/appraisal/show/" not in page
    page = client.post("/verify/", data={"csrf_token": token, "sha256": "2" * 64,
                                         "file": (io.BytesIO(b""), "")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "alert-warning" in page and "2" * 64 in page


def test_the_page_names_the_appraisal_to_its_employee(login_as, signed, signed_pdf):
    browser = login_as("emp1")
    token = csrf_token(browser, "/verify/")
    page = browser.post("/verify/", data={"csrf_token": token, "file": (io.BytesIO(signed_pdf), "a.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "alert-success" in page and "张伟 (EMP1)" in page
    assert f'href="/appraisal/show/{signed}"' in page


def test_the_document_says_who_sees_what(api_as):
    spec = api_as("hr").get("/api/v1/_openapi").json
    answer = spec["paths"]["/api/v1/verify"]["post"]["responses"]["200"]
    properties = answer["content"]["application/json"]["schema"]["properties"]
    assert properties["appraisal_id"]["nullable"] is True
    assert "masked" in properties["employee"]["description"]
