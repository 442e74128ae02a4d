"""The distribution sheet of a cycle's workbook: each station's grades against the policy, as the
calibration screen compares them (``app.services.distribution``), and the network's (or, for a station
manager, their stations' together)."""

from __future__ import annotations

from flask_babel import gettext as _

from ..locales import is_english
from ..models import Cycle
from ..rules.policy import MAX
from ..scoping import Scope
from ..services.distribution import NETWORK, Distribution, Group, cycle_distribution
from .sheets import COUNT, SHARE, Book, Column


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def limits_text(distribution: Distribution, group: Group) -> str:
    """The policy's limits on this group, e.g. "A ≤ 20%, D ≥ 5%"."""
    parts = []
    for grade, limits in distribution.limits_for(group).items():
        for limit in limits:
            for kind, share in limit.bounds():
                parts.append(f"{grade} {'≤' if kind == MAX else '≥'} {_percent(share)}")
    return ", ".join(parts)


def verdict(distribution: Distribution, group: Group, locale: str) -> str:
    """Each breach of the policy in this group, or that it is within the policy; "" without limits."""
    scope = NETWORK if group.kind == NETWORK else group.key
    found = [b.message(locale) for b in distribution.breaches if b.scope == scope]
    if found:
        return ("; " if is_english(locale) else "；").join(found)
    return _("Within the policy") if distribution.limits_for(group) else ""


def distribution_sheet(book: Book, session, cycle: Cycle, scope: Scope, locale: str) -> None:
    """Add the distribution sheet: per station of ``scope`` and in total, the graded headcount, each
    grade's count and share, how many have no grade, the policy's limits there and its breaches."""
    station_ids = None if scope.everything else sorted(scope.station_ids)
    distribution = cycle_distribution(session, cycle, station_ids=station_ids, locale=locale,
                                      boundary_limit=0, boundary_station_ids=())
    columns = [Column(_("Station")), Column(_("Station name"), width=20), Column(_("Headcount"), COUNT)]
    for grade in distribution.grades:
        columns += [Column(_("%(grade)s count", grade=grade), COUNT),
                    Column(_("%(grade)s share", grade=grade), SHARE)]
    columns += [Column(_("Without a grade"), COUNT), Column(_("Policy limits"), width=18),
                Column(_("Against the policy"), width=40)]
    sheet = book.sheet(_("Distribution"), columns)
    network = distribution.network
    for group in [*distribution.stations, network]:
        if group is network:
            cells: list = ["", _("Network") if distribution.whole_network else _("Your stations")]
        else:
            cells = [group.key, group.name]
        cells.append(group.headcount)
        for grade in distribution.grades:
            cells += [group.counts.get(grade, 0), group.share(grade)]
        cells += [group.ungraded, limits_text(distribution, group), verdict(distribution, group, locale)]
        sheet.append(cells)
