"""An English workbook names what the rule set names in English: the indicators' headers with their units,
and each appraisal's outcomes (the snapshots keep the Chinese texts they were computed with)."""

from __future__ import annotations

import re

from tests.exports.test_cycle_export import cycle_id, table, workbook

HAN = re.compile(r"[\u3400-\u9fff]")


def test_outcomes_and_units_in_english(app, api_as):
    hr = api_as("hr")
    cid = cycle_id(app)
    results = workbook(hr.get(f"/api/v1/cycle/{cid}/export.xlsx?_l_=en"))["Results"]
    headers = [cell.value for cell in next(results.iter_rows(max_row=1))]
    assert not [h for h in headers if h and HAN.search(h)], headers
    assert "Average repair time value (hours)" in headers
    outcomes = [row["Outcomes"] for row in table(results) if row["Outcomes"]]
    assert outcomes and not [o for o in outcomes if HAN.search(o)], outcomes
    assert any("Bonus coefficient ×" in o for o in outcomes)
    chinese = table(workbook(hr.get(f"/api/v1/cycle/{cid}/export.xlsx"))["考核结果"])
    assert any("绩效奖金系数 ×" in (row["结果应用"] or "") for row in chinese)
