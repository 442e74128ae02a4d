"""The other tables people take to Excel, written like the cycle's workbook: the results list as
filtered on screen, the dashboard's ranking and the what-if table."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.sql.elements import ColumnElement

from ..models import Cycle, Station
from ..scoping import Scope
from ..services import dashboard as dash
from .rows import StateLabels, incentive_amount, outcomes_text, result_rows
from .sheets import COUNT, DATETIME, MONEY, SCORE, Book, Column


def results_workbook(session, where: ColumnElement[bool], order_by, locale: str, out) -> int:
    """The appraisals ``where`` selects (a list screen's filters within the reader's scope), in
    ``order_by``, one row each; returns how many."""
    with force_locale(locale), Book() as book:
        sheet = book.sheet(_("Appraisals"), [
            Column(_("Cycle"), width=20), Column(_("Station")), Column(_("Employee number")),
            Column(_("Employee name")), Column(_("Position")), Column(_("Total"), SCORE),
            Column(_("Grade"), width=7), Column(_("Outcomes"), width=24),
            Column(_("Incentive amount (yuan)"), MONEY), Column(_("State")), Column(_("Version"), COUNT),
            Column(_("Current version")), Column(_("Signed at"), DATETIME),
        ])
        state_label = StateLabels(session, locale)
        yes, no = _("Yes"), _("No")
        for row in result_rows(session, where, order_by, lines=False):
            sheet.append([
                row.cycle, row.station, row.employee_no, row.name, row.position, row.total, row.grade,
                outcomes_text(row.outcomes, locale), incentive_amount(row.incentive),
                state_label(row.state, row.rule_set_version_id), row.version, yes if row.is_current else no,
                row.signed_at,
            ])
        book.save(out)
    return sheet.rows - 1


def ranking_workbook(session, scope: Scope, cycle: Cycle, station: Station | None, locale: str, out) -> int:
    """The dashboard's ranking of ``cycle`` within ``scope`` (one station's, or all): the stations by
    their mean total, and every employee by total (the screen shows the first 20); returns how many
    employees."""
    with force_locale(locale), Book() as book:
        if station is None:
            stations = book.sheet(_("Stations by mean total"), [
                Column(_("Rank"), COUNT), Column(_("Station"), width=24), Column(_("Mean total"), SCORE),
                Column(_("Headcount"), COUNT),
            ])
            for rank, ranked in enumerate(dash.station_ranking(session, scope, cycle.id), 1):
                stations.append([rank, ranked.label, ranked.total, ranked.count])
        people = book.sheet(_("Ranking"), [
            Column(_("Rank"), COUNT), Column(_("Employee"), width=20), Column(_("Total"), SCORE),
            Column(_("Grade"), width=7),
        ])
        ranked_people = dash.employee_ranking(session, scope, cycle.id, station.id if station else None,
                                              limit=None)
        for rank, ranked in enumerate(ranked_people, 1):
            people.append([rank, ranked.label, ranked.total, ranked.grade])
        book.save(out)
    return len(ranked_people)


def whatif_workbook(result: dict, locale: str, out) -> int:
    """A what-if's answer (``app.services.rules.whatif``): each employee before and after, and the grade
    distribution before and after; returns how many employees."""
    with force_locale(locale), Book() as book:
        sheet = book.sheet(_("What-if"), [
            Column(_("Employee number")), Column(_("Employee name")), Column(_("Station")),
            Column(_("Total before"), SCORE), Column(_("Grade before"), width=9),
            Column(_("Total after"), SCORE), Column(_("Grade after"), width=9), Column(_("Change"), SCORE),
        ])
        for row in result["employees"]:
            sheet.append([row["employee_no"], row["name"], row["station"], row["old_total"],
                          row["old_grade"], row["new_total"], row["new_grade"], row["delta"]])
        grades = book.sheet(_("Grade distribution"), [
            Column(_("Grade"), width=9), Column(_("Before"), COUNT), Column(_("After"), COUNT),
        ])
        before, after = result["distribution"]["before"], result["distribution"]["after"]
        for grade in dict.fromkeys([*before, *after]):
            grades.append([grade, before.get(grade, 0), after.get(grade, 0)])
        book.save(out)
    return len(result["employees"])
