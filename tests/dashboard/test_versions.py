"""Dashboards over a cycle whose appraisals are on two rule-set versions: indicators averaged per version,
each mean saying how many of the people shown it covers."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, Station
from tests.cycles.conftest import fresh, moves  # noqa: F401 - fixtures
from tests.cycles.test_versions import on_two_versions
from tests.cycles.versions import S01_INDICATOR


def test_indicators_are_averaged_per_version_on_a_cycle_with_two(app, moves, fresh, tmp_path,  # noqa: F811
                                                                  login_as):
    on_two_versions(app, moves, fresh, tmp_path)
    with app.app_context():
        s01 = db.session.scalar(select(Station.id).where(Station.code == "S01"))
        people = db.session.scalar(select(func.count()).select_from(Appraisal).where(
            Appraisal.cycle_id == fresh, Appraisal.station_id == s01, Appraisal.is_current.is_(True)))
    hr = login_as("hr")
    html = hr.get(f"/dashboard/?cycle={fresh}&station={s01}").get_data(as_text=True)
    assert "jx-versions-split" in html and "jx-versions-mixed" in html
    versions_of = {}
    for version, code in re.findall(r'<tr data-version="(v\d)" data-code="([^"]+)">', html):
        versions_of.setdefault(code, set()).add(version)
    assert versions_of[S01_INDICATOR] == {"v2"}  # the new indicator: only on v2
    assert versions_of["kpi_satisfaction"] == {"v1", "v2"}  # an old one: a mean per version
    new_row = html[html.index(f'data-code="{S01_INDICATOR}"'):]
    covers = re.search(r'jx-covers">([^<]*)<', new_row).group(1)
    assert re.search(rf"\b1\b.*\b{people}\b|\b{people}\b.*\b1\b", covers), covers  # 1 of the people shown
    # the indicator's page: its mean per version and how many it covers
    page = hr.get(f"/dashboard/indicator/{fresh}/{S01_INDICATOR}?station={s01}").get_data(as_text=True)
    assert '<li data-version="v2" data-count="1">' in page and "v1" not in re.findall(
        r'<li data-version="(v\d)"', page)
    shared = hr.get(f"/dashboard/indicator/{fresh}/kpi_satisfaction?station={s01}").get_data(as_text=True)
    assert set(re.findall(r'<li data-version="(v\d)"', shared)) == {"v1", "v2"}


def test_a_cycle_on_one_version_is_not_split(app, login_as):
    html = login_as("hr").get("/dashboard/").get_data(as_text=True)
    assert "jx-indicators" in html and "jx-versions-split" not in html and "jx-versions-mixed" not in html
