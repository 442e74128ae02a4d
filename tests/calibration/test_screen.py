"""The calibration screen: HR sees every station side by side against the policy (breaches highlighted with
the policy's words), the spread chart, the segments and the boundary people with a form each; a station
manager sees their station read-only; anyone else is refused. The form checks first and writes only after
confirmation; a refused form keeps what was typed and says why, in Chinese or English."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Appraisal, Station
from tests.factories import csrf_token, current, events


@pytest.fixture
def approved(app, moves):
    """The fresh cycle with EMP10 approved at about 76 after sup2's adjustment (B: within 2 points of B's
    minimum); its appraisal id."""
    with app.app_context():
        moves.to_pending_review("EMP10")
        adjustment = round(76 - current(moves.cycle_id, "EMP10").subtotal)
        moves.review("sup2", "EMP10", manual={}, adjustment=adjustment, reason="回访投诉两起，酌情减分。")
        if moves.do("sup2", "EMP10", "approve") == "pending_second_review":
            moves.do("hr", "EMP10", "approve")
        pk = moves.id("EMP10")
        db.session.remove()
    return pk


def station_id(app, code: str) -> int:
    with app.app_context():
        return db.session.query(Station.id).filter(Station.code == code).scalar()


def current_cycle(app, appraisal_id: int) -> int:
    with app.app_context():
        return db.session.get(Appraisal, appraisal_id).cycle_id


def test_hr_sees_every_station_against_the_policy(login_as, hand):
    page = login_as("hr").get(f"/calibration/{hand}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "北京朝阳服务站" in html and "上海浦东服务站" in html
    assert "等级分布违反强制分布规则" in html and "全网：A 级 3/12 人（25%），上限 20%（最多 2 人）" in html
    assert re.search(r'class="text-right jx-share jx-breach" title="全网：A 级', html)
    assert html.count("<svg") == 2  # stations and segments
    segments = html[html.index("jx-segments"):]
    assert "个人客户" in segments and "企业客户" in segments and "混合" not in segments  # no mixed station
    assert html.count('class="form-inline jx-calibrate"') == 0  # nobody approved yet: no form
    assert "批准后才能校准" in html and "刘洋" in html


def test_the_boundary_people_of_one_station(app, login_as, hand):
    s02 = station_id(app, "S02")
    html = login_as("hr").get(f"/calibration/{hand}?station={s02}").get_data(as_text=True)
    boundary = html[html.index('id="boundary"'):]
    assert "吴强" in boundary and "刘洋" not in boundary
    assert login_as("hr").get(f"/calibration/{hand}?station=999999").status_code == 404


def test_labels_from_the_data_are_escaped(app, login_as, hand):
    with app.app_context():
        db.session.execute(update(Station).where(Station.code == "S01")
                           .values(name='<script>alert("x")</script>'))
        db.session.commit()
    html = login_as("hr").get(f"/calibration/{hand}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


def test_a_station_manager_reads_their_station(app, login_as, moves, approved):
    cycle = current_cycle(app, approved)
    with app.app_context():
        moves.to_approved("EMP1")  # S01, the manager's own station
        own = moves.id("EMP1")
    html = login_as("manager1").get(f"/calibration/{cycle}").get_data(as_text=True)
    assert "北京朝阳服务站" in html and "上海浦东服务站" not in html
    assert "只读" in html and 'class="form-inline jx-calibrate"' not in html
    assert "全网：" not in html
    c = login_as("manager1")
    token = csrf_token(c, f"/calibration/{cycle}")
    r = c.post(f"/calibration/{cycle}/appraisal/{own}",
               data={"grade": "A", "reason": "x", "csrf_token": token})
    assert r.status_code == 403 and "只有人力资源可以校准" in r.get_data(as_text=True)
    r = c.post(f"/calibration/{cycle}/appraisal/{approved}",
               data={"grade": "A", "reason": "x", "csrf_token": token})
    assert r.status_code == 404  # another station's appraisal does not exist for them


@pytest.mark.parametrize("who", ["sup1", "emp1"])
def test_others_are_refused(login_as, hand, who):
    c = login_as(who)
    r = c.get(f"/calibration/{hand}")
    assert r.status_code == 403 and "人力资源" in r.get_data(as_text=True)
    assert c.get("/calibration/").status_code == 403


def test_the_entry_goes_to_the_latest_cycle_and_the_cycle_page_links_here(login_as, hand):
    c = login_as("hr")
    r = c.get("/calibration/")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/calibration/{hand}")
    assert f'href="/calibration/{hand}"' in c.get(f"/cycles/{hand}").get_data(as_text=True)
    assert "/calibration/" not in login_as("emp1").get(f"/cycles/{hand}").get_data(as_text=True)
    assert login_as("hr").get("/calibration/999999").status_code == 404


def test_the_form_checks_then_writes_after_confirmation(app, login_as, approved):
    c = login_as("hr")
    cycle = current_cycle(app, approved)
    with app.app_context():
        old = current(cycle, "EMP10")
        old_hash, old_total = old.snapshot_hash, old.total
    html = c.get(f"/calibration/{cycle}").get_data(as_text=True)
    assert f'action="/calibration/{cycle}/appraisal/{approved}"' in html
    token = csrf_token(c, f"/calibration/{cycle}")
    form = {"grade": "", "total": "91", "reason": "服务难度高", "visibility": "internal", "hash": old_hash,
            "csrf_token": token, "action": "preview", "back": "show=all&grade=B&page=1&next=//evil.example"}
    preview = c.post(f"/calibration/{cycle}/appraisal/{approved}", data=form)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "确认修改" in page and "确认校准" in page and "服务难度高" in page and "91" in page
    assert 'name="back" value="grade=B&amp;show=all&amp;page=1"' in page  # the list's filters, nothing else
    assert f'href="/calibration/{cycle}?grade=B&amp;show=all&amp;page=1#boundary"' in page
    with app.app_context():
        assert current(cycle, "EMP10").id == approved  # nothing written yet
    done = c.post(f"/calibration/{cycle}/appraisal/{approved}", data=dict(form, action="confirm"))
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/calibration/{cycle}?grade=B&show=all&page=1#boundary")
    with app.app_context():
        new = current(cycle, "EMP10")
        assert (new.version, new.total, new.grade) == (2, 91.0, "A")
        (event,) = events(new.id)
        assert event.comment == f"等级 B → A；总分 {old_total:g} → 91：服务难度高"
    assert "已校准 高燕" in c.get(f"/calibration/{cycle}").get_data(as_text=True)


def test_a_refused_form_keeps_what_was_typed(login_as, approved, app):
    c = login_as("hr")
    cycle = current_cycle(app, approved)
    url = f"/calibration/{cycle}/appraisal/{approved}"
    token = csrf_token(c, f"/calibration/{cycle}")
    r = c.post(url, data={"total": "150", "reason": "我写的理由", "visibility": "shared",
                          "csrf_token": token})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "总分必须是 0 到 100 之间的数字" in html and "我写的理由" in html and 'value="150"' in html
    assert re.search(r'<option value="shared"\s+selected>', html)
    r = c.post(url, data={"grade": "A", "reason": " ", "csrf_token": token})
    assert r.status_code == 422 and "需要填写意见" in r.get_data(as_text=True)
    r = c.post(url, data={"grade": "A", "reason": "x", "hash": "0" * 64, "csrf_token": token,
                          "action": "confirm"})
    assert r.status_code == 409 and 'value="x"' not in r.get_data(as_text=True).split("jx-reason")[0]
    assert "x</textarea>" in r.get_data(as_text=True)
    c.get("/lang/en")
    r = c.post(url, data={"total": "abc", "reason": "kept", "csrf_token": token})
    assert r.status_code == 422 and "The total must be a number from 0 to 100." in r.get_data(as_text=True)
    assert "kept</textarea>" in r.get_data(as_text=True)


def test_the_form_page_and_its_scope(login_as, approved, app):
    c = login_as("hr")
    cycle = current_cycle(app, approved)
    r = c.get(f"/calibration/{cycle}/appraisal/{approved}")
    assert r.status_code == 200 and "高燕" in r.get_data(as_text=True)
    assert c.get(f"/calibration/{cycle + 1000}/appraisal/{approved}").status_code == 404
    assert login_as("emp3").get(f"/calibration/{cycle}/appraisal/{approved}").status_code == 403
    assert login_as("manager1").get(f"/calibration/{cycle}/appraisal/{approved}").status_code == 404


def test_english(login_as, hand):
    c = login_as("hr")
    c.get("/lang/en")
    html = c.get(f"/calibration/{hand}").get_data(as_text=True)
    assert "Grades by station" in html and "Network: grade A 3/12 (25%)" in html and "按客户类型" not in html
