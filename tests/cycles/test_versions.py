"""A cycle recomputed on a new rule-set version: what the summary counts as changed, which appraisals
move to the new version and which stay locked on the one they were computed with."""

from __future__ import annotations

import re

from app.extensions import db
from app.models import Cycle
from app.services.compute import compute_cycle
from app.services.cycles import version_counts
from tests.cycles.conftest import appraisal_ids, current
from tests.cycles.versions import S01_INDICATOR, publish_edited, renamed_teamwork, with_s01_indicator


def test_a_new_version_that_moves_no_total_changes_nothing_in_the_summary(app, moves, fresh, tmp_path):
    with app.app_context():
        moves.to_approved("EMP1")
        assert publish_edited(tmp_path, renamed_teamwork) == "v2"
        result = compute_cycle(db.session, db.session.get(Cycle, fresh), rebind=True)
        recomputable = len(appraisal_ids(fresh)) - 1
        assert (result.created, result.changed, result.locked) == (0, [], 1)
        assert (result.unchanged, result.rewritten) == (recomputable, recomputable)
        shown = db.session.get(Cycle, fresh).last_result
        assert (shown["updated"], shown["unchanged"], shown["rewritten"], shown["locked"]) == (
            0, recomputable, recomputable, 1)
        # every recomputed one is on v2 now, the approved one stays on v1
        assert current(fresh, "EMP2").snapshot["rule_version"] == "v2"
        assert current(fresh, "EMP1").snapshot["rule_version"] == "v1"


def on_two_versions(app, moves, fresh, tmp_path) -> dict[str, int]:
    """EMP1–EMP3 approved on v1, then v2 (a new S01 indicator) published and the cycle recomputed on it:
    appraisal ids by employee number."""
    with app.app_context():
        for no in ("EMP1", "EMP2", "EMP3"):
            moves.to_approved(no)
        assert publish_edited(tmp_path, with_s01_indicator) == "v2"
        result = compute_cycle(db.session, db.session.get(Cycle, fresh), rebind=True)
        assert result.locked == 3
        assert S01_INDICATOR in {line["code"] for line in current(fresh, "EMP4").snapshot["lines"]}
        assert S01_INDICATOR not in {line["code"] for line in current(fresh, "EMP1").snapshot["lines"]}
        return appraisal_ids(fresh)


def test_the_cycle_says_how_many_appraisals_are_on_which_version_and_why(app, moves, fresh, tmp_path,
                                                                         login_as):
    ids = on_two_versions(app, moves, fresh, tmp_path)
    with app.app_context():
        (v2, v1) = version_counts(db.session, db.session.get(Cycle, fresh))
        assert (v2.label, v2.is_cycles, v2.count) == ("v2", True, len(ids) - 3)
        assert (v1.label, v1.is_cycles, v1.count, v1.states) == ("v1", False, 3, {"approved": 3})
    hr = login_as("hr")
    html = hr.get(f"/cycles/{fresh}").get_data(as_text=True)
    assert f'data-version="v2" data-count="{len(ids) - 3}"' in html
    assert 'data-version="v1" data-count="3"' in html and "jx-versions-note" in html
    # the list of cycles names the cycle's version and how many are on another
    cycles = hr.get("/cycles/").get_data(as_text=True)
    assert re.search(r'<td class="jx-cycle-version">v2 <span class="text-muted small">[^<]*\b3\b', cycles)
    # the list of the cycle's appraisals names each one's version
    listed = hr.get(f"/appraisal/list/?_flt_0_cycle={fresh}&psize_AppraisalView=100").get_data(as_text=True)
    assert listed.count(">v1<") == 3 and listed.count(">v2<") == len(ids) - 3
    # the locked appraisal's page says why it is still on v1; a recomputed one has no such note
    locked = hr.get(f"/appraisal/show/{ids['EMP1']}").get_data(as_text=True)
    assert 'class="alert alert-info jx-rule-version" data-version="v1" data-cycle-version="v2"' in locked
    assert "jx-rule-version" not in hr.get(f"/appraisal/show/{ids['EMP4']}").get_data(as_text=True)


def test_a_cycle_on_one_version_says_so(app, fresh, login_as):
    html = login_as("hr").get(f"/cycles/{fresh}").get_data(as_text=True)
    assert 'class="text-muted jx-versions"' in html and "jx-versions-note" not in html


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_the_versions_box_is_punctuated_in_the_reader_s_language(app, moves, fresh, tmp_path, login_as):
    """Chinese full-width marks with no spaces around them; English ASCII ones."""
    on_two_versions(app, moves, fresh, tmp_path)
    with app.app_context():
        moves.to_pending_review("EMP4")  # two states on v2: a list of counts
    hr = login_as("hr")
    zh = hr.get(f"/cycles/{fresh}?_l_=zh_CN").get_data(as_text=True)
    items = [_text(li) for li in re.findall(r'<li class="jx-version".*?</li>', zh, re.S)]
    assert items[0] == "v2：10 份考核（草稿 9、待审核 1）。本周期现用的规则集，重新计算时采用。"
    assert items[1].startswith("v1：3 份考核（已批准 3）。已锁定：")
    assert "服务站：全部" in _text(zh) and "规则集 v2（另有 3 份考核仍用其他版本，见下文）" in _text(zh)
    en = hr.get(f"/cycles/{fresh}?_l_=en").get_data(as_text=True)
    items = [_text(li) for li in re.findall(r'<li class="jx-version".*?</li>', en, re.S)]
    assert items[0] == ("v2: 10 appraisals (Draft 9, Pending review 1). "
                        "The cycle's rule set: computing again uses it.")
    assert items[1].startswith("v1: 3 appraisals (Approved 3). Locked: ")
    assert "Stations: all" in _text(en) and "Rule set v2 (3 appraisals still on another version" in _text(en)
