"""The spread of totals (pure): five numbers by linear interpolation, and the box-and-strip SVG with every
label escaped, the grade minimums marked, flagged rows drawn in red and dots only for small groups."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.charts.spread import FiveNumbers, SpreadRow, five_numbers, quantile, score_spread

SVG = "{http://www.w3.org/2000/svg}"


def test_five_numbers():
    assert five_numbers([]) == FiveNumbers(0)
    assert five_numbers([None, "x", float("nan")]) == FiveNumbers(0)
    assert five_numbers([80]) == FiveNumbers(1, 80, 80, 80, 80, 80, 80)
    assert five_numbers([95, 52, 60.5, 76, 80, 88.5, 91]) == FiveNumbers(7, 52, 68.25, 80, 89.75, 95, 77.57)
    assert five_numbers([1, 2, 3, 4]).median == 2.5
    assert quantile([10, 20], 0.25) == 12.5


def test_the_chart_escapes_labels_and_parses():
    svg = score_spread([SpreadRow('S09 <script>alert(1)</script> & "x"', [70, 80, 90]),
                        SpreadRow("S10 空", [])], bands=[("A", 90), ("B", 75), ("D", 0)], title="分布 <b>")
    root = ET.fromstring(str(svg))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<script>" not in str(svg) and "&lt;script&gt;" in str(svg)
    assert any(t and t.startswith("S09 <script>") for t in texts)  # the text itself, escaped in the markup
    assert "A ≥ 90" in texts and "B ≥ 75" in texts and not any(t == "D ≥ 0" for t in texts)
    assert "N/A" in texts  # the empty row
    assert len(list(root.iter(f"{SVG}circle"))) == 3


def test_flagged_rows_are_red_and_big_groups_draw_no_dots():
    many = [50 + i % 50 for i in range(500)]
    svg = str(score_spread([SpreadRow("S01", many, flagged=True)]))
    root = ET.fromstring(svg)
    assert not list(root.iter(f"{SVG}circle")) and "n=500" in svg
    assert "#c53030" in svg
    assert "#c53030" not in str(score_spread([SpreadRow("S01", many)]))


def test_values_outside_the_scale_stay_on_the_plot():
    root = ET.fromstring(str(score_spread([SpreadRow("S01", [-20, 140])])))
    xs = [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]
    width = float(root.get("width"))
    assert all(0 < x < width for x in xs)


def test_no_rows_still_draws_the_axis():
    root = ET.fromstring(str(score_spread([])))
    assert [t.text for t in root.iter(f"{SVG}text")][:6] == ["0", "20", "40", "60", "80", "100"]


def test_the_axis_starts_below_the_lowest_total_or_grade_minimum():
    def ticks(rows, bands=()):
        root = ET.fromstring(str(score_spread(rows, bands)))
        return [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.isdigit()]

    assert ticks([SpreadRow("S01", [82, 95])], [("A", 90), ("B", 75)]) == [
        "50", "60", "70", "80", "90", "100"]  # never closer than 50
    assert ticks([SpreadRow("S01", [52, 95])], [("A", 90)]) == ["40", "50", "60", "70", "80", "90", "100"]
    assert ticks([SpreadRow("S01", [31, 95])]) == ["20", "40", "60", "80", "100"]
    assert ticks([SpreadRow("S01", [3])]) == ["0", "20", "40", "60", "80", "100"]
