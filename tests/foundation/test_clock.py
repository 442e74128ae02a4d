"""The one time formatter: a stored UTC moment reads as the configured zone's wall time on screens, in the
PDF and in exports, and as ISO 8601 with that zone's offset in API answers."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask, render_template_string

from app import clock

MOMENT = dt.datetime(2026, 12, 2, 2, 40, 5, tzinfo=dt.UTC)


@pytest.fixture
def zoned():
    """A bare application in a given zone (no database: the formatter needs only the setting)."""
    def make(zone: str) -> Flask:
        app = Flask(__name__)
        app.config["JIXIAO_TIMEZONE"] = zone
        clock.register_filters(app)
        return app
    return make


@pytest.mark.parametrize(("zone", "text", "iso"), [
    ("Asia/Shanghai", "2026-12-02 10:40", "2026-12-02T10:40:05+08:00"),
    ("UTC", "2026-12-02 02:40", "2026-12-02T02:40:05+00:00"),
    ("America/New_York", "2026-12-01 21:40", "2026-12-01T21:40:05-05:00"),
])
def test_a_utc_moment_in_the_configured_zone(zoned, zone, text, iso):
    with zoned(zone).app_context():
        assert clock.local_text(MOMENT) == text
        assert clock.local_iso(MOMENT) == iso
        assert clock.local_date_text(MOMENT) == text[:10]


def test_naive_and_iso_text_are_read_as_utc(zoned):
    """SQLite gives moments back naive (UTC); snapshots and job rows keep them as ISO text."""
    with zoned("Asia/Shanghai").app_context():
        assert clock.local_text(MOMENT.replace(tzinfo=None)) == "2026-12-02 10:40"
        assert clock.local_text(MOMENT.isoformat()) == "2026-12-02 10:40"
        assert clock.local_text(MOMENT, seconds=True) == "2026-12-02 10:40:05"
        assert clock.local_iso("2026-12-02T02:40:05") == "2026-12-02T10:40:05+08:00"


def test_nothing_reads_as_nothing_and_a_date_stays_a_date(zoned):
    with zoned("Asia/Shanghai").app_context():
        assert clock.local_text(None) == ""
        assert clock.local_iso(None) is None
        assert clock.local_text(dt.date(2026, 12, 2)) == "2026-12-02"
        assert clock.local_date_text(dt.date(2026, 12, 2)) == "2026-12-02"


def test_the_late_evening_in_utc_is_the_next_local_day(zoned):
    with zoned("Asia/Shanghai").app_context():
        assert clock.local_date_text(dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC)) == "2026-12-03"


def test_templates_use_the_same_formatter(zoned):
    app = zoned("Asia/Shanghai")
    with app.test_request_context():
        shown = render_template_string(
            "{{ when|local_time }} | {{ when|local_date }} | {{ when|local_iso }} | {{ local_time(when) }}",
            when=MOMENT)
    assert shown == "2026-12-02 10:40 | 2026-12-02 | 2026-12-02T10:40:05+08:00 | 2026-12-02 10:40"


def test_api_answers_moments_with_the_zones_offset(app, api_as):
    """A model API's stored moments (cycles, appraisals, rule versions) carry +08:00, as screens show them."""
    hr = api_as("hr")
    cycle = hr.get("/api/v1/cycle/?page_size=1").json["result"][0]
    shown = hr.get(f"/api/v1/cycle/{cycle['id']}").json["result"]
    assert shown["created_at"].endswith("+08:00"), shown["created_at"]
    versions = hr.get("/api/v1/ruleset/?page_size=5").json["result"]
    assert versions and all(v["created_at"].endswith("+08:00") for v in versions)
