"""A long history keeps the PDF short: repeated review edits collapse, the trail and the comments are
capped, while the appraisal's page shows every event."""

from __future__ import annotations

import datetime as dt
import io
import time

from pypdf import PdfReader
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Appraisal, AuditEvent, Employee
from app.pdf import render_appraisal_pdf
from app.pdf.trail import MAX_PAGES, MAX_TRAIL_ROWS, compact_comments, compact_trail
from app.services.document import document_snapshot

REASON = "客户多次投诉上门时间不准，现场复核后调整。" * 100  # 2,000 characters


def long_history(reviews: int = 40, rounds: int = 30) -> int:
    """EMP1's demo appraisal with a history longer than any the workflow lets one build now: many
    review edits with long reasons, and many returns from the second review. Returns its id."""
    appraisal = db.session.scalar(
        select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
        .where(Employee.employee_no == "EMP1", Appraisal.is_current.is_(True)).order_by(Appraisal.cycle_id))
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = []

    def event(action, source, target, who, comment):
        nonlocal at
        at += dt.timedelta(minutes=7)
        rows.append({"appraisal_id": appraisal.id, "user_id": None, "who": who, "at": at, "action": action,
                     "from_state": source, "to_state": target, "comment": comment,
                     "snapshot_hash": appraisal.snapshot_hash})

    for i in range(rounds):
        event("approve", "pending_review", "pending_second_review", "李明", f"第 {i} 轮批准")
        event("return", "pending_second_review", "pending_review", "王建国", f"第 {i} 轮退回：{REASON[:300]}")
    for i in range(reviews):
        event("review", "pending_review", "pending_review", "李明", f"调整分 +{i % 5}: {REASON}")
    event("approve", "pending_review", "approved", "李明", "同意")
    db.session.execute(insert(AuditEvent), rows)
    db.session.commit()
    return appraisal.id


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def test_a_long_history_stays_within_the_page_cap(appctx):
    pk = long_history()
    appraisal = db.session.get(Appraisal, pk)
    snapshot = document_snapshot(db.session, appraisal, "zh_CN")
    assert len(snapshot["trail"]) > 100  # the screen and the API keep every event
    snapshot["adjustment_reason"] = REASON  # as long as a review could store before it was bounded
    started = time.perf_counter()
    pdf = render_appraisal_pdf(snapshot, "zh_CN")
    seconds = time.perf_counter() - started
    assert pages(pdf) <= MAX_PAGES, (pages(pdf), seconds)
    assert pages(render_appraisal_pdf(document_snapshot(db.session, appraisal, "en"), "en")) <= MAX_PAGES
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "×40" in text and "从略" in text
    print(f"long history: {len(snapshot['trail'])} events, {pages(pdf)} pages, {seconds:.2f} s")

    # The worst the bounds allow: every row a state change with a long comment and a long name.
    worst = {**snapshot, "trail": [
        {"when": "2026-11-01 10:00", "who": "某" * 60, "action": "退回" if i % 2 else "批准",
         "from": "待审核", "to": "待复核", "comment": REASON} for i in range(300)],
        "comments": [{"who": "某" * 60, "when": "2026-11-01 10:00", "text": REASON}] * 300}
    assert pages(render_appraisal_pdf(worst, "zh_CN")) <= MAX_PAGES


def test_repeated_review_edits_collapse_into_one_row():
    def step(action, source, target, comment="", when="2026-11-01 10:00", who="李明"):
        return {"when": when, "who": who, "action": action, "from": source, "to": target, "comment": comment}

    trail = [step("计算", "", "草稿"), step("提交", "草稿", "待审核")]
    trail += [step("审核修改", "待审核", "待审核", f"第 {i} 次", f"2026-11-01 10:{i:02d}") for i in range(12)]
    trail += [step("批准", "待审核", "已批准", "同意")]
    rows = compact_trail(trail)
    assert [r["action"] for r in rows] == ["计算", "提交", "审核修改", "批准"]
    edits = rows[2]
    assert edits["count"] == 12
    assert edits["first_when"] == "2026-11-01 10:00" and edits["when"] == "2026-11-01 10:11"
    assert edits["comment"] == "第 11 次"

    many = [step("退回" if i % 2 else "批准", "待审核", "待复核", "x" * 2000) for i in range(200)]
    rows = compact_trail(many)
    assert len(rows) <= MAX_TRAIL_ROWS
    assert sum(1 for r in rows if r.get("omitted")) == 1
    assert all(len(r.get("comment", "")) <= 200 for r in rows)
    comments = compact_comments([{"who": "李明", "when": "t", "text": "长" * 2000}] * 50)
    assert comments["omitted"] == 50 - len(comments["shown"]) and len(comments["shown"]) < 10
    assert all(len(c["text"]) < 2000 for c in comments["shown"])
