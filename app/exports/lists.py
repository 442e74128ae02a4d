"""The other tables people take to Excel, written like the cycle's workbook: the results list as
filtered on screen, the dashboard's ranking and the what-if table."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.sql.elements import ColumnElement

from ..locales import is_english
from ..models import Cycle, Station
from ..rules.policy import NETWORK
from ..scoping import Scope
from ..services import dashboard as dash
from .rows import OutcomeTexts, StateLabels, incentive_amount, result_rows
from .sheets import COUNT, DATETIME, MONEY, SCORE, Book, Column


def results_workbook(session, where: ColumnElement[bool], order_by, locale: str, out) -> int:
    """The appraisals ``where`` selects (a list screen's filters within the reader's scope), in
    ``order_by``, one row each; returns how many."""
    with force_locale(locale), Book(out) as book:
        sheet = book.sheet(_("Appraisals"), [
            Column(_("Cycle"), width=20), Column(_("Station")), Column(_("Employee number")),
            Column(_("Employee name")), Column(_("Position")), Column(_("Total"), SCORE),
            Column(_("Grade"), width=7), Column(_("Outcomes"), width=24),
            Column(_("Incentive amount (yuan)"), MONEY), Column(_("State")), Column(_("Version"), COUNT),
            Column(_("Current version")), Column(_("Signed at"), DATETIME),
        ])
        state_label = StateLabels(session, locale)
        outcome_text = OutcomeTexts(session, locale)
        yes, no = _("Yes"), _("No")
        for row in result_rows(session, where, order_by, lines=False):
            sheet.append([
                row.cycle, row.station, row.employee_no, row.name, row.position, row.total, row.grade,
                outcome_text(row), incentive_amount(row.incentive),
                state_label(row.state, row.rule_set_version_id), row.version, yes if row.is_current else no,
                row.signed_at,
            ])
        book.save()
    return sheet.rows - 1


def ranking_workbook(session, scope: Scope, cycle: Cycle, station: Station | None, locale: str, out) -> int:
    """The dashboard's ranking of ``cycle`` within ``scope`` (one station's, or all): the stations by
    their mean total, and every employee by total (the screen shows the first 20); returns how many
    employees."""
    with force_locale(locale), Book(out) as book:
        if station is None:
            stations = book.sheet(_("Stations by mean total"), [
                Column(_("Rank"), COUNT), Column(_("Station"), width=24), Column(_("Mean total"), SCORE),
                Column(_("Headcount"), COUNT),
            ])
            for rank, ranked in enumerate(dash.station_ranking(session, scope, cycle.id), 1):
                stations.append([rank, ranked.label, ranked.total, ranked.count])
            stations.finish()  # the next sheet streams
        people = book.sheet(_("Ranking"), [
            Column(_("Rank"), COUNT), Column(_("Employee"), width=20), Column(_("Total"), SCORE),
            Column(_("Grade"), width=7),
        ])
        ranked_people = dash.employee_ranking(session, scope, cycle.id, station.id if station else None,
                                              limit=None)
        for rank, ranked in enumerate(ranked_people, 1):
            people.append([rank, ranked.label, ranked.total, ranked.grade])
        book.save()
    return len(ranked_people)


def whatif_workbook(result: dict, locale: str, out) -> int:
    """A what-if's answer (``app.services.rules.whatif``) as the screen shows it: each employee before
    and after (total, grade, incentive amount); the grades per station and in the network before and after
    with the policy's breaches; the incentive amounts per station and in total. Returns how many
    employees."""
    with force_locale(locale), Book(out) as book:
        people = book.sheet(_("What-if"), [
            Column(_("Employee number")), Column(_("Employee name")), Column(_("Station")),
            Column(_("Total before"), SCORE), Column(_("Grade before"), width=9),
            Column(_("Total after"), SCORE), Column(_("Grade after"), width=9), Column(_("Change"), SCORE),
            Column(_("Amount before"), MONEY), Column(_("Amount after"), MONEY),
        ])
        for row in result["employees"]:
            people.append([row["employee_no"], row["name"], row["station"], row["old_total"],
                           row["old_grade"], row["new_total"], row["new_grade"], row["delta"],
                           row.get("old_amount"), row.get("new_amount")])
        _whatif_grades(book, result["distribution"], locale)
        _whatif_incentives(book, result.get("incentives"))
        book.save()
    return len(result["employees"])


def _whatif_grades(book: Book, distribution: dict, locale: str) -> None:
    grades = list(dict.fromkeys([*distribution["before"], *distribution["after"]]))
    sheet = book.sheet(_("Grade distribution"), [
        Column(_("Station")),
        *[Column(_("%(grade)s before", grade=g), COUNT) for g in grades],
        *[Column(_("%(grade)s after", grade=g), COUNT) for g in grades],
        Column(_("Against the policy before"), width=36), Column(_("Against the policy after"), width=36),
    ])
    separator = "; " if is_english(locale) else "；"

    def breaches(key: str, scope: str) -> str:
        return separator.join(b["message"] for b in distribution.get(key) or [] if b["scope"] == scope)

    stations = [(s["station"], s["station"], s) for s in distribution.get("stations", [])]
    for label, scope, counts in [*stations, (_("Network"), NETWORK, distribution)]:
        sheet.append([label, *[counts["before"].get(g, 0) for g in grades],
                      *[counts["after"].get(g, 0) for g in grades],
                      breaches("breaches_before", scope), breaches("breaches_after", scope)])


def _whatif_incentives(book: Book, incentives: dict | None) -> None:
    if not incentives:
        return
    sheet = book.sheet(_("Incentive amounts"), [
        Column(_("Station")), Column(_("Station name"), width=20), Column(_("People"), COUNT),
        Column(_("Pool"), MONEY), Column(_("Before"), MONEY), Column(_("After"), MONEY),
        Column(_("Change"), MONEY),
    ])
    stations = incentives.get("stations", [])
    for s in stations:
        sheet.append([s["station"], s["name"], s["headcount"], s["pool"], s["before"], s["after"],
                      s["change"]])
    sheet.append([_("All stations"), "", sum(s["headcount"] for s in stations), None,
                  incentives["before_total"], incentives["after_total"], incentives["change"]])
