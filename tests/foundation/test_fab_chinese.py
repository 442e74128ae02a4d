"""Flask-AppBuilder's list screens on a Chinese page: the dialogs' buttons (its templates write Cancel and
OK in English) and the role list's search filters read Chinese, including what is hidden until used."""

from __future__ import annotations

import re

import pytest

ENGLISH = re.compile(r">\s*(Cancel|OK|User|Groups|Show|Edit|Delete|Add)\s*<")


@pytest.mark.parametrize("href", ["/roles/list/", "/stationview/list/", "/employeeview/list/",
                                  "/users/list/"])
def test_list_screens_have_no_english_left(login_as, href):
    page = login_as("admin").get(href).get_data(as_text=True)
    assert not ENGLISH.findall(page), ENGLISH.findall(page)
    assert "取消" in page and "确定" in page
