"""HR's calibration (校准) of an approved appraisal: a new grade and/or total, with a reason.

It is a step of the appraisal's workflow (the table's ``calibrate`` action decides who may take it and
from which state), never an edit in place: like HR's amendment it writes a new version in the same state
and leaves the old one as it was (not current). The new snapshot is rescored from the stored inputs
with the calibration, so outcomes and the incentive follow the calibrated total and grade, and its
incentive amount is settled against a published cycle's pool. One transaction, one ``calibrate`` audit
event whose comment says what changed and why.

The screen's figures (:func:`screen_distribution`): a cycle's distribution, worked out from every one of its
appraisals, is kept in the worker while the cycle's latest write stays the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import now as clock_now
from ..kept import Kept
from ..locales import default_locale, is_english
from ..models import Appraisal, AuditEvent, Cycle, Employee, Station
from ..workflow import Facts, decide
from . import incentives, workflows
from .appraisals import load
from .audit import INTERNAL, SHARED, event_row, now
from .caller import Caller
from .compute import appraisal_row, insert_appraisals
from .distribution import Distribution, PeopleFilter, PeoplePage, cycle_distribution, people
from .errors import Conflict, Kind, ServiceError
from .latest_writes import SETTLE, latest_write
from .rules import ruleset_for_version
from .scoring import Appraisee, Scored, Scorer
from .snapshot import canonical_json, snapshot_hash

CALIBRATE = "calibrate"  # the workflow table's action, and the audit event's
VISIBILITIES = (SHARED, INTERNAL)


class CalibrationInvalid(ServiceError):
    """Calibration input that cannot be used (HTTP 422); ``errors`` maps a field to its message."""

    kind = Kind.INVALID
    default_message = _l("Please correct the calibration.")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()), errors=errors)
        self.errors = errors


@dataclass
class Plan:
    """A calibration worked out and checked, not yet written."""

    appraisal: Appraisal
    facts: Facts
    target: str
    snapshot: dict
    calibration: dict  # what HR set: {"total": x | None, "grade": g | None}
    reason: str
    visibility: str

    @property
    def new_total(self) -> float | None:
        return self.snapshot.get("total")

    @property
    def new_grade(self) -> str | None:
        return self.snapshot.get("grade")

    def comment(self) -> str:
        """The audit event's comment, in the language stored texts are written in:
        ``等级 B → A；总分 88.5 → 91：<reason>``."""
        grade = ((self.appraisal.grade or "N/A", self.new_grade or "N/A")
                 if self.new_grade != self.appraisal.grade else None)
        total = ((number_text(self.appraisal.total), number_text(self.new_total))
                 if self.new_total != self.appraisal.total else None)
        with force_locale(default_locale()):
            return _comment_text(grade, total, self.reason, default_locale())


def _comment_text(grade: tuple[str, str] | None, total: tuple[str, str] | None, reason: str,
                  locale: str | None) -> str:
    """A calibration's comment in the current gettext locale (whose code is ``locale``)."""
    changes = []
    if grade is not None:
        changes.append(_("Grade %(old)s → %(new)s", old=grade[0], new=grade[1]))
    if total is not None:
        changes.append(_("Total %(old)s → %(new)s", old=total[0], new=total[1]))
    joined = ("; " if is_english(locale) else "；").join(changes)
    return _("%(changes)s: %(reason)s", changes=joined, reason=reason)


def _pattern(message: str, **groups: str) -> str:
    """The current locale's translation of ``message`` as a regular expression, each placeholder
    replaced by its group."""
    marks = {name: f"\x00{i}\x00" for i, name in enumerate(groups)}
    pattern = re.escape(_(message, **marks))
    for name, mark in marks.items():
        pattern = pattern.replace(re.escape(mark), groups[name])
    return pattern


def readable_comment(comment: str, locale: str | None) -> str:
    """A calibration's stored comment (:meth:`Plan.comment`, in the configured language) in the
    reader's ``locale``, the current gettext locale; as written when it already reads so or is none."""
    written = default_locale()
    if not comment or is_english(locale) == is_english(written):
        return comment
    def pair(name: str) -> dict[str, str]:  # a grade, a total or N/A, before and after
        return {when: rf"(?P<{name}_{when}>[^\s;；:：]+)" for when in ("old", "new")}

    with force_locale(written):
        grade = _pattern("Grade %(old)s → %(new)s", **pair("grade"))
        total = _pattern("Total %(old)s → %(new)s", **pair("total"))
        joint = re.escape("; " if is_english(written) else "；")
        whole = _pattern("%(changes)s: %(reason)s", changes=rf"(?:{grade})?(?:{joint})?(?:{total})?",
                         reason=r"(?P<reason>.*)")
    match = re.fullmatch(whole, comment, re.S)
    if match is None or not (match["grade_old"] or match["total_old"]):
        return comment
    return _comment_text(match["grade_old"] and (match["grade_old"], match["grade_new"]),
                         match["total_old"] and (match["total_old"], match["total_new"]),
                         match["reason"], locale)


def number_text(value: float | None) -> str:
    """A total as people write it: 91, 88.5, 88.25; N/A for none."""
    if value is None:
        return "N/A"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _total(raw, errors: dict[str, str]) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError(raw)
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError, OverflowError):
        errors["total"] = _("The total must be a number from 0 to 100.")
        return None
    if not math.isfinite(value) or not 0 <= value <= 100:
        errors["total"] = _("The total must be a number from 0 to 100.")
        return None
    return round(value, 2)


def _grade(raw, grades: list[str], errors: dict[str, str]) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str) or raw.strip() not in grades:
        errors["grade"] = _("The grade must be one of the rule set's grades: %(grades)s.",
                            grades=", ".join(grades))
        return None
    return raw.strip()


def plan(session, appraisal_id, caller: Caller, *, total=None, grade=None, reason: str | None,
         visibility: str = INTERNAL, expected_hash: str | None = None) -> Plan:
    """Check a calibration and work out the new snapshot, writing nothing.

    Raises NotFound (outside the caller's scope), Conflict (not the current version, or not the
    version ``expected_hash`` names), TransitionRefused (the table does not let the caller calibrate
    it now: 403 with the reason), CommentRequired (no reason) and CalibrationInvalid (a grade not in
    the rule set, a total outside 0–100, neither given, nothing changed, an unknown visibility).
    """
    appraisal, facts = load(session, appraisal_id, caller)
    if not appraisal.is_current or (expected_hash and expected_hash != appraisal.snapshot_hash):
        raise Conflict()
    table = workflows.workflow_table(session, appraisal.rule_set_version_id)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    target = decide(table, facts, caller.actor, CALIBRATE, reason)

    ruleset = ruleset_for_version(session, appraisal.rule_set_version_id)
    errors: dict[str, str] = {}
    new_total = _total(total, errors)
    new_grade = _grade(grade, [band.grade for band in ruleset.grades], errors)
    if visibility not in VISIBILITIES:
        errors["visibility"] = _("Say who reads the reason: shared or internal.")
    if not errors and new_total is None and new_grade is None:
        errors["total"] = _("Give a new grade, a new total, or both.")
    if errors:
        raise CalibrationInvalid(errors)

    old = appraisal.snapshot
    earlier = old.get("calibration") or {}
    # A new total overrides an earlier one, and the grade follows it unless a grade is given too; a
    # new grade alone keeps an earlier calibrated total.
    calibration = {"total": new_total if new_total is not None else earlier.get("total"),
                   "grade": new_grade if new_grade is not None
                   else (None if new_total is not None else earlier.get("grade"))}
    scorer = Scorer.for_snapshot(old, ruleset)
    appraisee = Appraisee.from_snapshot(old)
    inputs = old["inputs"]
    result = scorer.appraise(appraisee, inputs["variables"], inputs["tags"], appraisal.manual or {},
                             appraisal.adjustment, calibration=calibration)
    snapshot = scorer.snapshot(appraisee, result, inputs["variables"], inputs["tags"],
                               appraisal.adjustment_reason if appraisal.adjustment else None)
    found = Plan(appraisal, facts, target, snapshot, calibration, reason, visibility)
    if found.new_total == appraisal.total and found.new_grade == appraisal.grade:
        raise CalibrationInvalid({"total": _("This is the appraisal's grade and total already: nothing "
                                             "would change.")})
    return found


def calibrate(session, appraisal_id, caller: Caller, *, total=None, grade=None, reason: str | None,
              visibility: str = INTERNAL, expected_hash: str | None = None) -> Appraisal:
    """Calibrate an appraisal (see :func:`plan` for the refusals); returns the new current version."""
    try:
        found = plan(session, appraisal_id, caller, total=total, grade=grade, reason=reason,
                     visibility=visibility, expected_hash=expected_hash)
        appraisal = found.appraisal
        snapshot = incentives.settle(session, appraisal.cycle, appraisal.id, found.snapshot)
        text = canonical_json(snapshot)
        digest = snapshot_hash(snapshot)
        at = now()
        retired = session.execute(
            update(Appraisal)
            .where(Appraisal.id == appraisal.id, Appraisal.is_current.is_(True),
                   Appraisal.state == found.facts.state, Appraisal.snapshot_hash == appraisal.snapshot_hash)
            .values(is_current=False, updated_at=at).execution_options(synchronize_session=False)
        ).rowcount
        if retired != 1:
            raise Conflict()
        appraisee = dataclasses.replace(Appraisee.from_snapshot(snapshot), id=appraisal.employee_id,
                                        station_id=appraisal.station_id)
        scored = Scored(text, digest, snapshot["subtotal"], snapshot["total"], snapshot["grade"])
        row = {**appraisal_row(appraisal.cycle_id, appraisal.rule_set_version_id, appraisee, scored, at,
                               version=appraisal.version + 1, state=found.target, manual=appraisal.manual,
                               adjustment=appraisal.adjustment, reason=appraisal.adjustment_reason),
               "reviewer_id": appraisal.reviewer_id, "reviewer_reason": appraisal.reviewer_reason}
        try:
            ((new_id, _digest),) = insert_appraisals(session, [row])
        except IntegrityError as exc:  # another version of this appraisal was written meanwhile
            raise Conflict() from exc
        session.execute(insert(AuditEvent), [
            event_row(new_id, caller.actor, CALIBRATE, found.facts.state, found.target, found.comment(),
                      digest, at, visibility=visibility),
        ])
        session.commit()
        return session.get(Appraisal, new_id)
    except BaseException:
        session.rollback()
        raise


# -- the screen's figures, kept while the cycle's appraisals stay as they were -----------------------------

KEPT = 16  # how many (cycle, stations, language) figures a worker keeps, the least recently read dropped


@dataclass(frozen=True)
class ScreenFigures:
    """A cycle's distribution for the screen, and what pages drew from it (``drawn``: charts, tables,
    people pages by their filter), kept with it while it stands."""

    dist: Distribution
    drawn: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Kept:
    latest: dt.datetime
    ruleset: object  # the very rule set object read (published ones are shared; a draft is read afresh)
    stations: frozenset  # (id, code, name, segment) of the stations the figures name
    figures: ScreenFigures


class KeptFigures(Kept[tuple, _Kept]):
    """The distributions one worker keeps (one per application: ``app.extensions``), safe across threads."""

    def __init__(self, size: int = KEPT) -> None:
        super().__init__(size)


def _station_rows(session, ids: list[int] | None) -> frozenset:
    query = select(Station.id, Station.code, Station.name, Station.segment)
    if ids is not None:
        query = query.where(Station.id.in_(ids))
    return frozenset((sid, code, name, getattr(segment, "value", segment))
                     for sid, code, name, segment in session.execute(query))


def _named(dist: Distribution) -> frozenset:
    return frozenset((g.station_id, g.key, g.name, g.segment) for g in dist.stations)


def screen_distribution(session, cycle: Cycle, kept: KeptFigures, *, station_ids: list[int] | None,
                        locale: str | None) -> ScreenFigures:
    """:func:`cycle_distribution` of the cycle over ``station_ids`` (without its boundary people), as kept
    in ``kept`` while the cycle's latest write, its rule set and the stations' names stay the same; every
    group's spread worked out. Read afresh (and kept, once the latest write has settled) otherwise."""
    latest = latest_write(session, cycle.id)
    ruleset = ruleset_for_version(session, cycle.rule_set_version_id) if cycle.rule_set_version_id else None
    key = (cycle.id, cycle.rule_set_version_id, None if station_ids is None else tuple(station_ids), locale)
    found = kept.get(key)
    if found is not None and found.latest == latest and found.ruleset is ruleset:
        named = _station_rows(session, None if station_ids is None else
                              sorted(g.station_id for g in found.figures.dist.stations))
        if found.stations <= named:
            return ScreenFigures(dataclasses.replace(found.figures.dist, cycle=cycle), found.figures.drawn)
    dist = cycle_distribution(session, cycle, station_ids=station_ids, locale=locale, boundary_limit=0)
    figures = ScreenFigures(dist)
    if latest is not None and clock_now() - latest >= SETTLE:
        for group in (dist.network, *dist.stations, *dist.segments):
            group.spread  # noqa: B018 - worked out once, kept with the figures
        kept.put(key, _Kept(latest, ruleset, _named(dist), figures))
    return figures


# How many people pages (by their filter, without a text) a cycle's kept figures keep.
PEOPLE_PAGES_KEPT = 64


def screen_people(session, figures: ScreenFigures, *, station_ids: list[int] | None, where: PeopleFilter,
                  page: int, size: int) -> PeoplePage:
    """:func:`people` of the figures' cycle; a page of a filter without a text is kept with the figures
    (its rows' states, totals and hashes stamp the cycle's latest write when they change), the names of
    its people read again."""
    dist = figures.dist
    if where.text:
        return people(session, dist.cycle, dist.bands, station_ids=station_ids, where=where, page=page,
                      size=size)
    pages = figures.drawn.setdefault("people", {})
    key = (where, page, size)
    found = pages.get(key)
    if found is None:
        found = people(session, dist.cycle, dist.bands, station_ids=station_ids, where=where, page=page,
                       size=size)
        if len(pages) < PEOPLE_PAGES_KEPT:
            pages[key] = found
        return found
    if not found.rows:
        return found
    names = {ident: (no, name) for ident, no, name in session.execute(
        select(Appraisal.id, Employee.employee_no, Employee.name)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .where(Appraisal.id.in_([row.appraisal_id for row in found.rows])))}
    rows = [row if names.get(row.appraisal_id, (row.employee_no, row.name)) == (row.employee_no, row.name)
            else dataclasses.replace(row, employee_no=names[row.appraisal_id][0],
                                     name=names[row.appraisal_id][1]) for row in found.rows]
    return dataclasses.replace(found, rows=rows)
