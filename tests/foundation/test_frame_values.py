"""How every list and show screen shows a cell (``display_value``, the ``jx_value`` filter)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import pytest
from markupsafe import Markup

from app.views.base import EMPTY, display_value


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize(("value", "column", "view", "shown"), [
    (None, None, None, EMPTY),
    ("", "name", "StationView", EMPTY),
    ([], None, None, EMPTY),
    (0, None, None, 0),
    (2.5, None, None, 2.5),
    (decimal.Decimal("3.10"), None, None, decimal.Decimal("3.10")),
    (dt.date(2026, 1, 31), None, None, dt.date(2026, 1, 31)),
    (dt.datetime(2026, 1, 31, 8, 0), None, None, dt.datetime(2026, 1, 31, 8, 0)),
    ("南京站", "name", "StationView", "南京站"),
    ("<b>", "name", "StationView", "<b>"),
    (Colour.RED, None, None, "red"),
    (Level.ONE, None, None, 1),
    ("can_read", "name", "PermissionModelView", Markup("<code>can_read</code>")),
    (Markup("<i>x</i>"), None, None, Markup("<i>x</i>")),
])
def test_a_cell_is_shown_as_it_is_or_as_a_dash(value, column, view, shown):
    result = display_value(value, column, view)
    assert result == shown and type(result) is type(shown)


def test_yes_no_and_the_system_values_are_translated(app):
    with app.test_request_context("/"):
        assert display_value(True) == "是" and display_value(False) == "否"
        assert display_value("setup") == "系统初始化" != "setup"
