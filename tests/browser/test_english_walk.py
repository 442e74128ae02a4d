"""The main screens in English show no Chinese rule text: the rule set names everything in both languages
(indicators, categories, units, grades, outcomes, templates), and every page and the PDF use the reader's.

``test_walk`` counts any Chinese stored in the database as data, so it cannot see a Chinese indicator name
copied into a snapshot. Here the only Chinese allowed on an English page is what has no English: the names
of people, stations, positions and cycles of the demo organisation (and the language menu's 中文 and the
product's name). The main screens of HR, a supervisor and an employee are walked, and the English PDF read.
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from tests.browser.conftest import login, screenshot
from tests.browser.test_walk import HAN, VISIBLE_TEXT
from tests.factories import appraisal_of

pytestmark = pytest.mark.browser


def organisation_runs(app) -> set[str]:
    """The runs of Chinese characters in the names of people, stations, positions, cycles and the company,
    and in what people wrote (comments, the work orders' tags)."""
    from sqlalchemy import MetaData, Table, select

    from app.extensions import db
    from app.models import AuditEvent, Cycle, Employee, Station, WorkOrder

    runs = {"中文", *HAN.findall(app.config["APP_NAME"]), *HAN.findall(app.config.get("COMPANY_NAME", ""))}
    users = Table("ab_user", MetaData(), autoload_with=db_engine(app))
    with app.app_context():
        for column in (Employee.name, Employee.position, Station.name, Cycle.name, AuditEvent.comment,
                       AuditEvent.who, WorkOrder.tags, users.c.first_name, users.c.last_name):
            for (value,) in db.session.execute(select(column).distinct()):
                runs.update(HAN.findall(value or ""))
        db.session.remove()
    return runs


def db_engine(app):
    from app.extensions import db

    with app.app_context():
        return db.engine


def demo_ids(app) -> dict:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Appraisal, Employee

    with app.app_context():
        emp1 = appraisal_of("EMP1")
        sup1 = db.session.scalar(select(Employee.id).where(Employee.employee_no == "SUP1"))
        reviewed = db.session.scalar(select(Appraisal.id).join(Employee, Employee.id == Appraisal.employee_id)
                                     .where(Employee.supervisor_id == sup1, Appraisal.is_current.is_(True),
                                            Appraisal.cycle_id == emp1.cycle_id))
        found = {"appraisal": emp1.id, "cycle": emp1.cycle_id, "reviewed": reviewed or emp1.id,
                 "version": emp1.rule_set_version_id}
        db.session.remove()
    return found


def chinese_on(page, href: str, allowed: set[str]) -> set[str]:
    response = page.goto(href, wait_until="domcontentloaded")
    assert response is not None and response.status < 400, f"{href}: {response and response.status}"
    texts = page.evaluate(VISIBLE_TEXT)
    return {run for text in texts for run in HAN.findall(text) if run not in allowed}


def screens(ids: dict) -> dict[str, list[str]]:
    appraisal, cycle = ids["appraisal"], ids["cycle"]
    return {
        "hr": ["/", "/appraisal/inbox/", f"/appraisal/show/{appraisal}", "/cycles/", f"/cycles/{cycle}",
               "/dashboard/", f"/dashboard/?cycle={cycle}", f"/dashboard/indicator/{cycle}/kpi_satisfaction",
               f"/calibration/{cycle}", f"/calibration/{cycle}/appraisal/{appraisal}", "/rules/",
               f"/rules/v/{ids['version']}/"],
        "sup1": ["/", "/appraisal/inbox/", f"/appraisal/show/{ids['reviewed']}"],
        "emp1": ["/", "/appraisal/mine/", f"/appraisal/show/{appraisal}", "/dashboard/mine/"],
    }


@pytest.mark.parametrize("username", ["hr", "sup1", "emp1"])
def test_english_screens_show_no_chinese_rule_text(served, new_page, username):
    allowed = organisation_runs(served.app)
    ids = demo_ids(served.app)
    page = new_page(locale="en-US")
    login(page, username)
    page.goto("/lang/en")
    found = {}
    for href in screens(ids)[username]:
        runs = chinese_on(page, href, allowed)
        if runs:
            found[href] = runs
    screenshot(page, f"english-walk-{username}")
    problems = [f"{href}: {' | '.join(sorted(runs))}" for href, runs in found.items()]
    assert not problems, f"{username} sees Chinese on English pages:\n" + "\n".join(problems)


def test_the_english_pdf_names_the_rules_in_english(served, new_page):
    allowed = organisation_runs(served.app)
    ids = demo_ids(served.app)
    page = new_page(locale="en-US")
    login(page, "hr")
    page.goto("/lang/en")
    response = page.request.get(f"/api/v1/appraisal/{ids['appraisal']}/pdf")
    assert response.status == 200, response.status
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.body())).pages)
    assert "Customer satisfaction" in text or "First-time fix rate" in text, text[:500]
    runs = {run for run in HAN.findall(text) if run not in allowed}
    # The PDF's text layer splits a name over lines; a run inside an allowed name is that name.
    runs = {run for run in runs if not any(run in name for name in allowed)}
    assert not runs, f"the English PDF shows Chinese: {' | '.join(sorted(runs))}"


def test_times_agree_between_the_rule_pages_and_the_cycle_pages(served, new_page):
    """One formatter: no screen shows a stored moment in UTC where another shows it in local time."""
    page = new_page(locale="en-US")
    login(page, "hr")
    page.goto("/rules/")
    shown = set(re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page.inner_text("body")))
    from app import clock
    from app.extensions import db
    from app.models import RuleSetVersion

    with served.app.app_context():
        expected = {clock.local_text(v.created_at) for v in db.session.query(RuleSetVersion)}
        db.session.remove()
    assert expected & shown, (expected, shown)
