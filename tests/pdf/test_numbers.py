"""A line's value and target as people read them: a rate stored as a fraction shows as a percentage,
on the screens and in the PDF; the stored numbers and the explanation stay as computed."""

import pytest

from app.pdf import render_html
from app.pdf.numbers import format_number, measure
from app.pdf.sample import sample_snapshot


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (0.88, "%", "88%"),
    (0.07, "%", "7%"),                 # 7.000000000000001 after × 100
    (0.8222, "%", "82.22%"),
    (0.93106, "%", "93.11%"),
    (1.1035, "%", "110.35%"),
    (0, "%", "0%"),
    (-0.005, "%", "-0.5%"),
    (1, " % ", "100%"),
    (4.2094, "分(1-5)", "4.21 分(1-5)"),
    (4.5, "分(1-5)", "4.5 分(1-5)"),
    (12345.678, "元", "12,345.68 元"),
    (3, "", "3"),
    (3, None, "3"),
    (-0.001, "", "0"),
])
def test_measure(value, unit, shown):
    assert measure(value, unit) == shown


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), "N/A", True])
def test_measure_of_no_number_is_none(value):
    assert measure(value, "%") is None


def test_format_number():
    assert format_number(2.5) == "2.5" and format_number(1234.0) == "1,234"
    assert format_number(0.125, 1) == "0.1"


def test_pdf_prints_rates_as_percentages_and_keeps_the_explanation():
    snapshot = sample_snapshot()
    html = render_html([snapshot])
    assert '<td class="num">92%</td>' in html and '<td class="num">90%</td>' in html
    assert '<td class="num">26.5 小时</td>' in html
    assert "0.92" not in html
    assert "一次修复 276 单 ÷ 完工 300 单 = 92%" in html
    first = snapshot["lines"][0]
    assert (first["value"], first["target"]) == (0.92, 0.9)
