"""Publishing a cycle (HR): the API, the screen and the command; the distribution policy's breaches (409
naming each, unless an override reason is given, which is kept and shown to HR); one internal publish
event per appraisal; 403 for anyone else, 404 for no such cycle, 409 when published already."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Appraisal, AuditEvent, Cycle
from app.services import publication
from app.services.errors import Conflict
from tests.factories import FRESH, Moves, csrf_token
from tests.publication.conftest import ids_of, in_context, publish_as

OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def all_grade_a(app, cycle_id: int) -> None:
    """Every current appraisal of the cycle graded A: far over the default policy's 20 % of A."""
    with app.app_context():
        db.session.execute(update(Appraisal).where(Appraisal.cycle_id == cycle_id).values(grade="A"))
        db.session.commit()
        db.session.remove()


def cycle_row(app, cycle_id: int) -> Cycle:
    with app.app_context():
        cycle = db.session.get(Cycle, cycle_id)
        db.session.expunge(cycle)
        db.session.remove()
    return cycle


def publish_events(app, cycle_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.appraisal_id, AuditEvent.visibility, AuditEvent.comment,
                   AuditEvent.snapshot_hash, Appraisal.snapshot_hash, AuditEvent.from_state,
                   AuditEvent.to_state)
            .join(Appraisal, Appraisal.id == AuditEvent.appraisal_id)
            .where(Appraisal.cycle_id == cycle_id, AuditEvent.action == "publish")).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def test_hr_publishes_through_the_api(app, api_as, fresh):
    hr = api_as("hr")
    assert hr.get(f"/api/v1/cycle/{fresh}").json["result"]["published_at"] is None
    answer = hr.post(f"/api/v1/cycle/{fresh}/publish")
    assert answer.status_code == 200, answer.json
    assert OFFSET.fullmatch(answer.json["published_at"]) and answer.json["published_at"].endswith("+08:00")
    shown = hr.get(f"/api/v1/cycle/{fresh}").json["result"]
    assert shown["published_at"] == answer.json["published_at"] and shown["published_by"] == "人力资源"
    listed = {c["id"]: c["published_at"] for c in hr.get("/api/v1/cycle/").json["result"]}
    assert listed[fresh] == answer.json["published_at"]
    events = publish_events(app, fresh)
    count = len(ids_of(app, fresh))
    assert len(events) == count == len({e[0] for e in events})
    assert all(visibility == "internal" and comment is None and seen == now and before == after
               for _, visibility, comment, seen, now, before, after in events)
    again = hr.post(f"/api/v1/cycle/{fresh}/publish")
    assert again.status_code == 409 and "已" in again.json["message"]
    assert len(publish_events(app, fresh)) == count  # nothing more happened


@pytest.mark.parametrize("username", ["sup1", "manager1", "emp1"])
def test_only_hr_publishes(app, api_as, fresh, username):
    assert api_as(username).post(f"/api/v1/cycle/{fresh}/publish").status_code == 403
    assert cycle_row(app, fresh).published_at is None
    # the service refuses them too, whatever interface calls it
    with pytest.raises(publication.NotPublisher):
        publish_as(app, fresh, username)


def test_no_such_cycle_and_bad_input(api_as, fresh):
    hr = api_as("hr")
    assert hr.post("/api/v1/cycle/999999/publish").status_code == 404
    assert hr.post(f"/api/v1/cycle/{fresh}/publish", json={"override_reason": 7}).status_code == 400
    assert hr.post(f"/api/v1/cycle/{fresh}/publish", json=["x"]).status_code == 400
    too_long = hr.post(f"/api/v1/cycle/{fresh}/publish", json={"override_reason": "长" * 1001})
    assert too_long.status_code == 422
    assert hr.get(f"/api/v1/cycle/{fresh}").json["result"]["published_at"] is None


def test_a_breached_policy_is_refused_naming_each_breach(app, api_as, fresh):
    all_grade_a(app, fresh)
    hr = api_as("hr")
    refused = hr.post(f"/api/v1/cycle/{fresh}/publish")
    assert refused.status_code == 409 and refused.json["code"] == "POLICY_BREACHED"
    breaches = refused.json["breaches"]
    assert breaches and all(b["grade"] == "A" and b["kind"] == "max" for b in breaches)
    assert {"network"} <= {b["scope"] for b in breaches}
    for breach in breaches:
        assert breach["message"] in refused.json["message"]
    assert cycle_row(app, fresh).published_at is None and publish_events(app, fresh) == []
    english = hr.post(f"/api/v1/cycle/{fresh}/publish?_l_=en")
    assert "policy" in english.json["message"] and "Network" in english.json["message"]
    # with a reason it is published over the breaches, the reason kept and in every trail (internal)
    reason = "本期为试点，分布要求暂不适用"
    done = hr.post(f"/api/v1/cycle/{fresh}/publish", json={"override_reason": reason})
    assert done.status_code == 200
    cycle = cycle_row(app, fresh)
    assert cycle.publish_override_reason == reason
    assert [b["grade"] for b in cycle.publication["breaches"]] == [b["grade"] for b in breaches]
    assert all(b["message_zh"] and b["message_en"] for b in cycle.publication["breaches"])
    events = publish_events(app, fresh)
    assert events and all(e[1] == "internal" and e[2] == reason for e in events)
    shown = hr.get(f"/api/v1/cycle/{fresh}").json["result"]
    assert shown["publish_override_reason"] == reason
    assert "publish_override_reason" not in api_as("manager1").get(f"/api/v1/cycle/{fresh}").json["result"]


def test_the_cycle_page_publishes_with_a_confirmation(app, login_as, fresh):
    in_context(app, Moves(app, fresh).to_approved, "EMP1")
    browser = login_as("hr")
    assert "未公示" in browser.get("/cycles/").get_data(as_text=True)
    page = browser.get(f"/cycles/{fresh}").get_data(as_text=True)
    count = len(ids_of(app, fresh))
    assert "jx-publish-button" in page and f"向 {count} 人公示结果" in page
    assert "其中 1 人" in page and "7 天" in page
    token = csrf_token(browser, f"/cycles/{fresh}")
    browser.post(f"/cycles/{fresh}/publish", data={"csrf_token": token})  # not confirmed
    assert cycle_row(app, fresh).published_at is None
    done = browser.post(f"/cycles/{fresh}/publish", data={"csrf_token": token, "confirm": "1"},
                        follow_redirects=True)
    assert done.status_code == 200 and "结果已于" in done.get_data(as_text=True)
    page = browser.get(f"/cycles/{fresh}").get_data(as_text=True)
    assert "jx-publish-button" not in page and "发布人" in page and "人力资源" in page
    # others read that it is published, not by whom
    other = login_as("manager1").get(f"/cycles/{fresh}").get_data(as_text=True)
    assert "jx-published" in other and "jx-published-by" not in other
    assert "未公示" not in browser.get("/cycles/").get_data(as_text=True)  # the demo's are published too


def test_the_cycle_page_lists_breaches_and_asks_for_a_reason(app, login_as, fresh):
    all_grade_a(app, fresh)
    browser = login_as("hr")
    page = browser.get(f"/cycles/{fresh}").get_data(as_text=True)
    assert "jx-breaches" in page and 'name="override_reason"' in page and "全网" in page
    token = csrf_token(browser, f"/cycles/{fresh}")
    refused = browser.post(f"/cycles/{fresh}/publish", data={"csrf_token": token, "confirm": "1"},
                           follow_redirects=True).get_data(as_text=True)
    assert "请先校准，或填写例外说明后公示" in refused and cycle_row(app, fresh).published_at is None
    browser.post(f"/cycles/{fresh}/publish", data={"csrf_token": token, "confirm": "1",
                                                   "override_reason": "试点站点，已报批"})
    assert cycle_row(app, fresh).publish_override_reason == "试点站点，已报批"
    page = browser.get(f"/cycles/{fresh}").get_data(as_text=True)
    assert "jx-override" in page and "试点站点，已报批" in page
    assert "试点站点，已报批" not in login_as("manager1").get(f"/cycles/{fresh}").get_data(as_text=True)
    # no screen for anyone but HR to publish from
    other = login_as("sup1")
    form = {"confirm": "1", "csrf_token": csrf_token(other, "/cycles/")}
    refused = other.post(f"/cycles/{fresh}/publish", data=form)
    assert refused.status_code in (302, 403) and "/publish" not in refused.headers.get("Location", "")
    assert cycle_row(app, fresh).publish_override_reason == "试点站点，已报批"


def test_the_command_publishes_and_names_breaches(app, fresh):
    runner = app.test_cli_runner()
    all_grade_a(app, fresh)
    refused = runner.invoke(args=["cycle", "publish", FRESH])
    assert refused.exit_code != 0 and "A" in refused.output and "全网" in refused.output
    assert cycle_row(app, fresh).published_at is None
    done = runner.invoke(args=["cycle", "publish", FRESH, "--override-reason", "试点"])
    assert done.exit_code == 0, done.output
    assert "published" in done.output and OFFSET.search(done.output)
    cycle = cycle_row(app, fresh)
    assert cycle.publish_override_reason == "试点" and cycle.published_by == "system"
    again = runner.invoke(args=["cycle", "publish", FRESH])
    assert again.exit_code != 0
    missing = runner.invoke(args=["cycle", "publish", "没有这个周期"])
    assert missing.exit_code != 0 and "没有这个周期" in missing.output


def test_publication_allocates_the_pools(app, fresh, monkeypatch):
    """What the pool allocation answers is kept with the cycle; a rewritten snapshot's new hash is the one
    its publish event records."""
    ids = ids_of(app, fresh)
    target = ids["EMP1"]
    calls = []

    def allocate(session, cycle):
        calls.append(cycle.id)
        session.execute(update(Appraisal).where(Appraisal.id == target).values(snapshot_hash="f" * 64))
        return {"changed": {target: "f" * 64},
                "pools": {"S01": {"size": "1000", "raw_sum": "900", "allocated": "1000", "factor": "1.1111"}}}

    monkeypatch.setattr(publication, "_allocate_cycle", allocate)
    publish_as(app, fresh)
    assert calls == [fresh]
    assert cycle_row(app, fresh).publication["pools"]["S01"]["allocated"] == "1000"
    hashes = {e[0]: e[3] for e in publish_events(app, fresh)}
    assert hashes[target] == "f" * 64


def test_published_by_somebody_else_meanwhile_is_a_conflict(app, fresh):
    """Somebody else published first: 409, nothing else written."""
    with app.app_context():
        db.session.execute(update(Cycle).where(Cycle.id == fresh).values(
            published_at=dt.datetime.now(dt.UTC), published_by="另一位"))
        db.session.commit()
        db.session.remove()
    with pytest.raises(Conflict):
        publish_as(app, fresh)
    assert publish_events(app, fresh) == []
