"""The calibration screen works each figure out once: the spread charts draw the five numbers the distribution
computed (the same chart as from the totals themselves, without reading a big group's totals again), the
policy's breaches come from the grade counts (the same as from every grade listed), and the screen reads the
appraisals the same few times whatever their number."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from app.charts.spread import SpreadRow, five_numbers, score_spread
from app.extensions import db
from app.models import Cycle
from app.rules.policy import DistributionPolicy, GradeLimit, breaches, breaches_of_counts
from app.services.distribution import cycle_distribution, spread_of
from tests.calibration.test_paging import add_network
from tests.factories import statements_for


class Untouchable(Sequence):
    """Totals that must not be read: only their number is known."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):
        raise AssertionError("a big group's totals were read again")

    def __iter__(self):
        raise AssertionError("a big group's totals were read again")


def test_a_chart_from_the_five_numbers_is_the_chart_from_the_totals(app, hand):
    add_network(app, hand)
    with app.app_context():
        dist = cycle_distribution(db.session, db.session.get(Cycle, hand))
    groups = [dist.network, *dist.stations, *dist.segments]
    for group in groups:
        assert group.spread == five_numbers(group.totals)
    bands = dist.bands
    for max_points in (3, 60):  # some rows drawn as a box only, others with their dots
        plain = [SpreadRow(g.key, g.totals, g.kind == "station") for g in groups]
        given = [SpreadRow(g.key, g.totals, g.kind == "station", g.spread) for g in groups]
        assert str(score_spread(given, bands, max_points=max_points)) == \
            str(score_spread(plain, bands, max_points=max_points))


def test_a_big_group_is_drawn_without_reading_its_totals():
    many = [50 + (i * 37) % 50 + 0.25 * (i % 4) for i in range(2000)]
    spread = spread_of(many)
    assert spread == five_numbers(many) == spread_of(many, finite=True)
    unread = SpreadRow("S01", Untouchable(len(many)), spread=spread)
    drawn = score_spread([unread], [("A", 90)], max_points=60)
    assert str(drawn) == str(score_spread([SpreadRow("S01", many)], [("A", 90)], max_points=60))


def test_the_totals_left_out_are_the_infinite_ones():
    assert spread_of([80.0, float("inf"), 60.0, float("-inf")]) == five_numbers([80.0, 60.0])


CHOICES = ("A", "A", "B", "C", "D", None)


def test_breaches_from_counts_are_the_breaches_from_every_grade():
    rng = random.Random(19)
    policy = DistributionPolicy(limits=(
        GradeLimit("A", max_share=0.2, scope="both"), GradeLimit("D", min_share=0.1, scope="station"),
        GradeLimit("B", max_share=0.5, min_share=0.2, scope="network")), min_headcount=5)
    for _ in range(30):
        grades = {f"S{s:02d}": [rng.choice(CHOICES) for _ in range(rng.randint(0, 12))]
                  for s in range(rng.randint(1, 8))}
        counts = {code: {g: listed.count(g) for g in set(listed)} for code, listed in grades.items()}
        assert breaches_of_counts(policy, counts) == breaches(policy, grades)
    assert breaches_of_counts(None, {"S01": {"A": 9}}) == []


def _appraisal_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if re.search(r"\bFROM appraisal\b", s)]


def test_the_screen_reads_the_appraisals_the_same_few_times_whatever_their_number(app, login_as, hand):
    hr = login_as("hr")
    small = _appraisal_reads(statements_for(app, hr, f"/calibration/{hand}?show=all"))
    add_network(app, hand)
    big = _appraisal_reads(statements_for(app, hr, f"/calibration/{hand}?show=all"))
    # when they were last written, the grade counts with the totals (one GROUP BY), then the people: their
    # count, a page of ids, its rows (figures kept once the latest write has settled: test_kept_figures)
    assert len(small) == len(big) == 5, big
    assert "GROUP BY" in big[1] and "LIMIT" in big[3]
