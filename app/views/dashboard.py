"""Dashboards, drawn on the server as SVG (app.charts.svg): no scripts, fonts or CDN.

HR, station managers and supervisors see their scope: each station's category scores across
cycles, the grade distribution and rankings of one cycle, and each indicator with a drill-down to
the employees and from there to the orders behind it. An employee sees their own history.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from markupsafe import Markup, escape
from werkzeug.routing import BuildError

from .. import permissions as p
from ..charts.svg import category_bars, grade_distribution, history_lines, ranking_bars
from ..extensions import db
from ..locales import current_locale
from ..pdf.numbers import measure
from ..rules.names import explain_label
from ..scoping import current_scope
from ..services import dashboard as dash
from ..services import dashboard_store
from ..web.context import page_number
from ..web.labels import category_name, indicator_name, metric_names, unit_name


def _chosen(items, arg: str):
    """The item whose id is in the query argument (404 if not among ``items``), else None."""
    raw = request.args.get(arg, "")
    if not raw:
        return None
    chosen = next((item for item in items if str(item.id) == raw), None)
    if chosen is None:
        abort(404)
    return chosen


def _score_first(row) -> float:
    """Sort key: the highest score first, rows without a score last."""
    return -(row.score if row.score is not None else -1)


def orders_url(employee_id: int, metric: str, cycle) -> str | None:
    """The metrics drill-down screen for one employee, metric and cycle period."""
    try:
        return url_for("MetricsView.orders", employee_id=employee_id, code=metric,
                       start=cycle.start.isoformat(), end=cycle.end.isoformat())
    except BuildError:
        return None


_PROBE = 7_919_104_361  # an id no table reaches, put in a link to find where an id goes


def id_urls(endpoint: str, arg: str, **values) -> Callable[[int], str]:
    """``url_for(endpoint, **values, arg=id)`` for many ids, the link built once: werkzeug writes an integer
    as its digits, in a path and in a query string alike, so the id simply takes the probe's place."""
    probe = url_for(endpoint, **values, **{arg: _PROBE})
    head, found, tail = probe.partition(str(_PROBE))
    if not found or str(_PROBE) in tail:
        return lambda ident: url_for(endpoint, **values, **{arg: ident})
    return lambda ident: f"{head}{int(ident)}{tail}"


def station_options(stations: list, station) -> Markup:
    """The station picker's choices, the chosen one selected: one string, not a loop of the template over
    every station; the last ones made are kept, keyed by the stations' id, code and name as read."""
    return _options(tuple(stations), station.id if station else None)


@functools.lru_cache(maxsize=64)
def _options(stations: tuple, chosen: int | None) -> Markup:
    return Markup("".join(
        f'<option value="{s.id}"{" selected" if s.id == chosen else ""}>{escape(s.code)} {escape(s.name)}'
        "</option>" for s in stations))


def _page(rows: list, size: int) -> tuple[list[tuple[int, object]], dict]:
    """The rows of the page asked for (``?page=``, from 1; a page past the end shows the last), numbered
    from 1 over all rows, and the paging facts."""
    count = max(1, -(-len(rows) // size))
    number = min(page_number(request.args.get("page")) or 1, count)
    first = (number - 1) * size
    numbered = list(enumerate(rows[first:first + size], start=first + 1))
    return numbered, {"number": number, "count": count, "rows": len(rows)}


def _ends(rows: list) -> list:
    """The best and the last ``ENDS`` rows, or every row when there are few."""
    return rows if len(rows) <= 2 * ENDS else rows[:ENDS] + rows[-ENDS:]


def _named(by_category: dict) -> dict:
    """Category → value, the categories named in the reader's language."""
    return {category_name(category): value for category, value in by_category.items()}


RANKING_PAGE = 20  # stations per page of the ranking table
ENDS = 10  # the ranking chart: the best and the last this many stations
INDICATOR_PAGE = 100  # employees per page of an indicator's drill-down


class DashboardView(BaseView):
    route_base = "/dashboard"
    class_permission_name = p.DASHBOARD
    method_permission_name = {"index": p.READ, "indicator": p.READ, "mine": p.READ}
    default_view = "index"

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        scope = current_scope()
        if not dash.is_manager_view(scope):
            return self.mine()
        session = db.session
        held = dash.Held.read(session, scope)  # a narrower scope's appraisals, read once for the view
        cycles = dash.cycles(session, scope, held)
        stations = dash.stations(session, scope, held)
        cycle = _chosen(cycles, "cycle") or (cycles[-1] if cycles else None)
        station = _chosen(stations, "station")
        sid = station.id if station else None
        shown = cycles[-dash.MAX_CYCLES:]
        if cycle is not None and cycle not in shown:
            shown = [cycle, *shown]
        board = dashboard_store.Board(session, scope, shown, held)
        history = board.history(sid)
        grades = ranking = ranking_chart = people = indicators = None
        versions, pages = [], None
        if cycle is not None:
            figures = board.figures(cycle.id, sid)
            grades = grade_distribution(figures.grade_counts())
            ranked = board.station_ranking(cycle.id, stations)
            if len(ranked) > 1:
                ranking, pages = _page(ranked, RANKING_PAGE)
                ranking_chart = ranking_bars([(r.label, r.total) for r in _ends(ranked)])
            people = board.people(figures)
            indicators = figures.indicator_summary()
            for item in indicators:  # the snapshots' names, in the reader's language
                item.name, item.category = indicator_name(item.code, item.name), category_name(item.category)
            versions = figures.rule_versions()
        return self.render_template(
            "dashboard/index.html", cycles=cycles, cycle=cycle, station=station,
            station_options=station_options(stations, station),
            station_url=id_urls("DashboardView.index", "station", cycle=cycle.id) if ranking else None,
            appraisal_url=id_urls("AppraisalView.show", "pk") if people else None,
            history_chart=history_lines(_named(history)) if history else None,
            grades=grades, ranking=ranking, ranking_chart=ranking_chart, pages=pages, ends=ENDS,
            people=people, people_chart=ranking_bars([(r.label, r.total) for r in people or []]),
            indicators=indicators, versions=versions, has_own=scope.employee_id is not None,
        )

    @expose("/indicator/<int:cycle_id>/<code>", methods=["GET"])
    @has_access
    def indicator(self, cycle_id: int, code: str):
        scope = current_scope()
        if not dash.is_manager_view(scope):
            abort(404)
        held = dash.Held.read(db.session, scope)
        cycle = next((c for c in dash.cycles(db.session, scope, held) if c.id == cycle_id), None)
        if cycle is None or len(code) > 64:
            abort(404)
        station = _chosen(dash.stations(db.session, scope, held), "station")
        name, rows = dash.indicator_rows(db.session, scope, cycle, code, station.id if station else None)
        if not rows:
            abort(404)
        numbered, pages = _page(rows, INDICATOR_PAGE)
        shown = [row for _rank, row in numbered]
        for row in shown:  # the stored lines name the variables as the formula typed them
            row.explain = explain_label(row.explain, current_locale())
        links = {(row.employee_id, metric): orders_url(row.employee_id, metric, cycle)
                 for row in shown for metric in row.metrics}
        versions = dash.rule_versions(db.session, scope, cycle.id, station.id if station else None)
        return self.render_template(
            "dashboard/indicator.html", cycle=cycle, station=station, code=code,
            name=indicator_name(code, name), rows=shown, pages=pages, page_size=INDICATOR_PAGE, links=links,
            metric_names=metric_names(),
            measure=lambda value, unit: measure(value, unit_name(unit)),
            versions=versions, people=sum(v.count for v in versions),
            means=dash.version_means(rows) if len(versions) > 1 else [],
            chart=ranking_bars([(f"{r.employee_no} {r.employee_name}", r.score)
                                for r in sorted(shown, key=_score_first)]),
        )

    @expose("/mine/", methods=["GET"])
    @has_access
    def mine(self):
        scope = current_scope()
        points = dash.employee_history(db.session, scope.employee_id) if scope.employee_id is not None else []
        series = {_("Total"): [(pt.cycle, pt.total) for pt in points]}
        categories = sorted({c for pt in points for c in pt.category_scores})
        for category in categories:
            series[category_name(category)] = [(pt.cycle, pt.category_scores.get(category)) for pt in points]
        latest = points[-1] if points else None
        return self.render_template(
            "dashboard/mine.html", points=points, chart=history_lines(series) if points else None,
            latest=latest, latest_chart=category_bars(_named(latest.category_scores)) if latest else None,
            manager=dash.is_manager_view(scope),
        )

