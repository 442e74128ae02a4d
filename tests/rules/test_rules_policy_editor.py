"""The distribution policy and incentives in the rules editor: HR edits a draft's policy.toml as a form
(shares as percentages, money in yuan), every problem is shown on the form with the typed input kept, a
published version is read only, the stored text is canonical, and the diff names each change."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import PublishedVersionLocked, RuleSetVersion
from app.rules import POLICY_FILE, GradeLimit
from app.services import rules as service
from tests.factories import RULES_DIR, csrf_token


@pytest.fixture
def hr(login_as):
    return login_as("hr")


def new_draft(client) -> int:
    r = client.post("/rules/draft", data={"csrf_token": csrf_token(client, "/rules/")})
    assert r.status_code == 302
    return int(re.search(r"/rules/v/(\d+)/", r.headers["Location"]).group(1))


def post_policy(client, vid: int, **fields):
    path = f"/rules/v/{vid}/policy"
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


def stored_policy(vid: int) -> str | None:
    db.session.expire_all()
    return json.loads(db.session.get(RuleSetVersion, vid).extras).get(POLICY_FILE)


POLICY_FORM = {
    "min_headcount": "5",
    "limit_grade": ["A", "D", ""], "limit_min": ["", "5", ""], "limit_max": ["25", "", ""],
    "limit_scope": ["both", "network", "both"],
    "incentive_amount": "IF(grade == \"A\", 500, 0) + 奖金基数 * 奖金系数", "incentive_cap": "8,000.50",
    "pool_station": ["S02", ""], "pool_amount": ["20000", ""],
    "itest_name": ["A 级加 500", "没有基数", ""],
    "itest_inputs": ["bonus_base=2000, coefficient=1.2, total=95, grade=A", "bonus_base=N/A, coefficient=1",
                     ""],
    "itest_expected": ["2900", "N/A", ""], "itest_capped": ["2900", "", ""],
}

EXPECTED_TEXT = """\
# 强制分布与绩效奖金 Distribution policy and incentives. 格式说明 / format: README.md

[distribution]
min_headcount = 5

[[distribution.limit]]
grade = "A"
max = 0.25
scope = "both"

[[distribution.limit]]
grade = "D"
min = 0.05
scope = "network"

[incentive]
amount = "IF(grade == \\"A\\", 500, 0) + 奖金基数 * 奖金系数"
cap = 8000.5

[[incentive.pool]]
station = "S02"
amount = 20000

[[incentive.test]]
name = "A 级加 500"
inputs = { bonus_base = 2000, coefficient = 1.2, total = 95, grade = "A" }
expected = 2900
capped = 2900

[[incentive.test]]
name = "没有基数"
inputs = { bonus_base = "N/A", coefficient = 1 }
expected = "N/A"
"""


def test_the_policy_screen_shows_shares_as_percentages_and_a_live_incentive_formula(hr):
    page = hr.get("/rules/v/1/policy").get_data(as_text=True)
    assert 'name="limit_max" value="20"' in page and 'name="min_headcount" value="10"' in page
    assert 'data-role="incentive"' in page and "bonus_base * coefficient" in page
    names = json.loads(re.search(r"data-role=\"incentive\"\s+data-names='([^']*)'", page).group(1))
    assert {"bonus_base", "coefficient", "total", "grade", "奖金基数", "奖金系数", "kpi_first_fix"} \
        <= set(names)
    assert 'name="itest_name" value="A 级超过封顶"' in page and 'name="itest_capped" value="10000"' in page
    version = hr.get("/rules/v/1/").get_data(as_text=True)
    assert "/rules/v/1/policy" in version and "bonus_base * coefficient" in version


def test_hr_saves_a_policy_as_canonical_toml_of_the_draft(appctx, hr):
    vid = new_draft(hr)
    saved = post_policy(hr, vid, **POLICY_FORM)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/rules/v/{vid}/policy")
    assert stored_policy(vid) == EXPECTED_TEXT
    ruleset = service.ruleset_for_version(db.session, vid)
    assert ruleset.policy.min_headcount == 5
    assert ruleset.policy.limits == (GradeLimit("A", None, 0.25, "both"),
                                     GradeLimit("D", 0.05, None, "network"))
    assert ruleset.incentive.cap == Decimal("8000.50")
    assert ruleset.incentive.pools == {"S02": Decimal("20000")}
    assert not service.has_errors(service.check_ruleset(ruleset, db.session))
    page = hr.get(f"/rules/v/{vid}/policy").get_data(as_text=True)
    assert 'name="limit_min" value="5"' in page and 'name="incentive_cap" value="8000.5"' in page
    assert stored_policy(1) != EXPECTED_TEXT  # the published version it was copied from is untouched


def test_a_bad_policy_is_refused_with_every_problem_on_the_form_and_the_input_kept(appctx, hr):
    vid = new_draft(hr)
    before = stored_policy(vid)
    bad = {**POLICY_FORM, "limit_grade": ["A", "S", ""], "limit_max": ["25", "10", ""],
           "limit_min": ["一半", "", ""], "incentive_amount": "bonus_base * coefficent",
           "pool_amount": ["-5", ""], "itest_expected": ["2901", "N/A", ""]}
    refused = post_policy(hr, vid, **bad)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "UNKNOWN_NAME" in page and "coefficient" in page and "bonus_base * coefficent" in page
    assert "UNKNOWN_GRADE" in page and '<option value="S" selected>S ?</option>' in page
    assert 'name="limit_min" value="一半"' in page and "请填写 0 到 100 之间的百分数" in page
    assert 'name="pool_amount" value="-5"' in page and "请填写不小于 0 的金额" in page
    assert stored_policy(vid) == before  # nothing saved
    failing = post_policy(hr, vid, **{**POLICY_FORM, "itest_expected": ["2901", "N/A", ""]})
    page = failing.get_data(as_text=True)
    assert failing.status_code == 422 and "TEST_FAILED" in page and "2901.00" in page
    assert 'name="itest_expected" value="2901"' in page and stored_policy(vid) == before
    missing = post_policy(hr, vid, **{**POLICY_FORM, "incentive_amount": "", "limit_max": ["", "", ""],
                                      "limit_min": ["", "", ""], "limit_grade": ["A", "", ""]})
    page = missing.get_data(as_text=True)
    assert missing.status_code == 422 and page.count("MISSING") >= 2 and stored_policy(vid) == before


def test_the_form_speaks_english_on_english_pages(appctx, hr):
    vid = new_draft(hr)
    hr.get("/lang/en")
    page = post_policy(hr, vid, **{**POLICY_FORM, "limit_max": ["abc", "", ""]}).get_data(as_text=True)
    assert "give a percentage between 0 and 100" in page and "Distribution & incentives" in page


def test_a_published_version_shows_its_policy_read_only_and_refuses_changes(appctx, hr):
    page = hr.get("/rules/v/1/policy").get_data(as_text=True)
    assert "<fieldset disabled>" in page and 'type="submit"' not in page.split('id="policy-form"')[1]
    before = stored_policy(1)
    assert post_policy(hr, 1, **POLICY_FORM).status_code == 409
    assert stored_policy(1) == before
    with pytest.raises(PublishedVersionLocked):
        service.save_policy(db.session, 1, None)
    assert stored_policy(1) == before


def test_managers_read_the_policy_and_employees_do_not_see_it(login_as):
    manager = login_as("manager1")
    assert manager.get("/rules/v/1/policy").status_code == 200
    assert post_policy(manager, 1, **POLICY_FORM).status_code == 403
    assert login_as("emp1").get("/rules/v/1/policy").status_code == 403


def test_an_empty_form_removes_the_file_and_warnings_are_flashed(appctx, hr):
    vid = new_draft(hr)
    empty = {"limit_grade": [""], "limit_min": [""], "limit_max": [""], "limit_scope": ["both"],
             "pool_station": [""], "pool_amount": [""], "itest_name": [""], "itest_inputs": [""],
             "itest_expected": [""], "itest_capped": [""]}
    assert post_policy(hr, vid, **empty).status_code == 302
    assert stored_policy(vid) is None
    ruleset = service.ruleset_for_version(db.session, vid)
    assert ruleset.policy is None and ruleset.incentive is None
    no_tests = {**empty, "incentive_amount": "bonus_base * coefficient"}
    page = hr.get(post_policy(hr, vid, **no_tests).headers["Location"]).get_data(as_text=True)
    assert "还没有测试用例" in page  # the NO_TESTS warning
    assert "[incentive]" in stored_policy(vid) and "[distribution]" not in stored_policy(vid)


def test_round_trip_load_edit_export_load(appctx, hr, rules_copy, tmp_path):
    vid = new_draft(hr)
    assert post_policy(hr, vid, **POLICY_FORM).status_code == 302
    form = service.policy_form(service.ruleset_for_version(db.session, vid))
    again = {"min_headcount": form["min_headcount"], "incentive_amount": form["amount"],
             "incentive_cap": form["cap"]}
    for prefix, rows, keys in (("limit", form["limits"], ("grade", "min", "max", "scope")),
                               ("pool", form["pools"], ("station", "amount")),
                               ("itest", form["tests"], ("name", "inputs", "expected", "capped"))):
        for key in keys:
            again[f"{prefix}_{key}"] = [row[key] for row in rows]
    assert post_policy(hr, vid, **again).status_code == 302
    assert stored_policy(vid) == EXPECTED_TEXT  # shown and saved again: the same text
    exported = tmp_path / "exported"
    service.export_version(db.session, exported, vid)
    assert (exported / POLICY_FILE).read_text(encoding="utf-8") == EXPECTED_TEXT
    loaded = service.load_dir(db.session, exported, user="test")
    assert loaded.created and loaded.version.id != vid
    assert service.ruleset_for_version(db.session, loaded.version.id).policy_file == \
        service.ruleset_for_version(db.session, vid).policy_file
    again_dir = tmp_path / "again"
    service.export_version(db.session, again_dir, loaded.version.id)
    for file in exported.iterdir():
        assert (again_dir / file.name).read_bytes() == file.read_bytes()
    assert service.canonical_policy_text(EXPECTED_TEXT) == EXPECTED_TEXT
    original = (RULES_DIR / POLICY_FILE).read_text(encoding="utf-8")
    assert service.canonical_policy_text(service.canonical_policy_text(original)) == \
        service.canonical_policy_text(original)


def test_the_diff_names_each_policy_change_readably(appctx, hr):
    vid = new_draft(hr)
    assert post_policy(hr, vid, **POLICY_FORM).status_code == 302
    _, changes = service.diff_against(db.session, db.session.get(RuleSetVersion, vid))
    policy = {(c["kind"], c["key"]): c for c in changes if c["kind"] != "indicator"}
    assert ("file", POLICY_FILE) not in policy
    assert policy[("limit", "A · both")]["fields"] == [{"field": "max", "old": "20%", "new": "25%"}]
    assert policy[("limit", "D · network")]["change"] == "added"
    assert policy[("distribution", "min_headcount")]["fields"][0] == \
        {"field": "min_headcount", "old": "10", "new": "5"}
    incentive = {f["field"]: (f["old"], f["new"]) for f in policy[("incentive", "incentive")]["fields"]}
    assert incentive["cap"] == ("10000", "8000.50") and incentive["amount"][0] == "bonus_base * coefficient"
    assert policy[("pool", "S02")]["change"] == "added"
    assert policy[("incentive_test", "A 级超过封顶")]["change"] == "removed"
    page = hr.get(f"/rules/v/{vid}/publish").get_data(as_text=True)
    assert "<del>20%</del>" in page and "<ins>25%</ins>" in page and "S02" in page
    api = hr.get(f"/api/v1/ruleset/{vid}/diff").json
    assert {"kind": "pool", "key": "S02", "change": "added", "fields": []} in api["changes"]


def test_rules_check_summarises_the_policy(app, rules_copy):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["rules", "check", str(RULES_DIR)]).output
    assert "policy.toml: 1 distribution limit(s) (stations from 10 people)" in out
    assert ("incentive amount = bonus_base * coefficient, cap 10000, 0 station pool(s), "
            "3 incentive test case(s)") in out
    (rules_copy / POLICY_FILE).unlink()
    out = runner.invoke(args=["rules", "check", str(rules_copy)]).output
    assert "policy.toml: none" in out



def test_the_api_reads_and_replaces_a_drafts_policy(api_as):
    api = api_as("hr")
    published = api.get("/api/v1/ruleset/1/policy").json
    assert published["policy"]["distribution"]["limit"] == [{"grade": "A", "max": 0.2, "scope": "both"}]
    assert published["policy"]["incentive"]["cap"] == "10000"
    assert published["text"] == (RULES_DIR / POLICY_FILE).read_text(encoding="utf-8")
    document = {"distribution": {"min_headcount": 5, "limit": [{"grade": "A", "max": 0.25}]},
                "incentive": {"amount": "bonus_base * coefficient", "cap": "8000.50",
                              "pool": [{"station": "S02", "amount": "20000"}],
                              "test": [{"name": "B", "inputs": {"bonus_base": 2000, "coefficient": 1},
                                        "expected": "2000", "capped": 2000}]}}
    assert api.put("/api/v1/ruleset/1/policy", json=document).status_code == 409
    draft = api.post("/api/v1/ruleset/", json={}).json["id"]
    saved = api.put(f"/api/v1/ruleset/{draft}/policy", json=document)
    assert saved.status_code == 200, saved.json
    assert saved.json["policy"]["incentive"]["cap"] == "8000.50"
    assert saved.json["policy"]["incentive"]["pool"] == [{"station": "S02", "amount": "20000"}]
    assert saved.json["policy"]["distribution"]["limit"] == [{"grade": "A", "max": 0.25, "scope": "both"}]
    assert "cap = 8000.5\n" in saved.json["text"] and saved.json["warnings"] == []
    bad = {**document, "incentive": {**document["incentive"], "amount": "bonus_base *", "pool": "S02"},
           "extra": 1}
    refused = api.put(f"/api/v1/ruleset/{draft}/policy", json=bad)
    codes = {(p["item"], p["code"]) for p in refused.json["problems"]}
    assert refused.status_code == 422 and ("", "UNKNOWN_KEY") in codes and ("incentive", "SYNTAX") in codes
    assert api.get(f"/api/v1/ruleset/{draft}/policy").json["text"] == saved.json["text"]
    for body in ("not json", "[1, 2]", "", "null"):
        r = api.put(f"/api/v1/ruleset/{draft}/policy", data=body, content_type="application/json")
        assert r.status_code == 400
    removed = api.put(f"/api/v1/ruleset/{draft}/policy", json={})
    assert removed.status_code == 200 and removed.json["policy"] is None and removed.json["text"] is None
    assert api_as("manager1").put(f"/api/v1/ruleset/{draft}/policy", json=document).status_code == 403
    assert api_as("manager1").get(f"/api/v1/ruleset/{draft}/policy").status_code == 200
