"""Each main screen names its browser tab: the page first, the product's name after it."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.extensions import db
from tests.factories import appraisal_of, demo_cycle

APP = "绩效 Jixiao"


def title_of(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, path
    return unescape(re.search(r"<title>(.*?)</title>", r.get_data(as_text=True), re.S).group(1)).strip()


@pytest.fixture
def ids(app):
    with app.app_context():
        found = {"appraisal": appraisal_of("EMP1").id, "cycle": demo_cycle().id, "name": demo_cycle().name}
        db.session.remove()
    return found


def test_the_main_screens_name_their_tab(app, login_as, ids):
    hr = login_as("hr")
    expected = {
        f"/appraisal/show/{ids['appraisal']}": "考核 · 张伟",
        "/appraisal/inbox/": "待办",
        "/cycles/": "考核周期",
        f"/cycles/{ids['cycle']}": f"考核周期 · {ids['name']}",
        f"/calibration/{ids['cycle']}": f"校准 · {ids['name']}",
        "/substitutes/": "代理人",
        "/notifications/": "通知",
        "/appraisal/list/": None,  # FAB's list screen: its own title
        "/dashboard/": "看板", "/jobs/": None, "/import/": None, "/metrics/": None, "/robots/": None,
        "/rules/": None,
    }
    for path, page in expected.items():
        title = title_of(hr, path)
        assert title.endswith(f" — {APP}"), (path, title)
        if page is not None:
            assert title == f"{page} — {APP}", (path, title)
    assert title_of(login_as("emp1"), "/appraisal/mine/") == f"我的考核 — {APP}"
    assert title_of(app.test_client(), "/verify/").endswith(f" — {APP}")
