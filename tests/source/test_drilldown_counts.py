"""The drill-down's Counts column: every order says whether it counts towards the metric and why; the
orders a metric leaves out are counted with the reason (demo data, three generated months)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.metrics import CODES
from app.models import Employee
from app.web.drilldown import LEFT_OUT
from tests.factories import demo_period

CELL = re.compile(
    r'<td class="jx-counts" data-counts="(yes|no)">[✔✘] <span class="small[^"]*">([^<]*)</span></td>')


def drilldown(app, browser, employee_no: str, code: str) -> str:
    with app.app_context():
        employee_id = db.session.scalar(select(Employee.id).where(Employee.employee_no == employee_no))
        start, end = demo_period()
    response = browser.get(f"/metrics/{employee_id}/{code}/?start={start}&end={end}")
    assert response.status_code == 200, (code, response.status_code)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("code", [c for c in CODES if c != "period_days"])
def test_every_order_says_whether_it_counts_and_why(app, login_as, code):
    html = drilldown(app, login_as("hr"), "EMP1" if code != "sla_rate" else "EMP6", code)
    rows = html.count("<tr") - 1
    cells = CELL.findall(html)
    assert len(cells) == rows, (code, rows, len(cells))
    assert cells or code in LEFT_OUT, code  # only a metric that leaves orders out may list none
    assert all(why.strip() for _counts, why in cells), code
    counted = sum(1 for counts, _why in cells if counts == "yes")
    assert re.search(rf"\b{counted}\b", html[html.index("jx-drilldown-summary"):][:400]), code


def test_a_rate_names_why_an_order_is_not_in_it(app, login_as):
    cells = CELL.findall(drilldown(app, login_as("hr"), "EMP1", "first_fix_rate"))
    assert {"yes", "no"} <= {counts for counts, _why in cells}
    reasons = {why for counts, why in cells if counts == "no"}
    assert reasons and not reasons & {why for counts, why in cells if counts == "yes"}


def test_a_mean_says_why_the_other_orders_are_left_out(app, login_as):
    browser = login_as("hr")
    orders = len(CELL.findall(drilldown(app, browser, "EMP1", "orders")))
    surveyed = drilldown(app, browser, "EMP1", "satisfaction")
    listed = len(CELL.findall(surveyed))
    assert 0 < listed < orders
    left_out = re.search(r'<span class="jx-left-out">([^<]*)</span>', surveyed).group(1)
    assert str(orders - listed) in left_out
