"""Every role walks every menu entry in Chinese: no 5xx, no stack trace, no raw template text.
English words left on the pages are listed in test-output/browser/english-<role>.txt (reported,
not asserted). The employee's appraisal fits a 390-pixel phone screen."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SHOTS, screenshot
from tests.signoff.conftest import appraisal_of

pytestmark = pytest.mark.browser

# English words allowed on Chinese pages: codes, units, brand and format names.
ALLOWED = {"SWOT", "SHA", "PDF", "CSV", "XLSX", "API", "N/A", "NPS", "FTF", "KPI", "Jixiao", "ID", "JSON",
           "TOML", "UTF", "GBK", "Excel"}
WORD = re.compile(r"[A-Za-z][A-Za-z']{3,}(?: [A-Za-z][A-Za-z']+)*")


def menu_links(page) -> list[str]:
    hrefs = page.eval_on_selector_all(
        ".navbar a[href]", "els => els.map(e => e.getAttribute('href'))")
    keep = []
    for href in hrefs:
        if not href or href.startswith(("#", "javascript", "http")) or "logout" in href or "lang" in href:
            continue
        if href not in keep:
            keep.append(href)
    return keep


@pytest.mark.parametrize("username", ["admin", "hr", "manager1", "sup1", "emp1"])
def test_every_menu_entry_renders_in_chinese(served, as_user, username):
    page = as_user(username)
    links = menu_links(page)
    assert links, "no menu entries found"
    english: dict[str, set[str]] = {}
    for href in links:
        response = page.goto(href, wait_until="domcontentloaded")
        assert response is not None and response.status < 500, f"{href}: {response and response.status}"
        assert response.status != 404, f"{href} is a broken menu link"
        body = page.inner_text("body")
        assert "Traceback" not in body and 'File "' not in body, f"{href} shows a stack trace"
        assert "{{" not in body and "}}" not in body and "{%" not in body, f"{href} shows raw template text"
        words = {w for w in WORD.findall(body) if w not in ALLOWED and not w.isupper()}
        if words:
            english[href] = words
    SHOTS.mkdir(parents=True, exist_ok=True)
    with open(SHOTS / f"english-{username}.txt", "w", encoding="utf-8") as fh:
        for href, words in english.items():
            fh.write(f"{href}\t{' | '.join(sorted(words))}\n")
    screenshot(page, f"walk-{username}-last")


def test_employee_appraisal_fits_a_phone(served, as_user):
    from app.extensions import db

    with served.app.app_context():
        pk = appraisal_of("EMP1").id
        db.session.remove()
    page = as_user("emp1", width=390, height=844)
    page.goto(f"/appraisal/show/{pk}")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    screenshot(page, "phone-390-appraisal")
    assert max(widths[0], widths[1]) <= widths[2], widths
