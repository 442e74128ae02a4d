"""Journey 2: HR uploads a work-order file with two bad rows, sees both rows and reasons in Chinese,
nothing is imported; the corrected file then imports."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

HEAD = "order_no,station_code,technician_no,customer_type,reported_at,completed_at"
CJK = re.compile(r"[\u4e00-\u9fff]")


def orders(app, prefix: str) -> int:
    from app.extensions import db
    from app.models import WorkOrder

    with app.app_context():
        like = WorkOrder.order_no.like(f"{prefix}%")
        n = db.session.scalar(select(func.count()).select_from(WorkOrder).where(like))
        db.session.remove()
    return n


def upload(page, name: str, text: str) -> None:
    page.goto("/import/")
    page.select_option("#jx-kind", "work-orders")
    page.set_input_files("#jx-file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])
    page.locator("form.jx-import [type=submit]").click()
    page.wait_for_load_state()


def test_two_bad_rows_are_shown_in_chinese_and_the_corrected_file_imports(served, as_user):
    bad = "\n".join([HEAD,
                     "BRW-1,S01,EMP1,consumer,2026-11-02 09:00,2026-11-02 15:00",
                     "BRW-2,S99,EMP1,consumer,2026-11-03 09:00,2026-11-03 15:00",
                     "BRW-3,S01,EMP1,consumer,2026-11-31 09:00,"]) + "\n"
    page = as_user("hr")
    upload(page, "工单.csv", bad)
    rows = page.locator("table.jx-import-errors tbody tr")
    found = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        column = rows.nth(i).locator("td code").inner_text()  # the header; its meaning beside it
        assert CJK.search(cells[1]), cells
        found[(cells[0].strip(), column)] = cells[2].strip()
    assert ("3", "station_code") in found and ("4", "reported_at") in found, found
    assert found[("4", "reported_at")].startswith("不存在的日期"), found
    assert all(CJK.search(message) for message in found.values()), found
    assert not any(row == "2" for row, _ in found), found
    assert CJK.search(page.inner_text(".alert-danger"))
    assert orders(served.app, "BRW-") == 0
    screenshot(page, "2-import-refused")

    good = bad.replace(",S99,", ",S01,").replace("2026-11-31", "2026-11-30")
    upload(page, "工单-改正.csv", good)
    assert page.locator(".jx-import-result").is_visible()
    assert "3" in page.inner_text(".jx-import-result")
    assert page.locator("table.jx-import-errors").count() == 0
    assert orders(served.app, "BRW-") == 3
    screenshot(page, "2-import-corrected")
