"""The rule screens for a new HR user: a publish diff people read, the files as a download, a discarded
draft that can be restored, a publish that says what it does, times in the configured zone, the what-if
in natural order, and a warning for a weight that reads a personal metric."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from app.extensions import db
from app.models import Appraisal, Cycle, Employee, RuleSetVersion, RuleTemplate
from app.rules import load_dir
from app.rules.model import CATEGORY_EN
from app.services import rules as service
from tests.factories import RULES_DIR, csrf_token


@pytest.fixture
def hr(login_as):
    return login_as("hr")


def new_draft(client) -> int:
    r = client.post("/rules/draft", data={"csrf_token": csrf_token(client, "/rules/")})
    return int(re.search(r"/rules/v/(\d+)/", r.headers["Location"]).group(1))


def post(client, path: str, **fields):
    return client.post(path, data={"csrf_token": csrf_token(client, "/rules/"), **fields})


def _template(vid: int, code: str) -> RuleTemplate:
    return db.session.scalar(select(RuleTemplate).where(RuleTemplate.version_id == vid,
                                                         RuleTemplate.code == code))


# -- the publish diff -------------------------------------------------------------------------------

def test_the_publish_diff_names_indicators_and_weights_instead_of_json(appctx, hr):
    vid = new_draft(hr)
    template = _template(vid, "tech_mixed")
    sla = next(line for line in template.lines if line.indicator_code == "kpi_sla")
    sla.weight = "30"
    db.session.commit()
    page = hr.get(f"/rules/v/{vid}/publish").get_data(as_text=True)
    diff = page[page.index('class="table table-condensed jx-diff"'):]
    assert '[{"indicator"' not in diff and "&#34;indicator&#34;" not in diff
    ruleset = service.ruleset_for_version(db.session, 1)
    name = ruleset.indicator("kpi_sla").label("zh_CN")
    assert f"{name} 的权重" in diff and "<code>30</code>" in diff
    assert "<code>5 + 20 * COALESCE(站点企业客户占比, 0.5)</code>" in diff  # the weight before


def test_readable_changes_list_added_removed_and_changed_items(appctx):
    old = service.ruleset_for_version(db.session, 1)
    new, _ = load_dir(RULES_DIR)
    doc = new.to_document()
    first_fix = next(i for i in doc["indicator"] if i["code"] == "kpi_first_fix")
    doc["indicator"] = [i for i in doc["indicator"] if i["code"] != "kpi_labor_cost"] + [
        {**first_fix, "code": "kpi_new", "name": "新指标", "name_en": "New one"}]
    for item in doc["indicator"]:
        if item["code"] == "kpi_first_fix":
            item["target"], item["category"] = 0.8, "工作效率"
    for template in doc["template"]:
        template["line"] = [ln for ln in template["line"] if ln["indicator"] != "kpi_labor_cost"]
    from app.rules import RuleSet, diff_rulesets

    changed, _ = RuleSet.from_document(doc)
    with force_locale("en"):
        rows = service.readable_changes(diff_rulesets(old, changed), old, changed, "en")
    by_key = {(r["kind"], r["key"]): r for r in rows}
    first_fix = by_key[("indicator", "kpi_first_fix")]
    assert first_fix["name"] == old.indicator("kpi_first_fix").label("en")
    assert [(r["what"], r["before"], r["after"]) for r in first_fix["rows"]] == [
        ("Category", CATEGORY_EN[old.indicator("kpi_first_fix").category], CATEGORY_EN["工作效率"]),
        ("Target", "0.9", "0.8")]
    added = by_key[("indicator", "kpi_new")]
    assert added["change"] == "added" and added["name"] == "New one"
    assert {"what": "Score formula", "before": ""} .items() <= next(
        r for r in added["rows"] if r["field"] == "score").items()
    assert {"what": "Kind", "after": "Computed by a formula"}.items() <= next(
        r for r in added["rows"] if r["field"] == "kind").items()
    assert {"what": "Direction", "after": "higher"}.items() <= next(
        r for r in added["rows"] if r["field"] == "direction").items()
    assert by_key[("indicator", "kpi_labor_cost")]["change"] == "removed"
    weights = [r for row in rows if row["kind"] == "template" for r in row["rows"]]
    assert weights and all(r["code"] == "kpi_labor_cost" and r["after"] == "" for r in weights)
    assert all(r["what"] == "Weight of " + old.indicator("kpi_labor_cost").label("en") for r in weights)


# -- the files as a download ------------------------------------------------------------------------

def test_the_toml_page_offers_the_files_as_a_download(app, login_as):
    hr, manager, employee = login_as("hr"), login_as("manager1"), login_as("emp1")
    page = hr.get("/rules/v/1/export").get_data(as_text=True)
    assert "rules export DIR" not in page and "/rules/v/1/rules-v1.zip" in page
    answer = hr.get("/rules/v/1/rules-v1.zip")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    assert 'filename="rules-v1.zip"' in answer.headers["Content-Disposition"]
    one = hr.get("/rules/v/1/files/indicators.toml")
    assert hr.get("/rules/v/1/files/secret.txt").status_code == 404
    assert hr.get("/rules/v/1/rules-v7.zip").status_code == 404
    assert manager.get("/rules/v/1/rules-v1.zip").status_code == 200  # whoever reads rules
    assert employee.get("/rules/v/1/rules-v1.zip").status_code == 403
    with app.app_context():
        files = service.export_files(db.session, 1)
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    assert sorted(archive.namelist()) == sorted(f"rules-v1/{name}" for name in files)
    assert archive.read("rules-v1/indicators.toml").decode() == files["indicators.toml"]
    assert one.status_code == 200 and one.get_data(as_text=True) == files["indicators.toml"]


# -- discarding and restoring a draft ---------------------------------------------------------------

def test_a_discarded_draft_asks_first_leaves_the_lists_and_can_be_restored(appctx, hr):
    vid = new_draft(hr)
    page = hr.get(f"/rules/v/{vid}/").get_data(as_text=True)
    button = re.search(r'<button[^>]*data-confirm="([^"]*)"[^>]*>丢弃此草稿</button>', page)
    version = db.session.get(RuleSetVersion, vid)
    assert button and f"v{version.number}" in button.group(1)
    assert f"{len(version.indicators)} 个指标" in button.group(1)
    assert "30 天内可在规则集页面恢复" in button.group(1)

    done = post(hr, f"/rules/v/{vid}/discard")
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(RuleSetVersion, vid).discarded_by == "hr"
    index = hr.get("/rules/").get_data(as_text=True)
    assert "jx-open-drafts" not in index and "已丢弃的草稿" in index and f"恢复 v{version.number}" in index
    assert hr.get(f"/rules/v/{vid}/indicator/new").status_code == 404  # gone from the editor
    assert post(hr, f"/rules/v/{vid}/publish", confirm="1").status_code == 404
    assert "此草稿已于" in hr.get(f"/rules/v/{vid}/").get_data(as_text=True)

    restored = post(hr, f"/rules/v/{vid}/restore")
    assert restored.status_code == 302 and restored.headers["Location"].endswith(f"/rules/v/{vid}/")
    db.session.expire_all()
    again = db.session.get(RuleSetVersion, vid)
    assert again.discarded_at is None and len(again.indicators) == len(version.indicators)
    assert "jx-open-drafts" in hr.get("/rules/").get_data(as_text=True)


def test_a_draft_discarded_long_ago_is_deleted(appctx, hr):
    old, recent = new_draft(hr), new_draft(hr)
    post(hr, f"/rules/v/{old}/discard")
    db.session.expire_all()
    version = db.session.get(RuleSetVersion, old)
    version.discarded_at -= dt.timedelta(days=service.DISCARD_KEEP_DAYS + 1)
    db.session.commit()
    assert "已丢弃的草稿" not in hr.get("/rules/").get_data(as_text=True)
    refused = post(hr, f"/rules/v/{old}/restore")
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/rules/")
    post(hr, f"/rules/v/{recent}/discard")  # discarding clears out the expired ones
    db.session.expire_all()
    assert db.session.get(RuleSetVersion, old) is None
    assert db.session.get(RuleSetVersion, recent).is_discarded


def test_managers_may_not_discard_or_restore(login_as):
    hr, manager = login_as("hr"), login_as("manager1")
    vid = new_draft(hr)
    assert post(manager, f"/rules/v/{vid}/discard").status_code == 403
    post(hr, f"/rules/v/{vid}/discard")
    assert post(manager, f"/rules/v/{vid}/restore").status_code == 403


# -- publishing asks first --------------------------------------------------------------------------

def test_publishing_needs_the_confirmation_that_says_what_happens(appctx, hr):
    vid = new_draft(hr)
    page = hr.get(f"/rules/v/{vid}/publish").get_data(as_text=True)
    box = r'<input type="checkbox" name="confirm" value="1" required>\s*发布 v2：它将成为当前规则集'
    assert re.search(box, page)
    unconfirmed = post(hr, f"/rules/v/{vid}/publish", note="更严格的一次修复率")
    assert unconfirmed.status_code == 422  # the page again, with what was typed
    assert 'value="更严格的一次修复率"' in unconfirmed.get_data(as_text=True)
    assert "请勾选确认框" in unconfirmed.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(RuleSetVersion, vid).is_published
    assert post(hr, f"/rules/v/{vid}/publish", confirm="1").status_code == 302
    db.session.expire_all()
    assert db.session.get(RuleSetVersion, vid).is_published


# -- times in the configured zone -------------------------------------------------------------------

def test_rule_pages_show_times_in_the_configured_zone(appctx, hr):
    moment = dt.datetime(2026, 12, 2, 2, 40)  # UTC, as stored: 10:40 in Beijing
    # (a published version refuses changes through the ORM; this sets its stamps as a load would have)
    db.session.execute(update(RuleSetVersion.__table__).where(RuleSetVersion.__table__.c.id == 1)
                       .values(created_at=moment, published_at=moment))
    db.session.commit()
    vid = new_draft(hr)
    post(hr, f"/rules/v/{vid}/discard")
    db.session.execute(update(RuleSetVersion.__table__).where(RuleSetVersion.__table__.c.id == vid)
                       .values(discarded_at=moment))
    db.session.commit()
    for path in ("/rules/", "/rules/v/1/", f"/rules/v/{vid}/"):  # the list, a version, a discarded draft
        page = hr.get(path).get_data(as_text=True)
        assert "2026-12-02 10:40" in page and "02:40" not in page, path


# -- the what-if in natural order -------------------------------------------------------------------

def test_the_whatif_lists_employees_in_natural_order(appctx):
    version = service.current_version(db.session)
    cycle = Cycle(name="自然顺序", start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31),
                  rule_set_version_id=version.id)
    db.session.add(cycle)
    db.session.flush()
    numbers = ["EMP10", "EMP2", "EMP1"]
    for person in db.session.scalars(select(Employee).where(Employee.employee_no.in_(numbers))):
        db.session.add(Appraisal(cycle_id=cycle.id, employee_id=person.id, station_id=person.station_id,
                                 rule_set_version_id=version.id, total=50.0, grade="D", manual={},
                                 snapshot={}, snapshot_hash="0" * 64))
    db.session.commit()
    rows = service.whatif(db.session, version.id, cycle.name)["employees"]
    assert [r["employee_no"] for r in rows] == ["EMP1", "EMP2", "EMP10"]


def test_natural_key():
    from app.services.rules.whatif import natural_key

    assert sorted(["EMP10", "EMP2", "EMP1", "A", "EMP1B"], key=natural_key) == [
        "A", "EMP1", "EMP1B", "EMP2", "EMP10"]


# -- a weight that reads a personal metric ----------------------------------------------------------

def test_a_weight_reading_a_personal_metric_is_warned_not_refused(appctx, hr):
    vid = new_draft(hr)
    template = _template(vid, "tech_mixed")
    path = f"/rules/v/{vid}/template/{template.id}"
    table = service.template_dict(template)
    form = {"code": template.code, "name": template.name, "name_en": template.name_en,
            "positions": ", ".join(table["positions"]), "stations": table["stations"],
            "segments": table["segments"], "description": template.description,
            "line_indicator": [ln.indicator_code for ln in template.lines],
            "line_weight": ["IF(一次修复率 > 0.9, 30, 20)"] + [ln.weight for ln in template.lines[1:]]}
    saved = hr.post(path, data={"csrf_token": csrf_token(hr, path), **form}, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "已保存" in page
    assert "权重公式使用了个人变量 一次修复率" in page and "站点一次修复率" in page
    db.session.expire_all()
    assert _template(vid, "tech_mixed").lines[0].weight == "IF(一次修复率 > 0.9, 30, 20)"
    check = hr.get(f"/rules/v/{vid}/").get_data(as_text=True)
    # the check leads with the sentence; the code follows as a small mark
    shown = re.search(r'<span class="label label-warning">提醒</span>\s*权重公式使用了个人变量 一次修复率'
                      r'[^<]*<small[^>]*>[^<]*<span class="jx-code">PERSONAL_WEIGHT</span>', check)
    assert shown, check[check.find("jx-problems"):][:1500]
    problems = service.check_ruleset(service.ruleset_from_version(db.session.get(RuleSetVersion, vid)))
    personal = [p for p in problems if p.code == "PERSONAL_WEIGHT"]
    assert personal and not personal[0].is_error and personal[0].item == "template tech_mixed"
    # the station's twin is what a weight should read: no warning
    assert not [p for p in service.check_ruleset(service.ruleset_for_version(db.session, 1))
                if p.code == "PERSONAL_WEIGHT"]



@pytest.mark.parametrize("weight", ["IF(一次修复率 > 0.9, 30, 20)", "-5", "25", "20 + 10 * 站点一次修复率"])
def test_the_live_check_of_a_weight_says_what_saving_says(appctx, hr, weight):
    """The editor checks a weight field as HR types (role "weight"); saving the template then refuses
    or warns with the very same sentences, and takes what the check took without a word."""
    live = hr.post("/api/v1/formula/check", json={"expression": weight, "role": "weight"},
                   headers={"X-CSRFToken": csrf_token(hr, "/rules/")}).json
    vid = new_draft(hr)
    template = _template(vid, "tech_mixed")
    path = f"/rules/v/{vid}/template/{template.id}"
    table = service.template_dict(template)
    form = {"code": template.code, "name": template.name, "name_en": template.name_en,
            "positions": ", ".join(table["positions"]), "stations": table["stations"],
            "segments": table["segments"], "description": template.description,
            "line_indicator": [ln.indicator_code for ln in template.lines],
            "line_weight": [weight] + [ln.weight for ln in template.lines[1:]]}
    saved = hr.post(path, data={"csrf_token": csrf_token(hr, path), **form}, follow_redirects=True)
    page = saved.get_data(as_text=True)
    flashed = re.findall(r'alert-warning">\s*<button[^>]*>&times;</button>\s*([^<]+?)\s*</div>', page)
    if not live["ok"]:
        assert saved.status_code == 422 and live["error"]["message"] in page
        return
    assert saved.status_code == 200 and "已保存" in page
    assert [w["message"] for w in live["warnings"]] == flashed

def test_a_refused_formula_leads_with_the_sentence_and_keeps_the_code_small(appctx, hr):
    vid = new_draft(hr)
    template = _template(vid, "cs_default")
    path = f"/rules/v/{vid}/template/{template.id}"
    fields = {"code": "cs_default", "name": "客服", "positions": "客服", "description": "",
              "line_indicator": ["kpi_station_satisfaction", "kpi_station_survey_rate"],
              "line_weight": ["60", "40 * 站点回访"]}
    page = hr.post(path, data={"csrf_token": csrf_token(hr, path), **fields}).get_data(as_text=True)
    line = re.search(r'>([^<>]+)<small class="text-muted jx-code">UNKNOWN_NAME</small>', page)
    assert line and "站点回访" in line.group(1) and "UNKNOWN_NAME" not in line.group(1)


def test_the_new_rule_screens_read_english_on_english_pages(appctx, hr):
    hr.get("/lang/en")
    vid = new_draft(hr)
    template = _template(vid, "tech_mixed")
    template.lines[0].weight = "30"
    db.session.commit()
    publish = hr.get(f"/rules/v/{vid}/publish").get_data(as_text=True)
    code = template.lines[0].indicator_code
    name_en = service.ruleset_for_version(db.session, 1).indicator(code).label("en")
    assert f"Weight of {name_en}" in publish and "it becomes the current rule set" in publish
    post(hr, f"/rules/v/{vid}/discard")
    for page in (hr.get("/rules/").get_data(as_text=True), hr.get(f"/rules/v/{vid}/").get_data(as_text=True)):
        shown = re.sub(r"<[^>]+>", " ", page[page.index('class="jx-rules"'):])
        assert "Discarded" in shown or "discarded" in shown
        for word in ("丢弃", "恢复", "权重", "发布"):
            assert word not in shown, word
