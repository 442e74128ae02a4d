"""The calibration screen (校准): a cycle's grade distribution with every station side by side against
the distribution policy (a page of stations at a time, or only those that break it), the spread of the
totals, the view by customer segment, and the people (those at the grade boundaries, or everyone),
filtered by station, grade and name or number and shown a page at a time, with a form per person for HR
(a new grade and/or total with a reason, confirmed on a second page before it is written). Station
managers see their own stations, read-only; anyone else is refused. Thin: the figures come from
app.services.distribution, the change from app.services.calibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from .. import permissions as p
from ..charts.spread import MAX_POINTS, SpreadRow, score_spread
from ..extensions import db
from ..hardening import error_response
from ..locales import current_locale
from ..models import Appraisal, Cycle, Station
from ..pdf.numbers import measure
from ..services import workflows
from ..services.appraisals import load
from ..services.calibration import (
    INTERNAL,
    SHARED,
    KeptFigures,
    ScreenFigures,
    calibrate,
    plan,
    screen_distribution,
    screen_people,
)
from ..services.caller import Caller
from ..services.distribution import NO_GRADE, Distribution, Group, PeopleFilter, Person
from ..services.errors import NotFound, ServiceError, kind_of, message_of
from ..services.rules import ruleset_for_version
from ..web.context import MAX_COMMENT, current_caller, page_number, row_or_none
from ..web.labels import segment_label
from ..workflow import Refusal

# How many people the screen lists on a page, and how many stations its table and chart show at once.
PEOPLE_PAGE = 50
STATION_PAGE = 25
# The most dots the spread chart draws in all (a row with more totals than its share draws its box only).
CHART_DOTS = 300
# The query arguments of the screen's filters and pages: what a calibration returns to afterwards.
FILTER_ARGS = ("station", "grade", "q", "show", "page", "spage", "breach")
LONGEST_TERM = 64
# How many of the policy's breaches the screen names above the table (the rest: stations that break it).
BREACHES_LISTED = 10
# The status a refused form answers with, by the error's kind.
FORM_STATUS = {"conflict": 409, "refused": 403, "invalid": 422}


def stations_of(person: Caller) -> list[int] | None:
    """The stations whose distribution the person sees: None for all (HR), their own for a station
    manager; [] for anyone else."""
    if person.scope.everything:
        return None
    return sorted(person.scope.station_ids)


def kept_figures() -> KeptFigures:
    """The distributions this worker keeps for the screen (one store per application)."""
    return current_app.extensions.setdefault("jixiao_calibration_figures", KeptFigures())


def may_calibrate(person: Caller) -> bool:
    """Whether the screen offers the forms (the workflow table still decides each change)."""
    return person.scope.everything and p.HR in person.actor.roles


def _refused():
    return error_response(403, _("The calibration screen is for HR and station managers (their own "
                                 "stations)."))


def _number(value) -> str:
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def _form_values(form) -> dict:
    return {"grade": form.get("grade", "")[:16], "total": form.get("total", "")[:32],
            "reason": form.get("reason", "")[:MAX_COMMENT],
            "visibility": form.get("visibility", INTERNAL) if form.get("visibility") in (SHARED, INTERNAL)
            else INTERNAL, "hash": form.get("hash", "")[:64]}


def kept_args(values) -> dict[str, str]:
    """The screen's filter and page arguments among ``values`` (a mapping of query or form arguments),
    each trimmed and cut to a sane length; empty ones left out."""
    out = {}
    for name in FILTER_ARGS:
        value = (values.get(name) or "").strip()[:LONGEST_TERM]
        if value:
            out[name] = value
    return out


def back_args(values) -> dict[str, str]:
    """The screen's filters a calibration form carries (its ``back`` field, the query string of the list
    it came from; or a lone ``station`` of an older form), to return to the same list."""
    back = dict(parse_qsl((values.get("back") or "")[:1000]))
    if not back and values.get("station"):
        back = {"station": values.get("station")}
    return kept_args(back)


def back_url(cycle_id: int, args: dict[str, str]) -> str:
    """The calibration screen with these filters, at its people list."""
    return url_for("CalibrationView.cycle", cycle_id=cycle_id, **args) + "#boundary"


@dataclass(frozen=True)
class BoundaryWords:
    """How the people list says where a total lies from a grade's minimum, translated once for the page
    (formatted per row with points, grade and min)."""

    above: str
    below: str

    @classmethod
    def current(cls) -> BoundaryWords:
        # Without arguments gettext gives the translation itself, its placeholders left for the rows.
        return cls(_("%(points)s above %(grade)s (≥ %(min)s)"), _("%(points)s below %(grade)s (≥ %(min)s)"))


def breach_messages(dist: Distribution, locale: str) -> dict[tuple[str, str], str]:
    """(scope, grade) → what the policy says of it there, for the cells it highlights."""
    out: dict[tuple[str, str], list[str]] = {}
    for breach in dist.breaches:
        out.setdefault((breach.scope, breach.grade), []).append(breach.message(locale))
    return {key: "; ".join(messages) for key, messages in out.items()}


def limit_text(limits) -> str:
    """A grade's limits as the table writes them: ``≤ 20%``, ``≥ 5%``, ``≤ 60% · ≥ 20%``, joined by ``; ``."""
    texts = []
    for lim in limits:
        text = "" if lim.max_share is None else "≤ %g%%" % (lim.max_share * 100)
        if lim.max_share is not None and lim.min_share is not None:
            text += " · "
        if lim.min_share is not None:
            text += "≥ %g%%" % (lim.min_share * 100)
        texts.append(text)
    return "; ".join(texts)


@dataclass(frozen=True)
class ShareCell:
    """One grade's cell of a group's row: its count, its share as written, what the policy says of it."""

    count: int
    share: str
    message: str | None


@dataclass(frozen=True)
class TableRow:
    """A group's row of the grades table, worked out in full: its cells in the grades' order, and the
    policy's limits that apply to it by grade (None when none does)."""

    group: Group
    cells: list[ShareCell]
    limits: list[str] | None
    median: str
    mean: str


def table_row(dist: Distribution, group: Group, messages: dict[tuple[str, str], str], *,
              limits: bool = False) -> TableRow:
    cells = []
    for grade in dist.grades:
        share = group.share(grade)
        cells.append(ShareCell(group.counts.get(grade, 0), "—" if share is None else "%.1f%%" % (share * 100),
                               messages.get((group.key, grade)) if group.kind != "segment" else None))
    applying = dist.limits_for(group) if limits else {}
    spread = group.spread
    texts = [limit_text(applying.get(g, [])) for g in dist.grades] if applying else None
    return TableRow(group, cells, texts, _number(spread.median) or "N/A", _number(spread.mean) or "N/A")


@dataclass(frozen=True)
class PersonRow:
    """A person of the people list as the table shows them."""

    person: Person
    total: str
    grade: str
    boundary: str
    state: str


def people_rows(found: list[Person], table, locale: str) -> list[PersonRow]:
    """The people list's rows, their words translated once for the page."""
    words = BoundaryWords.current()
    states: dict[str, str] = {}
    rows = []
    for person in found:
        boundary = ""
        if person.band is not None:
            boundary = (words.above if person.distance >= 0 else words.below) % {
                "points": _number(abs(person.distance)), "grade": person.band,
                "min": _number(person.band_min)}
        state = states.get(person.state)
        if state is None:
            state = states[person.state] = table.state_label(person.state, locale)
        rows.append(PersonRow(person, _number(person.total) or "N/A", person.grade or "N/A", boundary, state))
    return rows


class CalibrationView(BaseView):
    route_base = "/calibration"
    class_permission_name = p.APPRAISAL
    method_permission_name = {"index": p.READ, "cycle": p.READ, "person": p.WRITE}
    default_view = "index"

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        """The latest cycle that has appraisals."""
        person = current_caller()
        if stations_of(person) == []:
            return _refused()
        latest = db.session.scalar(
            select(Cycle.id).where(Cycle.id.in_(select(Appraisal.cycle_id).distinct()))
            .order_by(Cycle.start.desc(), Cycle.id.desc()).limit(1))
        if latest is None:
            flash(_("No cycle has appraisals yet: compute one first."), "info")
            return redirect(url_for("CycleView.list"))
        return redirect(url_for("CalibrationView.cycle", cycle_id=latest))

    @expose("/<int:cycle_id>", methods=["GET"])
    @has_access
    def cycle(self, cycle_id: int):
        person = current_caller()
        visible = stations_of(person)
        if visible == []:
            return _refused()
        cycle = row_or_none(Cycle, cycle_id)
        if cycle is None:
            abort(404)
        chosen = self._chosen_station(visible)
        locale = current_locale()
        figures = screen_distribution(db.session, cycle, kept_figures(), station_ids=visible, locale=locale)
        dist = figures.dist
        args = kept_args(request.args)
        grade = args.get("grade", "")
        if grade and grade != NO_GRADE and grade not in dist.grades:
            return error_response(400, _("Choose the grade from the list."))
        pages = [page_number(args.get(name)) for name in ("page", "spage")]
        if None in pages:
            return error_response(400, _("A page is a whole number from 1."))
        where = PeopleFilter(station_id=chosen.id if chosen else None, grade=grade or None,
                             text=args.get("q") or None, boundary=args.get("show") != "all")
        found = screen_people(db.session, figures, station_ids=visible, where=where, page=pages[0],
                              size=PEOPLE_PAGE)
        return self.render_template("calibration/index.html",
                                    **self._page(figures, person, chosen, where, found, pages[1], args))

    def _chosen_station(self, visible: list[int] | None) -> Station | None:
        raw = request.args.get("station", "")
        if not raw:
            return None
        station = row_or_none(Station, int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if station is None or (visible is not None and station.id not in visible):
            abort(404)
        return station

    def _page(self, figures: ScreenFigures, person: Caller, chosen: Station | None, where: PeopleFilter,
              found, station_page: int, args: dict[str, str]) -> dict:
        dist = figures.dist
        locale = current_locale()
        drawn = figures.drawn
        flagged = {b.scope for b in dist.breaches}
        breaking = bool(args.get("breach"))
        listed = [s for s in dist.stations if s.key in flagged] if breaking else dist.stations
        station_pages = max(1, -(-len(listed) // STATION_PAGE))
        station_page = min(station_page, station_pages)
        shown = listed[(station_page - 1) * STATION_PAGE:station_page * STATION_PAGE]
        network_label = _("Network") if dist.whole_network else _("Stations shown")
        messages = drawn.get("breach_messages")
        if messages is None:
            messages = drawn["breach_messages"] = breach_messages(dist, locale)
        # What a page of stations draws (its chart and table rows) and the segments' part are the same for
        # every view of the same figures: drawn once, kept with them.
        stations_key = ("stations", station_page, breaking)
        if stations_key not in drawn:
            # Each group's five numbers are worked out once (Group.spread) and drawn as they are.
            rows = [SpreadRow(network_label, dist.network.totals, "network" in flagged, dist.network.spread)]
            rows += [SpreadRow(f"{s.key} {s.name}", s.totals, s.key in flagged, s.spread) for s in shown]
            drawn[stations_key] = (
                score_spread(rows, dist.bands, max_points=min(MAX_POINTS, CHART_DOTS // len(rows))),
                [table_row(dist, group, messages, limits=True) for group in [dist.network, *shown]])
        spread_chart, station_rows = drawn[stations_key]
        if "segments" not in drawn:
            segments = [s for s in dist.segments if s.appraisals]
            segment_rows = [SpreadRow(segment_label(s.key), s.totals, spread=s.spread) for s in segments]
            drawn["segments"] = (score_spread(segment_rows, dist.bands) if segments else None,
                                 [table_row(dist, group, messages) for group in segments])
        segment_chart, segment_table = drawn["segments"]
        table = workflows.workflow_table(db.session, dist.cycle.rule_set_version_id) \
            if dist.cycle.rule_set_version_id else workflows.default_table()
        return dict(
            dist=dist, cycle=dist.cycle, locale=locale, network_label=network_label,
            spread_chart=spread_chart, station_rows=station_rows, segment_rows=segment_table,
            segment_chart=segment_chart,
            segment_label=segment_label, may_calibrate=may_calibrate(person), chosen=chosen,
            stations=dist.stations, shown_stations=shown, station_page=station_page,
            station_size=STATION_PAGE, breaches_listed=BREACHES_LISTED,
            station_pages=station_pages, listed_stations=len(listed), breaking=breaking,
            breaking_stations=len(flagged - {"network"}), max_comment=MAX_COMMENT,
            where=where, found=found, no_grade=NO_GRADE, args=args, back=urlencode(args),
            limit_text=limit_text, people=people_rows(found.rows, table, locale),
            values={}, errors={},
        )

    # -- one person ------------------------------------------------------------------------------

    @expose("/<int:cycle_id>/appraisal/<int:pk>", methods=["GET", "POST"])
    @has_access
    def person(self, cycle_id: int, pk: int):
        """HR's form for one appraisal: GET shows it, POST ``action=preview`` checks it and shows the
        change for confirmation, ``action=confirm`` writes it, ``action=edit`` goes back to the form."""
        person = current_caller()
        if stations_of(person) == []:
            return _refused()
        try:
            appraisal, _facts = load(db.session, pk, person)
        except NotFound:
            abort(404)
        if appraisal.cycle_id != cycle_id:
            abort(404)
        if not may_calibrate(person):
            return error_response(403, _("Only HR calibrates; station managers see the distribution "
                                         "read-only."))
        values = _form_values(request.form) if request.method == "POST" else {
            "grade": "", "total": "", "reason": "", "visibility": INTERNAL, "hash": appraisal.snapshot_hash}
        action = request.form.get("action", "preview") if request.method == "POST" else "edit"
        if action == "edit":
            return self._form(appraisal, values, {})
        arguments = dict(total=values["total"], grade=values["grade"], reason=values["reason"],
                         visibility=values["visibility"], expected_hash=values["hash"] or None)
        try:
            if action == "confirm":
                new = calibrate(db.session, pk, person, **arguments)
            else:
                found = plan(db.session, pk, person, **arguments)
                db.session.rollback()
                return self._preview(appraisal, found, values)
        except (ServiceError, Refusal) as exc:
            db.session.rollback()
            if kind_of(exc) is None or kind_of(exc).value == "not_found":
                raise
            return self._form(appraisal, values, self._errors(exc), FORM_STATUS[kind_of(exc).value])
        flash(_("Calibrated %(name)s: grade %(grade)s, total %(total)s (version %(version)s).",
                name=new.snapshot["employee"]["name"], grade=new.grade or "N/A", total=_number(new.total),
                version=new.version), "success")
        return redirect(back_url(cycle_id, back_args(request.form)))

    @staticmethod
    def _errors(exc) -> dict[str, str]:
        errors = getattr(exc, "errors", None)
        if isinstance(errors, dict) and errors:
            return {k: str(v) for k, v in errors.items()}
        return {"form": message_of(exc, current_locale())}

    def _context(self, appraisal: Appraisal) -> dict:
        locale = current_locale()
        table = workflows.workflow_table(db.session, appraisal.rule_set_version_id)
        from_rules = [g for g, _m in cycle_grades(appraisal)]
        back = back_args(request.values)
        return dict(appraisal=appraisal, snapshot=appraisal.snapshot, table=table, locale=locale,
                    grades=from_rules, number=_number, measure=measure, max_comment=MAX_COMMENT,
                    back=urlencode(back), back_url=back_url(appraisal.cycle_id, back))

    def _form(self, appraisal: Appraisal, values: dict, errors: dict, status: int = 200):
        for message in errors.values():
            flash(message, "warning" if status == 409 else "danger")
        return self.render_template("calibration/person.html", values=values, errors=errors, preview=None,
                                    **self._context(appraisal)), status

    def _preview(self, appraisal: Appraisal, found, values: dict):
        values = dict(values, hash=appraisal.snapshot_hash)
        return self.render_template("calibration/person.html", values=values, errors={}, preview=found,
                                    **self._context(appraisal))


def cycle_grades(appraisal: Appraisal) -> list[tuple[str, float]]:
    """The grades an appraisal may be given: its rule set's bands (grade, minimum), in the rule set's
    order."""
    ruleset = ruleset_for_version(db.session, appraisal.rule_set_version_id)
    return [(b.grade, b.min) for b in ruleset.grades]
