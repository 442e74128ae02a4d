"""A cycle's PDFs as one zip: ``flask --app run pdf export NAME ZIPFILE`` and HR's download."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, SignedPdf
from tests.signoff.conftest import demo_cycle


def cycle_facts(app) -> tuple[int, str, int]:
    with app.app_context():
        cycle = demo_cycle()
        count = db.session.scalar(select(func.count()).select_from(Appraisal)
                                  .where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True)))
        return cycle.id, cycle.name, count


def stored_pdf(app, appraisal_id: int) -> bytes:
    with app.app_context():
        return db.session.scalar(select(SignedPdf.pdf).where(SignedPdf.appraisal_id == appraisal_id))


def test_cli_exports_every_appraisal_on_several_processes(app, signed, tmp_path):
    _, name, count = cycle_facts(app)
    target = tmp_path / "cycle.zip"
    result = app.test_cli_runner().invoke(args=["pdf", "export", name, str(target), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert f"{count} PDFs" in result.output
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert len(names) == count and len(set(names)) == count
        assert all(n.endswith(".pdf") and "/" not in n for n in names)
        assert all(archive.read(n).startswith(b"%PDF-") for n in names)
        # the signed appraisal is its stored document, byte for byte
        assert archive.read("EMP1_张伟.pdf") == stored_pdf(app, signed)
    assert not list(tmp_path.glob("*.rendering*")) and not list(tmp_path.glob("*.part"))


def test_cli_refuses_an_unknown_cycle(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["pdf", "export", "no such cycle", str(tmp_path / "x.zip")])
    assert result.exit_code != 0 and "no such cycle" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_hr_downloads_the_same_zip_from_the_cycle_screen(app, login_as, signed):
    app.config["JIXIAO_PDF_WORKERS"] = 1
    cycle_id, _, count = cycle_facts(app)
    browser = login_as("hr")
    assert f"/cycle-export/{cycle_id}.zip" in browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    response = browser.get(f"/cycle-export/{cycle_id}.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert len(archive.namelist()) == count
        assert archive.read("EMP1_张伟.pdf") == stored_pdf(app, signed)


@pytest.mark.parametrize("username", ["manager1", "sup1", "emp1"])
def test_only_hr_downloads_a_cycle(app, login_as, username):
    cycle_id, _, _ = cycle_facts(app)
    browser = login_as(username)
    assert f"/cycle-export/{cycle_id}.zip" not in browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    response = browser.get(f"/cycle-export/{cycle_id}.zip")
    assert response.status_code in (302, 403) and response.mimetype != "application/zip"


def test_unknown_cycle_is_404(login_as):
    assert login_as("hr").get("/cycle-export/999999.zip").status_code == 404
