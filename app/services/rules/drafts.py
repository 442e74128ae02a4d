"""Drafts: start one, discard it (and restore it for a while), replace its grades, preview and publish it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import clock
from ...models import (
    PublishedVersionLocked,
    RuleSetStatus,
    RuleSetVersion,
)
from ...rules import (
    RuleSet,
    content_hash,
    diff_rulesets,
    has_errors,
)
from ...rules.model import Problem, norm_expr
from .errors import NoRuleSet, NotADraft, RuleRefused, RuleSetInvalid
from .files import check_ruleset
from .policy_diff import readable_diff
from .store import (
    current_version,
    fill_version,
    grade_rows,
    next_number,
    outcome_rows,
    ruleset_for_version,
    ruleset_from_version,
    utc_now,
    version_document,
)

# How long a discarded draft can be restored.
DISCARD_KEEP_DAYS = 30


def new_draft(session: Session, *, based_on_id: int | None = None, user: str = "",
              note: str = "") -> RuleSetVersion:
    """A new draft holding a copy of the published version ``based_on_id`` (default: the current
    version, else empty). A draft is never based on a draft, so discarding a draft orphans nothing."""
    try:
        base = session.get(RuleSetVersion, based_on_id) if based_on_id else current_version(session)
        if based_on_id and (base is None or not base.is_published):
            raise NoRuleSet(f"no published rule set version {based_on_id}")
        version = RuleSetVersion(
            number=next_number(session), status=RuleSetStatus.draft, based_on=base,
            created_at=utc_now(), created_by=user, note=note,
        )
        fill_version(version, ruleset_from_version(base) if base is not None else RuleSet())
        session.add(version)
        session.commit()
        return version
    except Exception:
        session.rollback()
        raise


def draft_or_raise(session: Session, version_id: int) -> RuleSetVersion:
    """A draft that may change: NoRuleSet for a missing or discarded one, PublishedVersionLocked for a
    published one."""
    version = session.get(RuleSetVersion, version_id)
    if version is None or version.is_discarded:
        raise NoRuleSet(f"no rule set version {version_id}")
    if version.is_published:
        raise PublishedVersionLocked(version.number)
    return version


def _discard_horizon() -> dt.datetime:
    """Drafts discarded before this moment are gone for good (naive UTC, as stored)."""
    return clock.now().replace(tzinfo=None) - dt.timedelta(days=DISCARD_KEEP_DAYS)


def purge_discarded(session: Session) -> int:
    """Delete the drafts discarded more than DISCARD_KEEP_DAYS ago (in the caller's transaction);
    how many."""
    expired = list(session.scalars(select(RuleSetVersion).where(
        RuleSetVersion.discarded_at.is_not(None), RuleSetVersion.discarded_at < _discard_horizon())))
    for version in expired:
        session.delete(version)
    return len(expired)


def discard_draft(session: Session, version_id: int, *, user: str = "") -> RuleSetVersion:
    """Discard a draft: it leaves the lists and can no longer change, but ``restore_draft`` brings it
    back for DISCARD_KEEP_DAYS days; drafts discarded longer ago are deleted now."""
    try:
        version = draft_or_raise(session, version_id)
        version.discarded_at, version.discarded_by = clock.now().replace(tzinfo=None), user
        purge_discarded(session)
        session.commit()
        return version
    except Exception:
        session.rollback()
        raise


def discarded_drafts(session: Session) -> list[RuleSetVersion]:
    """The discarded drafts that can still be restored, the last discarded first."""
    return list(session.scalars(select(RuleSetVersion).where(
        RuleSetVersion.discarded_at.is_not(None), RuleSetVersion.discarded_at >= _discard_horizon(),
    ).order_by(RuleSetVersion.discarded_at.desc())))


def restore_until(version: RuleSetVersion) -> dt.datetime | None:
    """Until when a discarded draft can be restored (naive UTC), None for one not discarded."""
    if version.discarded_at is None:
        return None
    return version.discarded_at + dt.timedelta(days=DISCARD_KEEP_DAYS)


def restore_draft(session: Session, version_id: int) -> RuleSetVersion:
    """Bring a discarded draft back as it was; NoRuleSet when there is none to restore (never
    discarded, or discarded too long ago)."""
    try:
        version = session.get(RuleSetVersion, version_id)
        if version is None or version.discarded_at is None or version.discarded_at < _discard_horizon():
            raise NoRuleSet(f"no discarded draft {version_id} to restore")
        version.discarded_at = version.discarded_by = None
        session.commit()
        return version
    except Exception:
        session.rollback()
        raise


@dataclass
class PublishResult:
    version: RuleSetVersion
    previous: RuleSetVersion | None
    diff: list[dict]
    problems: list[Problem]  # warnings


def diff_against(session: Session, version: RuleSetVersion, ruleset: RuleSet | None = None,
                 ) -> tuple[RuleSetVersion | None, list[dict]]:
    """(baseline, changes) of a version: a published one against the version it was based on, a draft
    against the current version (the one publishing it would replace). ``ruleset``: the version's own,
    when the caller has it already."""
    base = version.based_on if version.is_published else current_version(session)
    old = ruleset_for_version(session, base.id) if base is not None else None
    new = ruleset if ruleset is not None else ruleset_for_version(session, version.id)
    return base, readable_diff(diff_rulesets(old, new), old, new)


def publish_preview(session: Session, version_id: int,
                    ) -> tuple[RuleSet, list[Problem], RuleSetVersion | None, list[dict]]:
    """What publishing would do: (rule set, problems, version it replaces, diff against it)."""
    version = draft_or_raise(session, version_id)
    ruleset = ruleset_from_version(version)
    problems = check_ruleset(ruleset, session)
    previous, diff = diff_against(session, version, ruleset)
    return ruleset, problems, previous, diff


def publish(session: Session, version_id: int, *, user: str = "", note: str = "") -> PublishResult:
    """Publish a draft (it becomes current). Refused with RuleSetInvalid when check() finds an error,
    a failing test case included; with NotADraft when it is published already."""
    try:
        version = session.get(RuleSetVersion, version_id)
        if version is None:
            raise NoRuleSet(f"no rule set version {version_id}")
        if version.is_published:
            raise NotADraft(f"version {version.number} is published already")
        ruleset, problems, previous, diff = publish_preview(session, version_id)
        if has_errors(problems):
            raise RuleSetInvalid(problems)
        now = utc_now()
        version.status = RuleSetStatus.published
        version.content_hash = content_hash(ruleset)
        version.published_at, version.published_by, version.current_since = now, user, now
        if note:
            version.note = note
        session.commit()
        return PublishResult(version, previous, diff, problems)
    except Exception:
        session.rollback()
        raise


def replace_grades(session: Session, version_id: int, grades: list[dict], outcomes: list[dict]) -> None:
    """Replace a draft's grade bands and outcome rules (tables as in grades.toml) in one transaction;
    RuleRefused with every error about them."""
    try:
        version = draft_or_raise(session, version_id)
        doc = version_document(version)
        doc["grade"] = [{k: (norm_expr(v) if k == "min" else v) for k, v in g.items()} for g in grades]
        doc["outcome"] = [{k: (norm_expr(v) if k in ("when", "coefficient") else v) for k, v in o.items()}
                          for o in outcomes]
        ruleset, problems = RuleSet.from_document(doc)
        if not has_errors(problems):
            problems += ruleset.check()
        errors = [p for p in problems if p.is_error and p.item.split(" ")[0] in ("grade", "grades", "outcome")
                  or (p.is_error and p.file == "grades.toml")]
        if errors:
            raise RuleRefused(errors)
        # Delete the old rows first: the new ones may reuse their unique grade and code.
        version.grade_bands, version.outcome_rules = [], []
        session.flush()
        version.grade_bands, version.outcome_rules = grade_rows(ruleset), outcome_rows(ruleset)
        session.commit()
    except Exception:
        session.rollback()
        raise
