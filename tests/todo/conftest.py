"""Fixtures for the to-do screens: a fresh computed cycle over the demo period (every appraisal a draft)."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import FRESH, demo_period


@pytest.fixture
def fresh(app):
    """A new cycle over the demo period, computed; yields its id (no app context stays pushed)."""
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, FRESH, start, end)
        compute_cycle(db.session, cycle)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id


def token_of(html: str) -> str:
    """The page's CSRF token."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def row_ids(html: str) -> list[int]:
    """The appraisal ids of the inbox's rows, in the order shown."""
    return [int(i) for i in re.findall(r'<tr class="jx-item[^"]*" data-id="(\d+)"', html)]
