"""The incentive amount and HR's calibration where people read them: the appraisal page, the PDF (text
read back with pypdf, Chinese and English) and the appraisal API's ``incentive`` (a string or null)."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal
from app.pdf.render import render_appraisal_pdf
from app.services.document import document_snapshot
from app.services.snapshot import snapshot_hash
from tests.incentives.conftest import pooled_cycle, publish, set_bonus_base, station_appraisals


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _of(cycle_id: int, no: str) -> Appraisal:
    return next(a for a in station_appraisals(cycle_id) if a.snapshot["employee"]["no"] == no)


def _ids(app, cycle_id: int) -> dict[str, int]:
    with app.app_context():
        return {a.snapshot["employee"]["no"]: a.id for a in station_appraisals(cycle_id)}


def test_before_publication_the_amount_is_an_estimate(app, pooled, login_as, api_as):
    pk = _ids(app, pooled)["EMP1"]
    page = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "绩效奖金" in page and "¥2,500" in page and "预计，奖金池将在公示时分配" in page
    assert api_as("hr").get(f"/api/v1/appraisal/{pk}").json["result"]["incentive"] == "2500"
    text = pdf_text(api_as("hr").get(f"/api/v1/appraisal/{pk}/pdf").data)
    assert "绩效奖金" in text and "¥2,500" in text and "预计，奖金池将在公示时分配" in text


def test_after_publication_the_pool_share_is_shown(app, pooled, login_as, api_as):
    with app.app_context():
        publish(pooled)
        emp1 = _of(pooled, "EMP1")
        pk, amount = emp1.id, emp1.snapshot["incentive"]["amount"]
        factor = emp1.snapshot["incentive"]["pool"]["factor"]
        shown = f"¥{int(amount):,}"
    assert amount != "2500"
    page = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert shown in page and f"按服务站奖金池 ¥10,000 分配（系数 {factor}）" in page
    assert "预计" not in page
    assert api_as("hr").get(f"/api/v1/appraisal/{pk}").json["result"]["incentive"] == amount
    listed = api_as("hr").get("/api/v1/appraisal/?q=(page_size:100)").json["result"]
    assert next(item for item in listed if item["id"] == pk)["incentive"] == amount
    text = pdf_text(api_as("hr").get(f"/api/v1/appraisal/{pk}/pdf").data)
    assert shown in text and "10,000" in text and factor in text
    with app.app_context():
        english = pdf_text(render_appraisal_pdf(document_snapshot(db.session, db.session.get(Appraisal, pk),
                                                                  "en"), "en"))
    assert "Incentive" in english and shown in english and f"(factor {factor})" in english


def test_a_capped_amount_says_so(app, tmp_path, login_as):
    cycle_id = pooled_cycle(app, tmp_path, cap="2000", name="封顶周期")
    with app.app_context():
        emp1 = _of(cycle_id, "EMP1")
        assert emp1.snapshot["incentive"]["capped"] is True
        snapshot = document_snapshot(db.session, emp1, "zh_CN")
        pk = emp1.id
    page = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "¥2,000" in page and "已按封顶 ¥2,000 计。" in page
    assert "已按封顶 ¥2,000 计" in pdf_text(render_appraisal_pdf(snapshot, "zh_CN"))


def test_without_a_bonus_base_the_amount_is_na_with_its_note(app, tmp_path, login_as, api_as):
    with app.app_context():
        set_bonus_base("EMP4", None)
        db.session.remove()
    cycle_id = pooled_cycle(app, tmp_path, name="无基数周期")
    with app.app_context():
        emp4 = _of(cycle_id, "EMP4")
        pk, note = emp4.id, emp4.snapshot["incentive"]["note"]
    assert note
    assert api_as("hr").get(f"/api/v1/appraisal/{pk}").json["result"]["incentive"] is None
    page = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert note in page
    text = pdf_text(api_as("hr").get(f"/api/v1/appraisal/{pk}/pdf").data)
    assert "绩效奖金" in text and note[:8] in text


@pytest.mark.parametrize("locale,expected", [("zh_CN", ("校准", "B → A，{:.1f} → 95.0")),
                                             ("en", ("Calibration", "B → A, {:.1f} → 95.0"))])
def test_a_calibrated_result_shows_where_it_came_from(app, pooled, login_as, locale, expected):
    with app.app_context():
        emp1 = _of(pooled, "EMP1")
        snapshot = json.loads(json.dumps(emp1.snapshot))
        assert snapshot["grade"] == "B"
        expected = (expected[0], expected[1].format(snapshot["total"]))  # the total as computed, one decimal
        snapshot["calibration"] = {"from_total": snapshot["total"], "from_grade": "B", "total": 95.0,
                                   "grade": None}
        snapshot.update(total=95.0, grade="A")
        db.session.execute(Appraisal.__table__.update().where(Appraisal.id == emp1.id).values(
            snapshot=snapshot, snapshot_hash=snapshot_hash(snapshot), total=95.0, grade="A"))
        db.session.commit()
        pk = emp1.id
        document = document_snapshot(db.session, db.session.get(Appraisal, pk), locale)
    text = pdf_text(render_appraisal_pdf(document, locale))
    assert expected[0] in text and expected[1] in text
    if locale == "zh_CN":
        page = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
        assert f"校准：{expected[1]}" in page


def test_a_grade_set_alone_says_only_the_grade_moved(app, pooled, login_as):
    with app.app_context():
        emp1 = _of(pooled, "EMP1")
        snapshot = json.loads(json.dumps(emp1.snapshot))
        total = snapshot["total"]
        snapshot["calibration"] = {"from_total": total, "from_grade": "B", "total": None, "grade": "A"}
        snapshot["grade"] = "A"
        db.session.execute(Appraisal.__table__.update().where(Appraisal.id == emp1.id).values(
            snapshot=snapshot, snapshot_hash=snapshot_hash(snapshot), grade="A"))
        db.session.commit()
        pk = emp1.id
        document = document_snapshot(db.session, db.session.get(Appraisal, pk), "zh_CN")
    text = pdf_text(render_appraisal_pdf(document, "zh_CN")).replace("\n", "")
    assert "B → A" in text and f"{total:.1f} → {total:.1f}" not in text
    page = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "校准：B → A</p>" in page


def test_a_snapshot_without_incentive_keys_still_renders(app):
    with app.app_context():
        appraisal = db.session.scalar(select(Appraisal).order_by(Appraisal.id))
        document = document_snapshot(db.session, appraisal, "zh_CN")
    for key in ("incentive", "calibration"):
        document.pop(key, None)
    document["employee"].pop("bonus_base", None)
    text = pdf_text(render_appraisal_pdf(document, "zh_CN"))
    assert "¥" not in text and "校准" not in text and "结果应用" in text
