"""The inbox a page at a time: every sort pages through the whole inbox once, in order (the due date
across pages too); the page links keep the filters and stay few however many pages; a page runs as many
SQL statements and weighs as much whatever the inbox holds; only the page's items are built."""

from __future__ import annotations

import re

import pytest

from app import clock as app_clock
from app.extensions import db
from app.services import inbox as inbox_service
from app.services.deadlines import set_deadlines
from app.services.inbox import SORTS, inbox, inbox_page
from tests.factories import Moves, caller, statements_for
from tests.todo.conftest import row_ids

ORDERS = [*SORTS, *(f"-{s}" for s in SORTS)]


@pytest.fixture
def dated(app, fresh):
    """The fresh cycle's drafts due today, three of them waiting for sup1 (due tomorrow)."""
    with app.app_context():
        moves = Moves(app, fresh)
        for no in ("EMP1", "EMP2", "EMP3"):
            moves.to_pending_review(no)
        today = app_clock.local_today()
        set_deadlines(db.session, fresh, caller(app, "hr"), {"draft": today})
    return fresh


@pytest.mark.parametrize("username", ["hr", "sup1"])
def test_every_sort_pages_through_the_whole_inbox_once_in_order(app, dated, username):
    with app.app_context():
        person = caller(app, username)
        for sort in ORDERS:
            whole = [i.id for i in inbox(db.session, person, sort=sort)]
            assert whole, (username, sort)
            shown, page = [], 1
            while True:
                items, count, at = inbox_page(db.session, person, page=page, per_page=4, sort=sort)
                assert count == len(whole) and at == page and len(items) <= 4
                shown += [i.id for i in items]
                if page * 4 >= count:
                    break
                page += 1
            assert shown == whole, sort
            # past the last page: the last one
            items, _, at = inbox_page(db.session, person, page=page + 5, per_page=4, sort=sort)
            assert at == page and [i.id for i in items] == whole[(page - 1) * 4:]


def test_due_dates_stay_in_order_across_pages(app, dated):
    with app.app_context():
        person = caller(app, "hr")
        for sort in ("due", "-due"):
            dues = []
            for page in range(1, 100):
                items, count, at = inbox_page(db.session, person, page=page, per_page=3, sort=sort)
                if at < page:
                    break
                dues += [i.due_at for i in items]
            assert len(dues) == count
            dated_ones = [d for d in dues if d is not None]
            assert dated_ones, "the fresh drafts have a due date"
            assert dated_ones == sorted(dated_ones, reverse=sort.startswith("-"))
            assert dues == dated_ones + [None] * (len(dues) - len(dated_ones)), sort


def test_only_the_page_is_built(app, dated, monkeypatch):
    built = []
    real = inbox_service.waiting_for
    monkeypatch.setattr(inbox_service, "waiting_for", lambda *a: built.append(a) or real(*a))
    with app.app_context():
        items, count, _ = inbox_page(db.session, caller(app, "hr"), page=2, per_page=5)
    assert count > 10 and len(items) == 5 and len(built) == 5


def test_the_page_links_keep_the_filters_and_stay_few(app, dated, login_as, monkeypatch):
    import app.views.appraisal as screens

    monkeypatch.setattr(screens, "INBOX_PAGE", 1)
    hr = login_as("hr")
    with app.app_context():
        count = len(inbox(db.session, caller(app, "hr"), state="draft"))
    assert count >= 10, "enough drafts for many pages"
    html = hr.get("/appraisal/inbox/?state=draft&sort=employee&page=5").get_data(as_text=True)
    assert re.search(rf"<small>[^<]*\b{count}\b[^<]*</small>", html), "the count of all that wait"
    links = re.findall(r'href="/appraisal/inbox/\?([^"]+)"', html)
    pages = sorted({int(re.search(r"page=(\d+)", a).group(1)) for a in links if "page=" in a})
    assert all("state=draft" in a and "sort=employee" in a for a in links if "page=" in a)
    assert pages == [1, 2, 3, 4, 5, 6, 7, 8, count]  # first, last, three either side (and prev/next)
    assert "jx-page-of" in html and "…" in html
    # the pages together list the inbox once, in order
    shown = []
    for page in range(1, count + 1):
        answer = hr.get(f"/appraisal/inbox/?state=draft&sort=employee&page={page}")
        shown += row_ids(answer.get_data(as_text=True))
    with app.app_context():
        assert shown == [i.id for i in inbox(db.session, caller(app, "hr"), state="draft", sort="employee")]


@pytest.mark.parametrize("username", ["hr", "sup1", "sup2"])
def test_a_page_runs_as_many_statements_for_two_rows_as_for_ten(app, dated, login_as, monkeypatch, username):
    import app.views.appraisal as screens

    browser = login_as(username)
    monkeypatch.setattr(screens, "INBOX_PAGE", 2)
    few = statements_for(app, browser, "/appraisal/inbox/")
    few_html = browser.get("/appraisal/inbox/").get_data(as_text=True)
    monkeypatch.setattr(screens, "INBOX_PAGE", 10)
    many = statements_for(app, browser, "/appraisal/inbox/")
    many_html = browser.get("/appraisal/inbox/").get_data(as_text=True)
    assert len(row_ids(few_html)) == 2 and len(row_ids(many_html)) > 2
    assert len(many) == len(few), "\n".join(many)


@pytest.mark.parametrize("username", ["hr", "sup1"])
def test_an_inbox_page_runs_the_same_statements_however_many_rows_wait(app, dated, login_as, username):
    """Rows waiting in an approval state are decided one by one (their round), yet in one statement
    however many they are: a page's statements stay the same, only their lists of ids grow."""
    browser = login_as(username)
    before = statements_for(app, browser, "/appraisal/inbox/")
    rows = len(row_ids(browser.get("/appraisal/inbox/").get_data(as_text=True)))
    with app.app_context():
        moves = Moves(app, dated)
        for no in ("EMP4", "EMP5"):
            moves.to_pending_review(no)
    after = statements_for(app, browser, "/appraisal/inbox/")
    if username == "sup1":  # EMP4 and EMP5 report to sup1: two more wait for them
        assert len(row_ids(browser.get("/appraisal/inbox/").get_data(as_text=True))) == rows + 2
    # a list of bound values, "(?, ?)" on SQLite, "(%(ids_1)s::INTEGER, %(ids_2)s::INTEGER)" on PostgreSQL
    value = r"(?:\?|%\([a-z_0-9]+\)s(?:::[A-Z]+)?|__\[POSTCOMPILE_\w+\])"
    same_shape = re.compile(rf"\({value}(?:, (?:{value}|[^(),]*))*\)")
    assert [same_shape.sub("(…)", s) for s in after] == [same_shape.sub("(…)", s) for s in before]


def test_the_home_page_runs_as_many_statements_however_much_waits(app, dated, login_as):
    hr, sup1 = login_as("hr"), login_as("sup1")
    before = [len(statements_for(app, b, "/")) for b in (hr, sup1)]
    with app.app_context():
        moves = Moves(app, dated)
        for no in ("EMP4", "EMP5"):
            moves.to_pending_review(no)
    assert [len(statements_for(app, b, "/")) for b in (hr, sup1)] == before


def test_a_page_weighs_little_per_row(app, dated, login_as, monkeypatch):
    import app.views.appraisal as screens

    hr = login_as("hr")
    monkeypatch.setattr(screens, "INBOX_PAGE", 1)
    one = len(hr.get("/appraisal/inbox/?state=draft").get_data())
    monkeypatch.setattr(screens, "INBOX_PAGE", 11)
    eleven = len(hr.get("/appraisal/inbox/?state=draft").get_data())
    per_row = (eleven - one) / 10
    # 50 rows a page stay far below 200 KB
    assert per_row < 3000 and one + 49 * per_row < 200_000, (one, per_row)
