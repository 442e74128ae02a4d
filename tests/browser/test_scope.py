"""Journey 8: typing someone else's appraisal, PDF or API address gives 404, never the record."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.signoff.conftest import appraisal_of

pytestmark = pytest.mark.browser


def ids(app, *employee_nos):
    from app.extensions import db

    with app.app_context():
        found = {no: appraisal_of(no).id for no in employee_nos}
        db.session.remove()
    return found


def urls(pk):
    return [f"/appraisal/show/{pk}", f"/api/v1/appraisal/{pk}/pdf", f"/api/v1/appraisal/{pk}"]


def status(page, url):
    """What the browser gets for ``url`` typed into the address bar (a PDF is fetched with the
    page's cookies, because Chromium turns it into a download rather than a navigation)."""
    if url.endswith("/pdf"):
        return page.request.get(url).status
    return page.goto(url).status


def test_employee_and_supervisor_get_404_outside_their_scope(served, as_user):
    pk = ids(served.app, "EMP1", "EMP2", "EMP6")

    emp1 = as_user("emp1")
    for url in urls(pk["EMP1"]):
        assert status(emp1, url) == 200, url
    for url in urls(pk["EMP2"]) + urls(pk["EMP6"]):
        assert status(emp1, url) == 404, url
    emp1.goto(f"/appraisal/show/{pk['EMP2']}")
    body = emp1.inner_text("body")
    assert "Traceback" not in body and "未找到" in body
    screenshot(emp1, "8-employee-other-appraisal-404")

    sup1 = as_user("sup1")
    for url in urls(pk["EMP2"]):
        assert status(sup1, url) == 200, url
    for url in urls(pk["EMP6"]):
        assert status(sup1, url) == 404, url
    sup1.goto(f"/appraisal/show/{pk['EMP6']}")
    screenshot(sup1, "8-supervisor-other-team-404")
