"""Many people acting on one appraisal at once: exactly one wins (200), one audit row is written, the
others get 409 and change nothing. Threads with their own clients, released together by a barrier."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal
from tests.conftest import ApiClient, jwt_token
from tests.cycles.conftest import appraisal_ids, events

THREADS = 12


def race(app, calls) -> list[int]:
    """Run ``calls`` (client, url, body) at the same moment; the status codes in order."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int | None] = [None] * len(calls)

    def run(i, api, url, body):
        barrier.wait()
        statuses[i] = api.post(url, json=body).status_code

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


def clients(app, username, n):
    token = jwt_token(app.test_client(), username)
    return [ApiClient(app.test_client(), token) for _ in range(n)]


@pytest.mark.parametrize("send_state", [True, False], ids=["with-expected-state", "without"])
def test_many_approvals_of_one_appraisal_one_wins(app, fresh, send_state):
    with app.app_context():
        pk = appraisal_ids(fresh)["EMP1"]
    hr = ApiClient(app.test_client(), jwt_token(app.test_client(), "hr"))
    assert hr.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "submit"}).status_code == 200
    body = {"action": "approve", "comment": "同意"}
    if send_state:
        body["state"] = "pending_review"
    url = f"/api/v1/appraisal/{pk}/transition"
    statuses = race(app, [(c, url, body) for c in clients(app, "sup1", THREADS)])
    assert sorted(statuses) == [200] + [409] * (THREADS - 1), statuses
    with app.app_context():
        assert len(events(pk, "approve")) == 1
        assert db.session.scalar(select(Appraisal.state).where(Appraisal.id == pk)).value in (
            "approved", "pending_second_review")


def test_approve_and_return_at_once_one_wins(app, fresh):
    with app.app_context():
        pk = appraisal_ids(fresh)["EMP2"]
    hr = ApiClient(app.test_client(), jwt_token(app.test_client(), "hr"))
    hr.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "submit"})
    sups = clients(app, "sup1", THREADS)
    url = f"/api/v1/appraisal/{pk}/transition"
    calls = [(c, url, {"action": "approve" if i % 2 else "return", "comment": "并发",
                       "state": "pending_review"})
             for i, c in enumerate(sups)]
    statuses = race(app, calls)
    assert sorted(statuses) == [200] + [409] * (THREADS - 1), statuses
    with app.app_context():
        assert len(events(pk, "approve")) + len(events(pk, "return")) == 1


def test_bulk_and_single_approvals_racing(app, fresh):
    with app.app_context():
        every = appraisal_ids(fresh)
    pks = [every[f"EMP{i}"] for i in range(1, 6)]
    hr = ApiClient(app.test_client(), jwt_token(app.test_client(), "hr"))
    for pk in pks:
        hr.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "submit"})
    sups = clients(app, "sup1", 6)
    calls = [(c, "/api/v1/appraisal/bulk-transition", {"ids": pks, "action": "approve"}) for c in sups]
    statuses = race(app, calls)
    assert statuses == [200] * 6
    with app.app_context():
        for pk in pks:
            assert len(events(pk, "approve")) == 1, pk
