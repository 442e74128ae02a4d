"""The station screens show customer segments by name and keep storing the code."""

from __future__ import annotations

import re

from app.extensions import db
from app.models import Station
from tests.conftest import csrf_token


def segment_select(html: str) -> str:
    (select,) = re.findall(r'<select[^>]*name="segment".*?</select>', html, re.S)
    return select


def test_station_form_offers_segments_by_name_and_stores_the_code(app, login_as):
    browser = login_as("hr")
    with app.app_context():
        station = db.session.query(Station).filter(Station.segment == "mixed").first()
        pk, code, name = station.id, station.code, station.name
    select = segment_select(browser.get(f"/stationview/edit/{pk}").get_data(as_text=True))
    assert '<option selected value="mixed">混合</option>' in select
    assert '<option value="enterprise">企业客户</option>' in select and ">enterprise<" not in select
    token = csrf_token(browser, f"/stationview/edit/{pk}")
    saved = browser.post(f"/stationview/edit/{pk}",
                         data={"csrf_token": token, "code": code, "name": name, "segment": "consumer"})
    assert saved.status_code == 302
    refused = browser.post(f"/stationview/edit/{pk}",
                           data={"csrf_token": token, "code": code, "name": name, "segment": "government"})
    assert refused.status_code == 200  # the form again, with the error
    with app.app_context():
        assert db.session.get(Station, pk).segment.value == "consumer"
    listed = browser.get("/stationview/list/").get_data(as_text=True)
    assert "个人客户" in listed and ">consumer<" not in listed


def test_an_optional_relation_offers_an_empty_choice_by_name(login_as):
    html = login_as("hr").get("/employeeview/add").get_data(as_text=True)
    (select,) = re.findall(r'<select[^>]*name="supervisor".*?</select>', html, re.S)
    assert '<option selected value="__None">（无）</option>' in select
    assert ">__None<" not in html
