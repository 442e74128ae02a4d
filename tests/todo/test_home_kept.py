"""HR's home page at any size: the cards' and the recent cycles' counts over the appraisals alone are kept
by the worker per cycle while the cycle's appraisals stay as they were (their latest ``updated_at``), so
the page runs as many statements whatever the number of cycles and appraisals; a change to a cycle shows
on the next view; a caller reads only counts of their own scope; the caller's employee record is read once
per page, with whether they stand in for anybody (no statement for the substitutes otherwise)."""

from __future__ import annotations

import re
from collections import Counter

from app import clock as app_clock
from app.extensions import db
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from app.services.inbox import tally
from app.services.inbox_groups import SETTLE
from app.services.todo import STEPS
from tests.factories import Moves, caller, counted, demo_period, statements_for
from tests.todo.test_home_counts import PEOPLE, expected


def cards(html: str) -> dict[str, int]:
    """The home page's cards: key → count."""
    return {key: int(n) for key, n in re.findall(
        r'jx-todo-(\w+)" href="[^"]+">.*?<span class="jx-count">(\d+)</span>', html, re.S)}


def recent(html: str) -> dict[int, dict[str, int]]:
    """The recent cycles' progress: cycle id → step → count (the steps' table)."""
    out = {}
    for part in html.split('class="jx-cycle-progress"')[1:]:
        cycle_id = int(re.search(r'href="/cycles/(\d+)"', part).group(1))
        cells = re.search(r"</tr>\s*<tr>(.*?)</tr>", part, re.S).group(1)
        counts = [int(re.match(r"\s*(\d+)", c).group(1)) for c in re.findall(r"<td>(.*?)</td>", cells, re.S)]
        out[cycle_id] = dict(zip(STEPS, counts, strict=True))
    return out


def _grouped(statements: list[str]) -> list[str]:
    """The statements counting the appraisals alone by group (the cards' and the recent cycles')."""
    return [s for s in statements if "JOIN" not in s and "GROUP BY appraisal." in s]


def _new_cycle(app, name: str) -> int:
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, name, start, end)
        compute_cycle(db.session, cycle)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


def test_the_home_page_runs_as_many_statements_whatever_the_cycles(app, login_as, clock):
    browser = login_as("hr")
    # the demo cycle's writes settled (however long ago the demo was seeded) and its counts kept
    clock.move(seconds=SETTLE.total_seconds() + 60)
    browser.get("/")
    one = statements_for(app, browser, "/")
    _new_cycle(app, "Second")
    _new_cycle(app, "Third")
    clock.move(minutes=1)
    written = statements_for(app, browser, "/")
    clock.move(seconds=SETTLE.total_seconds())
    settled = statements_for(app, browser, "/")
    assert not _grouped(one), one
    assert len(_grouped(written)) == 2
    assert len(written) == len(one) + 2, (one, written)
    assert len(settled) == len(one), (one, settled)
    # the caller's employee record once, with the substitutes test; no statement of the substitutes' own
    assert sum(s.lstrip().startswith("SELECT employee.id") for s in settled) == 1, settled
    assert not [s for s in settled if re.match(r"\s*SELECT ab_user\.id.*JOIN substitute", s, re.S)], settled
    # settled, the counts over the appraisals alone come from the worker's copy
    assert _grouped(written) and not _grouped(settled)


def test_a_change_shows_on_the_next_view(app, fresh, login_as, clock):
    browser = login_as("hr")
    clock.move(seconds=SETTLE.total_seconds() + 60)
    first = browser.get("/").get_data(as_text=True)
    with counted(app) as statements:
        again = browser.get("/").get_data(as_text=True)
    assert not _grouped(statements), "the settled cycles' counts are kept"
    assert cards(again) == cards(first) and recent(again) == recent(first)
    drafts = cards(first)["submit"]
    with app.app_context():
        Moves(app, fresh).to_pending_review("EMP1")
        db.session.remove()
    after = browser.get("/").get_data(as_text=True)
    assert cards(after)["submit"] == drafts - 1
    before_steps, after_steps = recent(first)[fresh], recent(after)[fresh]
    assert after_steps["draft"] == before_steps["draft"] - 1
    assert after_steps["pending_review"] == before_steps["pending_review"] + 1
    # still counted again once the write has settled, and then kept
    clock.move(seconds=SETTLE.total_seconds() + 1)
    assert cards(browser.get("/").get_data(as_text=True)) == cards(after)
    with counted(app) as statements:
        assert cards(browser.get("/").get_data(as_text=True)) == cards(after)
    assert not _grouped(statements)


def test_kept_counts_are_each_callers_own(app, fresh, clock):
    """Everyone's cards equal the workflow's one-by-one answer when read twice (the second time from the
    worker's copy where it may) in any order of callers, before and after a change."""
    clock.move(seconds=SETTLE.total_seconds() + 60)

    def check():
        with app.app_context():
            for username in (*PEOPLE, *reversed(PEOPLE)):
                want = expected(app, username)
                per_state = Counter(state for state, _ in want.values())
                overdue = Counter(state for state, late in want.values() if late)
                for _ in range(2):
                    got = tally(db.session, caller(app, username), app_clock.now())
                    assert got == {s: (n, overdue[s]) for s, n in per_state.items()}, username
            db.session.remove()

    check()
    with app.app_context():
        Moves(app, fresh).to_approved("EMP2")
        db.session.remove()
    check()
    clock.move(seconds=SETTLE.total_seconds() + 1)
    check()
