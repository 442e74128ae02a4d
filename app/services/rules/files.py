"""Rule sets as files: check a rules/ directory (its workflow too), load it as a published version, export."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import (
    RuleSetStatus,
    RuleSetVersion,
)
from ...permissions import ROLES
from ...rules import (
    WORKFLOW_FILE,
    RuleSet,
    content_hash,
    dump_files,
    has_errors,
    write_dir,
)
from ...rules import load_dir as read_rules_dir
from ...rules.model import Problem
from ...workflow import WorkflowTableError, parse_table
from .errors import NoRuleSet, RuleSetInvalid
from .store import (
    current_version,
    fill_version,
    next_number,
    published_ruleset,
    ruleset_for_version,
    station_codes,
    utc_now,
)


def check_ruleset(ruleset: RuleSet, session: Session | None = None) -> list[Problem]:
    """check() with the database's station codes when a session is given, and the workflow table
    (workflow.toml) when the set carries one."""
    stations = station_codes(session) if session is not None else None
    return ruleset.check(station_codes=stations) + workflow_problems(ruleset)


def workflow_problems(ruleset: RuleSet) -> list[Problem]:
    """Every reason the set's workflow.toml is unusable, as problems of that file (a compute would
    refuse the set otherwise, later and less precisely)."""
    text = ruleset.extras.get(WORKFLOW_FILE)
    if not text:
        return []
    try:
        parse_table(text, roles=ROLES)
    except WorkflowTableError as exc:
        return [Problem(WORKFLOW_FILE, where, "", "BAD_WORKFLOW", zh, en) for where, zh, en in exc.problems]
    return []


def check_dir(path: str | Path, session: Session | None = None) -> tuple[RuleSet, list[Problem]]:
    """Parse and check a rules/ directory: (rule set, every problem)."""
    ruleset, problems = read_rules_dir(path)
    if has_errors(problems):  # a shape error makes the formulas' context unreliable: stop here
        return ruleset, problems
    return ruleset, problems + check_ruleset(ruleset, session)


@dataclass
class LoadResult:
    version: RuleSetVersion
    created: bool  # False: the same content was published already
    reactivated: bool = False  # an older version with this content became current again
    problems: list[Problem] = field(default_factory=list)  # warnings


def load_dir(session: Session, path: str | Path, *, user: str = "", note: str = "") -> LoadResult:
    """Load a rules/ directory as the current published version. Refuses a set with any error whole
    (RuleSetInvalid, nothing changed); the same content again makes no new version."""
    ruleset, problems = check_dir(path, session)
    if has_errors(problems):
        raise RuleSetInvalid(problems)
    digest = content_hash(ruleset)
    try:
        existing = session.scalar(
            select(RuleSetVersion)
            .where(RuleSetVersion.status == RuleSetStatus.published, RuleSetVersion.content_hash == digest)
            .order_by(RuleSetVersion.id.desc()).limit(1)
        )
        if existing is not None:
            current = current_version(session)
            reactivated = current is None or current.id != existing.id
            if reactivated:
                existing.current_since = utc_now()
                session.commit()
            return LoadResult(existing, False, reactivated, problems)
        now = utc_now()
        current = current_version(session)
        version = RuleSetVersion(
            number=next_number(session), status=RuleSetStatus.published, content_hash=digest,
            based_on=current, note=note or f"loaded from {Path(path).name or path}", created_at=now,
            created_by=user, published_at=now, published_by=user, current_since=now,
        )
        fill_version(version, ruleset)
        session.add(version)
        session.commit()
        return LoadResult(version, True, False, problems)
    except Exception:
        session.rollback()
        raise


def export_version(session: Session, path: str | Path, version_id: int | None = None) -> list[Path]:
    """Write a version (default: the current one) as a rules/ directory; returns the files."""
    if version_id is None:
        version, ruleset = published_ruleset(session)
    else:
        ruleset = ruleset_for_version(session, version_id)
    return write_dir(ruleset, path)


def export_files(session: Session, version_id: int) -> dict[str, str]:
    """The canonical files of a version (for a download)."""
    return dump_files(ruleset_for_version(session, version_id))


def export_zip(session: Session, version_id: int) -> bytes:
    """The canonical files of a version as a zip holding one folder ``rules-v<N>/`` (what
    ``flask rules load DIR`` reads once unpacked)."""
    version = session.get(RuleSetVersion, version_id)
    if version is None:
        raise NoRuleSet(f"no rule set version {version_id}")
    stamp = (version.published_at or version.created_at).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in export_files(session, version_id).items():
            entry = zipfile.ZipInfo(f"rules-v{version.number}/{name}", date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, text.encode("utf-8"))
    return buffer.getvalue()


def problem_lines(problems: Iterable[Problem], locale: str = "zh_CN") -> list[str]:
    return [f"{'ERROR' if p.is_error else 'warning'} {p.render(locale)}" for p in problems]
