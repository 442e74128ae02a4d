"""Every column a list or an item answers with has a label of its own in the reader's language, the
related ones (``cycle.name``) too: none falls back to FAB's English made from the column's name."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from app.api.appraisal import AppraisalApi
from app.api.cycle import CycleApi

DOTTED_ZH = {"cycle.name": "考核周期", "employee.employee_no": "工号", "employee.name": "姓名",
             "station.code": "站点编码"}
DOTTED_EN = {"cycle.name": "Cycle", "employee.employee_no": "Employee number",
             "employee.name": "Employee name", "station.code": "Station code"}


def _labels(api, path: str, language: str) -> dict:
    answer = api.get(path + ("&" if "?" in path else "?") + f"_l_={language}")
    assert answer.status_code == 200, answer.json
    return answer.json["label_columns"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_appraisal_list_and_item_label_every_column(app, api_as, language):
    api = api_as("hr")
    listed = _labels(api, "/api/v1/appraisal/?q=(page_size:2)", language)
    one = api.get("/api/v1/appraisal/?q=(page_size:1)").json["ids"][0]
    shown = _labels(api, f"/api/v1/appraisal/{one}", language)
    assert set(listed) == set(AppraisalApi.list_columns) and set(shown) == set(AppraisalApi.show_columns)
    expected = DOTTED_ZH if language == "zh" else DOTTED_EN
    for labels in (listed, shown):
        assert {key: labels[key] for key in expected} == expected
    with app.test_request_context(), force_locale("zh_CN" if language == "zh" else "en"):
        for column, label in shown.items():
            assert label == _(AppraisalApi.label_columns[column]._args[0]), column  # a label of its own


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_cycle_list_labels_its_stations(app, api_as, language):
    labels = _labels(api_as("hr"), "/api/v1/cycle/", language)
    assert set(labels) == set(CycleApi.list_columns)
    with app.test_request_context(), force_locale("zh_CN" if language == "zh" else "en"):
        assert labels["stations.code"] == _("Station codes") != "Stations Code"
        assert labels["rule_set_version_id"] == _("Rule-set version")
        assert labels["name"] == ("考核周期" if language == "zh" else "Cycle")
