"""The calibration screen keeps a cycle's figures while its appraisals stay as they were (their latest write
settled): a view then reads the appraisals twice whatever their number (when they were last written, and the
names of the page's people), shows the page a view that works everything out shows, and shows a write, a
renamed station or a renamed person at once."""

from __future__ import annotations

import re

from sqlalchemy import update

from app.extensions import db
from app.models import Employee, Station
from tests.calibration.test_paging import add_network
from tests.factories import counted, csrf_token, current, statements_for

SETTLED = {"minutes": 10}  # past the time a write takes to commit: the figures are kept from then on


def _page(response) -> str:
    """A page without what differs between two answers (the form tokens, the script nonces)."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    html = re.sub(r'(csrf_token"(?: type="hidden")? value|csrf-token" content)="[^"]+"', r"\1", html)
    return re.sub(r'nonce="[^"]+"', "nonce", html)


def _appraisal_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if re.search(r"\bFROM appraisal\b", s)]


def _station(app, code: str) -> int:
    with app.app_context():
        return db.session.query(Station.id).filter(Station.code == code).scalar()


def _row(html: str, appraisal_id: int) -> str:
    start = html.index(f'href="/appraisal/show/{appraisal_id}"')
    return html[start:html.index("</tr>", start)]


def test_a_kept_view_is_the_page_worked_out_for_fewer_queries(app, login_as, hand, clock):
    add_network(app, hand)
    clock.move(**SETTLED)
    hr = login_as("hr")
    for url in (f"/calibration/{hand}?show=all&page=7&spage=2", f"/calibration/{hand}?breach=1",
                f"/calibration/{hand}?show=all&grade=B&station={_station(app, 'N005')}"):
        app.extensions.pop("jixiao_calibration_figures", None)  # what the worker keeps: nothing yet
        with counted(app) as first:
            worked = _page(hr.get(url))
        with counted(app) as second:
            kept = _page(hr.get(url))
        assert kept == worked
        assert any("GROUP BY" in s for s in first) and not any("GROUP BY" in s for s in second)
        reads = _appraisal_reads(second)
        assert len(reads) == 2 and "max(appraisal.updated_at)" in reads[0], (url, reads)
        assert len(second) < len(first)


def test_a_kept_view_costs_the_same_queries_whatever_the_size(app, login_as, hand, clock):
    clock.move(**SETTLED)
    hr = login_as("hr")
    small = statements_for(app, hr, f"/calibration/{hand}?show=all")
    add_network(app, hand)
    big = statements_for(app, hr, f"/calibration/{hand}?show=all")
    deep = statements_for(app, hr, f"/calibration/{hand}?show=all&page=7&spage=2")
    assert len(small) == len(big) == len(deep), (small, big, deep)
    assert len(_appraisal_reads(big)) == 2


def test_the_figures_are_worked_out_again_until_the_latest_write_has_settled(app, login_as, hand):
    statements = statements_for(app, login_as("hr"), f"/calibration/{hand}")
    assert any("GROUP BY" in s for s in statements)


def test_a_write_shows_at_once(app, login_as, hand, moves, clock):
    clock.move(**SETTLED)
    hr = login_as("hr")
    url = f"/calibration/{hand}?show=all"
    hr.get(url)
    html = hr.get(url).get_data(as_text=True)  # kept
    with app.app_context():
        emp1 = moves.id("EMP1")
    assert "草稿" in _row(html, emp1) and "全网：A 级 3/12 人" in html
    with app.app_context():
        moves.to_approved("EMP1")
        db.session.remove()
    clock.move(**SETTLED)  # the write settled: the figures kept before it are not those of now
    html = hr.get(url).get_data(as_text=True)
    assert "已批准" in _row(html, emp1) and 'class="form-inline jx-calibrate"' in _row(html, emp1)
    with app.app_context():
        old_hash = current(hand, "EMP1").snapshot_hash
    token = csrf_token(hr, url)
    done = hr.post(f"/calibration/{hand}/appraisal/{emp1}",
                   data={"grade": "B", "total": "", "reason": "服务难度高", "visibility": "internal",
                         "hash": old_hash, "csrf_token": token, "action": "confirm", "back": "show=all"})
    assert done.status_code == 302
    clock.move(**SETTLED)
    html = hr.get(url).get_data(as_text=True)
    assert "全网：A 级" not in html  # 2 of 12 is within the policy's 20 %
    network = html[html.index('class="jx-network"'):]
    assert re.search(r'<span class="jx-count">2</span> <small class="text-muted">16.7%</small>', network)


def test_a_renamed_station_or_person_shows_at_once(app, login_as, hand, clock):
    clock.move(**SETTLED)
    hr = login_as("hr")
    url = f"/calibration/{hand}?show=all"
    hr.get(url)
    hr.get(url)
    with app.app_context():
        db.session.execute(update(Station).where(Station.code == "S01").values(name="朝阳新站"))
        db.session.execute(update(Employee).where(Employee.employee_no == "EMP1").values(name="张新伟"))
        db.session.commit()
    html = hr.get(url).get_data(as_text=True)
    assert "S01 朝阳新站" in html and "EMP1 张新伟" in html and "北京朝阳服务站" not in html


def test_each_scope_and_language_has_its_own_figures(app, login_as, hand, clock):
    clock.move(**SETTLED)
    hr = login_as("hr")
    for _ in range(2):
        assert "北京朝阳服务站" in hr.get(f"/calibration/{hand}").get_data(as_text=True)
    html = login_as("manager1").get(f"/calibration/{hand}").get_data(as_text=True)
    assert "北京朝阳服务站" in html and "上海浦东服务站" not in html and "全网：" not in html
    hr.get("/lang/en")
    html = hr.get(f"/calibration/{hand}").get_data(as_text=True)
    assert "<strong>Network</strong>" in html and "Network: grade A" in html
