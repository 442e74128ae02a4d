"""An appraisal read in English names what the rule set names in English: the API (list and detail), the
calibration screen, and the appraisal page, although its snapshot was written in Chinese."""

from __future__ import annotations

import re

from tests.factories import appraisal_of

HAN = re.compile(r"[\u3400-\u9fff]")


def _emp1(app):
    from app.extensions import db

    with app.app_context():
        pk = appraisal_of("EMP1").id
        db.session.remove()
    return pk


def test_the_appraisal_api_in_english(app, api_as):
    pk = _emp1(app)
    hr = api_as("hr")
    chinese = hr.get(f"/api/v1/appraisal/{pk}").json["result"]
    english = hr.get(f"/api/v1/appraisal/{pk}?_l_=en").json["result"]
    assert HAN.search(chinese["grade_label"]) and not HAN.search(english["grade_label"])
    for line in english["lines"]:
        assert not HAN.search(line["name"] + line["category"] + line["unit"]), line
    names = {line["code"]: line["name"] for line in english["lines"]}
    assert names["kpi_satisfaction"] == "Customer satisfaction"
    assert not any(HAN.search(text) for text in english["outcomes"]), english["outcomes"]
    listed = hr.get("/api/v1/appraisal/?_l_=en&page_size=100").json["result"]
    mine = next(item for item in listed if item["id"] == pk)
    assert mine["grade_label"] == english["grade_label"]
    assert [line["name"] for line in mine["lines"]] == [line["name"] for line in english["lines"]]


def test_the_appraisal_page_in_english(app, login_as):
    pk = _emp1(app)
    hr = login_as("hr")
    hr.get("/lang/en")
    page = hr.get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "Customer satisfaction" in page and "Service quality" in page
    assert "客户满意度" not in page and "服务质量" not in page
    calibration = hr.get(f"/calibration/{appraisal_cycle(app, pk)}/appraisal/{pk}").get_data(as_text=True)
    assert not re.search(r"优秀|良好|合格|待改进", calibration)


def appraisal_cycle(app, pk):
    from app.extensions import db
    from app.models import Appraisal

    with app.app_context():
        cycle = db.session.get(Appraisal, pk).cycle_id
        db.session.remove()
    return cycle
