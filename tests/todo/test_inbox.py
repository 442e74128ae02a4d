"""The inbox searched, filtered and sorted (screen and API), its due dates on a moved clock, its pages,
and bulk actions that first say how many and which."""

from __future__ import annotations

import pytest

from app import clock as app_clock
from app.extensions import db
from app.models import Station
from app.services.deadlines import set_deadlines
from app.services.inbox import BadInboxFilter, inbox, parse_filters
from tests.factories import Moves, appraisal_ids, caller, current
from tests.todo.conftest import row_ids, token_of

S01 = ("EMP1", "EMP2", "EMP3", "EMP4", "EMP5")


def numbers(app, username: str, **filters) -> list[str]:
    with app.app_context():
        return [i.employee_no for i in inbox(db.session, caller(app, username), **filters)]


@pytest.fixture
def reviewing(app, fresh):
    """EMP1–EMP5 of the fresh cycle wait for sup1's review; the other drafts for HR's submit."""
    with app.app_context():
        moves = Moves(app, fresh)
        for no in S01:
            moves.to_pending_review(no)
    return fresh


def test_search_finds_a_number_or_a_name_in_any_case_and_escapes_wildcards(app, reviewing):
    assert numbers(app, "sup1", cycle_id=reviewing, q="emp3") == ["EMP3"]
    with app.app_context():
        name = current(reviewing, "EMP2").employee.name
    assert numbers(app, "sup1", cycle_id=reviewing, q=name[1:]) == ["EMP2"]
    assert sorted(numbers(app, "sup1", cycle_id=reviewing, q="EMP")) == list(S01)
    for wildcard in ("%", "_", "EMP_", "\\"):
        assert numbers(app, "sup1", cycle_id=reviewing, q=wildcard) == [], wildcard


def test_filters_by_cycle_station_and_state(app, reviewing):
    with app.app_context():
        s02 = db.session.query(Station.id).filter(Station.code == "S02").scalar()
        drafts = {no for no, _ in appraisal_ids(reviewing).items()} - set(S01)
    mine = numbers(app, "hr", cycle_id=reviewing, state="draft")
    assert set(mine) == drafts
    in_s02 = numbers(app, "hr", cycle_id=reviewing, station_id=s02)
    assert in_s02 and set(in_s02) < drafts and "EMP6" in in_s02 and "EMP7" in in_s02
    assert numbers(app, "hr", cycle_id=reviewing, state="pending_review") == []  # sup1's, not HR's
    assert sorted(numbers(app, "sup1", cycle_id=reviewing, state="pending_review")) == list(S01)
    assert numbers(app, "sup1", cycle_id=reviewing, state="draft") == []


def test_sorts_by_employee_total_and_both_directions(app, reviewing):
    with app.app_context():
        totals = {i.employee_no: i.total for i in inbox(db.session, caller(app, "sup1"), cycle_id=reviewing)}
    assert numbers(app, "sup1", cycle_id=reviewing, sort="employee") == sorted(S01)
    assert numbers(app, "sup1", cycle_id=reviewing, sort="-employee") == sorted(S01, reverse=True)
    by_total = numbers(app, "sup1", cycle_id=reviewing, sort="total")
    assert [totals[n] for n in by_total] == sorted(totals.values())
    by_total = numbers(app, "sup1", cycle_id=reviewing, sort="-total")
    assert [totals[n] for n in by_total] == sorted(totals.values(), reverse=True)


def test_due_dates_overdue_and_soon_on_a_moved_clock(app, reviewing, clock, api_as):
    with app.app_context():
        set_deadlines(db.session, reviewing, caller(app, "hr"), {"pending_review": app_clock.local_today()})
    assert numbers(app, "sup1", cycle_id=reviewing, due="overdue") == []
    assert sorted(numbers(app, "sup1", cycle_id=reviewing, due="soon")) == list(S01)
    clock.move(days=1)
    assert sorted(numbers(app, "sup1", cycle_id=reviewing, due="overdue")) == list(S01)
    assert numbers(app, "sup1", cycle_id=reviewing, due="soon") == []
    answer = api_as("sup1").get(f"/api/v1/appraisal/inbox?cycle={reviewing}&due=overdue&q=emp1")
    assert answer.status_code == 200
    [item] = answer.json["result"]
    assert item["employee_no"] == "EMP1" and item["due_status"] == "overdue" and item["due_at"]
    assert item["acting_for"] is None and item["countersign"] is None


def test_sort_by_due_puts_the_earliest_first_and_those_without_last(app, reviewing, clock):
    with app.app_context():
        demo = [i for i in inbox(db.session, caller(app, "sup1")) if i.cycle_id != reviewing
                and i.state == "pending_review"]
        assert demo, "the demo cycle has reviews for sup1"
        set_deadlines(db.session, reviewing, caller(app, "hr"), {"pending_review": app_clock.local_today()})
        items = inbox(db.session, caller(app, "sup1"), state="pending_review")
    assert [i.cycle_id for i in items[:len(S01)]] == [reviewing] * len(S01)
    dues = [i.due_at for i in items]
    dated = [d for d in dues if d is not None]
    assert dated == sorted(dated) and dues == dated + [None] * (len(dues) - len(dated))
    with app.app_context():
        backwards = inbox(db.session, caller(app, "sup1"), state="pending_review", sort="-due")
    assert [i.due_at for i in backwards] == sorted(dated, reverse=True) + [None] * (len(dues) - len(dated))
    assert backwards[len(dated) - 1].cycle_id == reviewing


def test_bad_filters_are_refused_and_change_nothing(app, login_as, api_as):
    for args in ({"sort": "salary"}, {"due": "yesterday"}, {"state": "lost"}, {"cycle": "1 or 1=1"},
                 {"q": "x" * 101}):
        with pytest.raises(BadInboxFilter):
            parse_filters(args)
        answer = api_as("sup1").get("/api/v1/appraisal/inbox", query_string=args)
        assert answer.status_code == 422 and answer.json["message"], args
    page = login_as("sup1").get("/appraisal/inbox/?sort=salary")
    assert page.status_code == 200 and "alert-danger" in page.get_data(as_text=True)


def test_the_screen_filters_with_a_get_form_and_escapes_the_search(app, reviewing, login_as):
    browser = login_as("sup1")
    html = browser.get(f"/appraisal/inbox/?cycle={reviewing}&q=emp2&sort=employee").get_data(as_text=True)
    with app.app_context():
        ids = appraisal_ids(reviewing)
    assert row_ids(html) == [ids["EMP2"]]
    assert 'method="get"' in html and 'name="q"' in html and 'value="emp2"' in html
    hostile = browser.get("/appraisal/inbox/", query_string={"q": "<script>alert(1)</script>"})
    text = hostile.get_data(as_text=True)
    assert hostile.status_code == 200 and "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text


def test_the_inbox_is_shown_a_page_at_a_time(app, reviewing, login_as, monkeypatch):
    import app.views.appraisal as screens

    monkeypatch.setattr(screens, "INBOX_PAGE", 2)
    browser = login_as("sup1")
    shown = []
    for page in (1, 2, 3):
        answer = browser.get(f"/appraisal/inbox/?cycle={reviewing}&sort=employee&page={page}")
        html = answer.get_data(as_text=True)
        shown += row_ids(html)
        assert "jx-pages" in html and f"cycle={reviewing}" in html  # the page links keep the filters
    with app.app_context():
        ids = appraisal_ids(reviewing)
    assert shown == [ids[no] for no in S01]


def test_bulk_first_confirms_how_many_and_which_then_acts(app, reviewing, login_as):
    with app.app_context():
        ids = appraisal_ids(reviewing)
        names = {no: current(reviewing, no).employee.name for no in ("EMP1", "EMP2")}
    browser = login_as("sup1")
    token = token_of(browser.get("/appraisal/inbox/").get_data(as_text=True))
    picked = [str(ids["EMP1"]), str(ids["EMP2"])]
    page = browser.post("/appraisal/bulk/", data={"csrf_token": token, "action": "approve", "ids": picked,
                                                  "comment": "<b>好</b>"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "jx-bulk-confirm" in html
    for no in ("EMP1", "EMP2"):
        assert f"{no} {names[no]}" in html and f'name="ids" value="{ids[no]}"' in html
    assert 'name="confirmed" value="1"' in html and "<b>好</b>" not in html
    assert "EMP3" not in html
    with app.app_context():
        assert {current(reviewing, no).state.value for no in S01} == {"pending_review"}  # nothing yet
    done = browser.post("/appraisal/bulk/", data={"csrf_token": token, "action": "approve", "ids": picked,
                                                  "confirmed": "1"})
    assert done.status_code == 302
    with app.app_context():
        assert current(reviewing, "EMP1").state.value in ("approved", "pending_second_review")
        assert current(reviewing, "EMP2").state.value in ("approved", "pending_second_review")
        assert current(reviewing, "EMP3").state.value == "pending_review"


def test_bulk_confirmation_names_only_what_the_caller_may_see(app, reviewing, login_as):
    with app.app_context():
        ids = appraisal_ids(reviewing)
        other = current(reviewing, "EMP6").employee.name
    browser = login_as("sup1")
    token = token_of(browser.get("/appraisal/inbox/").get_data(as_text=True))
    html = browser.post("/appraisal/bulk/", data={"csrf_token": token, "action": "approve",
                                                  "ids": [str(ids["EMP1"]), str(ids["EMP6"])]}
                        ).get_data(as_text=True)
    assert "EMP1" in html and "EMP6" not in html and other not in html
    with app.app_context():
        assert current(reviewing, "EMP1").state.value == "pending_review"
