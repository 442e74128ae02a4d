"""Fixtures for sign-off: the demo's approved appraisals (EMP1 in S01, EMP6 in S02) signed by their
employees through the real transition service."""

from __future__ import annotations

import pytest

from tests.factories import appraisal_of, current_id, demo_cycle, sign, signing  # noqa: F401 - imported from here


@pytest.fixture
def signed(app) -> int:
    """EMP1's appraisal, signed."""
    return signing(app, "EMP1")[0]


@pytest.fixture
def signed_two(app) -> tuple[int, int]:
    """EMP1's and then EMP6's appraisals, signed: a chain of two records."""
    return tuple(signing(app, "EMP1", "EMP6"))
