"""Setting a cycle's due dates (HR only, by the screen and the API) and the local day they last."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CycleDeadline
from app.services import deadlines
from app.services.errors import NotFound
from tests.deadlines.conftest import SHANGHAI, due_day, local, set_due, signed_in
from tests.factories import ApiClient, caller, csrf_token, demo_cycle, jwt_token


def api(app, username: str) -> ApiClient:
    client = app.test_client()
    return ApiClient(client, jwt_token(client, username))


def stored() -> dict[str, dt.datetime]:
    db.session.expire_all()
    return {state: deadlines.aware(due) for state, due in
            db.session.execute(select(CycleDeadline.state, CycleDeadline.due_at))}


def test_a_due_date_lasts_until_the_end_of_its_local_day(ctx, clock):
    day = due_day(demo_cycle())
    due = set_due(ctx, "pending_review", day)
    # 23:59:59.999999 in Shanghai is 15:59:59.999999 UTC of the same day
    assert due == dt.datetime.combine(day, dt.time(15, 59, 59, 999999), tzinfo=dt.UTC)
    assert due == dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=SHANGHAI)
    assert stored() == {"pending_review": due}
    status = {when: deadlines.due_status(due, local(*when).astimezone(dt.UTC)) for when in [
        (day - dt.timedelta(days=1), 23, 59), (day, 0, 0), (day, 23, 59), (day + dt.timedelta(days=1), 0, 1)]}
    assert list(status.values()) == [None, "soon", "soon", "overdue"]


def test_the_api_gives_and_takes_local_days(mail_app, clock):
    with mail_app.app_context():
        cycle = demo_cycle()
        day, cycle_id = due_day(cycle), cycle.id
    hr = api(mail_app, "hr")
    r = hr.put(f"/api/v1/deadline/{cycle_id}", json={"pending_review": day.isoformat(),
                                                     "approved": (day + dt.timedelta(days=7)).isoformat()})
    assert r.status_code == 200, r.json
    assert r.json["deadlines"]["pending_review"] == {
        "date": day.isoformat(), "due_at": f"{day.isoformat()}T23:59:59+08:00", "status": None}
    assert set(r.json["deadlines"]) == {"pending_review", "approved"}
    clock.set(local(day, 12))
    shown = api(mail_app, "sup1").get(f"/api/v1/deadline/{cycle_id}")
    assert shown.status_code == 200
    assert shown.json["deadlines"]["pending_review"]["status"] == "soon"
    # null removes a date; the steps not named keep theirs
    r = hr.put(f"/api/v1/deadline/{cycle_id}", json={"approved": None})
    assert list(r.json["deadlines"]) == ["pending_review"]
    assert hr.get("/api/v1/deadline/999999").status_code == 404


@pytest.mark.parametrize("username", ["sup1", "manager1", "emp1"])
def test_only_hr_sets_due_dates(mail_app, username):
    with mail_app.app_context():
        cycle = demo_cycle()
        day, cycle_id = due_day(cycle), cycle.id
        with pytest.raises(deadlines.NotDeadlineSetter):
            deadlines.set_deadlines(db.session, cycle_id, caller(mail_app, username), {"pending_review": day})
    r = api(mail_app, username).put(f"/api/v1/deadline/{cycle_id}", json={"pending_review": day.isoformat()})
    assert r.status_code == 403
    client = signed_in(mail_app, username)
    page = client.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert 'id="jx-deadlines"' in page and "jx-deadlines-form" not in page
    token = csrf_token(client, f"/cycles/{cycle_id}")
    client.post(f"/cycles/{cycle_id}/deadlines",
                data={"csrf_token": token, "pending_review": day.isoformat()})
    with mail_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CycleDeadline)) == 0


@pytest.mark.parametrize(("body", "code"), [
    ({"pending_review": "10.12.2026"}, "BAD_DATE"),
    ({"pending_review": 20261210}, "BAD_DATE"),
    ({"signed": "2026-12-10"}, "UNKNOWN_STATE"),
    ({"pending_review": "1999-01-01"}, "OUT_OF_RANGE"),
])
def test_a_bad_due_date_changes_nothing(mail_app, body, code):
    with mail_app.app_context():
        cycle = demo_cycle()
        first, cycle_id = set_due(mail_app, "approved", due_day(cycle)), cycle.id
    r = api(mail_app, "hr").put(f"/api/v1/deadline/{cycle_id}",
                                json={"draft": "2099-01-01" if code != "OUT_OF_RANGE" else None, **body})
    assert r.status_code == 422, r.json
    assert r.json["message"]
    with mail_app.app_context():
        assert stored() == {"approved": first}


def test_an_unknown_cycle_is_not_found(ctx):
    with pytest.raises(NotFound):
        deadlines.set_deadlines(db.session, 10**6, caller(ctx, "hr"), {"draft": None})


def test_hr_sets_and_clears_due_dates_on_the_cycle_page(mail_app, clock):
    with mail_app.app_context():
        cycle = demo_cycle()
        day, cycle_id = due_day(cycle), cycle.id
    client = signed_in(mail_app, "hr")
    page = client.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert "jx-deadlines-form" in page
    token = csrf_token(client, f"/cycles/{cycle_id}")
    r = client.post(f"/cycles/{cycle_id}/deadlines", data={
        "csrf_token": token, "pending_review": day.isoformat(), "approved": "", "draft": ""})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cycles/{cycle_id}#jx-deadlines")
    clock.set(local(day, 23, 59))
    page = client.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert f'value="{day.isoformat()}"' in page and "jx-due-soon" in page
    with mail_app.app_context():
        assert set(stored()) == {"pending_review"}
    bad = client.post(f"/cycles/{cycle_id}/deadlines", follow_redirects=True,
                      data={"csrf_token": token, "pending_review": "tomorrow"}).get_data(as_text=True)
    assert "YYYY-MM-DD" in bad
    # refused: the page again with the dates as typed
    later = (day + dt.timedelta(days=7)).isoformat()
    r = client.post(f"/cycles/{cycle_id}/deadlines",
                    data={"csrf_token": token, "pending_review": "1999-01-01", "approved": later})
    kept = r.get_data(as_text=True)
    assert r.status_code == 422 and "alert-danger" in kept
    assert 'name="pending_review" value="1999-01-01"' in kept and f'name="approved" value="{later}"' in kept
    with mail_app.app_context():
        assert set(stored()) == {"pending_review"}
    client.post(f"/cycles/{cycle_id}/deadlines", data={"csrf_token": token, "pending_review": ""})
    with mail_app.app_context():
        assert stored() == {}
