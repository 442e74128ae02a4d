"""Two employees signing at the same moment: both succeed and the chain stays one line."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.extensions import db
from app.models import HashChainRecord
from app.pdf import render_appraisal_pdf
from app.pdf.sample import sample_snapshot
from app.services.signoff import verify_chain
from tests.conftest import ApiClient, jwt_token
from tests.signoff.conftest import current_id


def test_two_signatures_at_once_chain_one_after_the_other(app):
    render_appraisal_pdf(sample_snapshot())  # warm the renderer: a cold one holds the lock longer
    calls = []
    for username, employee_no in (("emp1", "EMP1"), ("emp6", "EMP6")):
        api = ApiClient(app.test_client(), jwt_token(app.test_client(), username))
        calls.append((api, f"/api/v1/appraisal/{current_id(app, employee_no)}/transition"))
    barrier = threading.Barrier(len(calls))
    statuses: list[int | None] = [None] * len(calls)

    def run(i, api, url):
        barrier.wait()
        statuses[i] = api.post(url, json={"action": "sign"}).status_code

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == [200, 200]
    with app.app_context():
        records = db.session.scalars(select(HashChainRecord).order_by(HashChainRecord.seq)).all()
        assert [r.seq for r in records] == [1, 2] and records[1].prev_hash == records[0].record_hash
        assert verify_chain(db.session) is None
