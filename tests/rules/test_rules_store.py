"""The parsed rule sets a process keeps: a published version's without a statement once known, a draft's
read afresh and parsed again only when its rows changed (by this session or by anybody else)."""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db
from app.models import RuleIndicator, RuleSetStatus
from app.services import rules as service
from tests.factories import counted


def _first_indicator(version_id: int) -> RuleIndicator:
    return db.session.scalar(select(RuleIndicator).where(RuleIndicator.version_id == version_id)
                             .order_by(RuleIndicator.position).limit(1))


def test_a_published_rule_set_once_read_costs_no_statement(appctx):
    version = service.current_version(db.session)
    first = service.ruleset_for_version(db.session, version.id)
    db.session.remove()  # the next request's session: nothing in its identity map
    with counted(appctx) as statements:
        again = service.ruleset_for_version(db.session, version.id)
        ruleset, digest = service.ruleset_and_hash(db.session, version.id)
    assert statements == []
    assert again is first is ruleset and digest == version.content_hash


def test_a_draft_is_parsed_again_only_when_its_rows_change(appctx):
    draft = service.new_draft(db.session)
    draft_id, code = draft.id, _first_indicator(draft.id).code
    first = service.ruleset_for_version(db.session, draft_id)
    assert service.ruleset_for_version(db.session, draft_id) is first
    assert service.ruleset_and_hash(db.session, draft_id)[1] is None

    # another connection (another process) renames the indicator: the next read sees it
    with db.engine.begin() as conn:
        conn.execute(update(RuleIndicator).values(name="改过的名字")
                     .where(RuleIndicator.version_id == draft_id, RuleIndicator.code == code))
    db.session.remove()
    changed = service.ruleset_for_version(db.session, draft_id)
    assert changed is not first and changed.indicator(code).name == "改过的名字"

    # this session's own change is seen at once too
    _first_indicator(draft_id).name = "又改了"
    assert service.ruleset_for_version(db.session, draft_id).indicator(code).name == "又改了"
    db.session.rollback()
    assert service.ruleset_for_version(db.session, draft_id).indicator(code).name == "改过的名字"


def test_a_version_published_in_a_transaction_rolled_back_stays_a_draft(appctx):
    draft = service.new_draft(db.session)
    draft_id, code = draft.id, _first_indicator(draft.id).code
    draft.status, draft.content_hash = RuleSetStatus.published, "0" * 64
    db.session.flush()
    service.ruleset_for_version(db.session, draft_id)  # read as published, not yet committed
    db.session.rollback()
    _first_indicator(draft_id).name = "草稿仍可改"
    db.session.commit()
    db.session.remove()
    assert service.ruleset_and_hash(db.session, draft_id)[1] is None
    assert service.ruleset_for_version(db.session, draft_id).indicator(code).name == "草稿仍可改"
