"""app.charts.svg: well-formed, self-contained SVG with every label escaped."""

import math
import xml.etree.ElementTree as ET

import pytest

from app.charts.svg import PALETTE, category_bars, grade_distribution, history_lines, ranking_bars

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>x</script>"

CHARTS = {
    "category_bars": lambda label: category_bars({label: 80.0, "效率": None}, title=label),
    "grade_distribution": lambda label: grade_distribution({label: 3, "B": 1}, title=label),
    "history_lines": lambda label: history_lines({label: [(label, 70.0), ("2024Q2", 75.0)]},
                                                 title=label),
    "ranking_bars": lambda label: ranking_bars([(label, 95.0), ("上海浦东站", 88.0)], title=label),
}


def texts(svg: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(svg).iter() if el.tag in (SVG + "text", SVG + "title")]


@pytest.mark.parametrize("name", CHARTS)
def test_label_is_escaped_text_not_markup(name):
    svg = CHARTS[name](HOSTILE)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == SVG + "svg"
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert not [el for el in root.iter() if "script" in el.tag]
    assert any(HOSTILE in text for text in texts(svg))


@pytest.mark.parametrize("name", CHARTS)
def test_self_contained_with_the_cjk_font_stack(name):
    svg = CHARTS[name]("北京朝阳站")
    body = svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for outside in ("href", "http:", "https:", "url(", "@import", "<image", "<foreignObject"):
        assert outside not in body
    root = ET.fromstring(svg)
    assert root.get("font-family") == "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"
    assert "北京朝阳站" in "".join(texts(svg))


@pytest.mark.parametrize("name", CHARTS)
def test_characters_xml_forbids_are_dropped(name):
    svg = CHARTS[name]("a\x00b\x1bc\ufffe")
    ET.fromstring(svg)  # well-formed
    assert any("abc" in text for text in texts(svg))  # the rest of the label stays
    assert not {"\x00", "\x1b", "\ufffe"} & set(svg)


def test_category_bars_show_na_and_clamp_to_the_scale():
    svg = category_bars({"质量": None, "效率": 150.0, "成本": -5.0, "客户": math.nan})
    assert texts(svg).count("N/A") >= 2  # None and NaN
    rects = list(ET.fromstring(svg).iter(SVG + "rect"))
    tracks = [float(r.get("width")) for r in rects if r.get("fill") == "#edf2f7"]  # the 0–100 scale
    bars = [float(r.get("width")) for r in rects if r.get("fill") == PALETTE[0]]
    assert len(tracks) == 2 and tracks[0] == tracks[1] > 0
    assert bars == [tracks[0], 0.0]  # 150 fills the scale, -5 draws nothing


@pytest.mark.parametrize("svg", [category_bars({}), grade_distribution({}), history_lines({}),
                                 ranking_bars([])],
                         ids=["category_bars", "grade_distribution", "history_lines", "ranking_bars"])
def test_empty_inputs_still_draw_the_chart_and_its_axis(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg" and float(root.get("width")) > 0 and float(root.get("height")) > 0
    assert {"0", "1"} <= set(texts(svg)) or {"0", "100"} <= set(texts(svg))  # the axis is labelled


@pytest.mark.parametrize("svg", [category_bars({}), ranking_bars([])], ids=["category_bars", "ranking_bars"])
def test_empty_bar_charts_say_there_is_nothing(svg):
    assert "N/A" in texts(svg)


def test_history_lines_break_at_missing_scores():
    svg = history_lines({"站": [("Q1", 1.0), ("Q2", 2.0), ("Q3", None), ("Q4", 4.0), ("Q5", 5.0)]})
    assert len(list(ET.fromstring(svg).iter(SVG + "polyline"))) == 2
    assert {"Q1", "Q5"} <= set(texts(svg))


def test_grade_distribution_labels_counts():
    assert {"A", "B", "C", "12", "0"} <= set(texts(grade_distribution({"A": 3, "B": 12, "C": 0})))


def test_ranking_is_numbered_in_the_given_order():
    svg = ranking_bars([("乙站", 90.0), ("甲站", 80.0)])
    labels = [el.text for el in ET.fromstring(svg).iter(SVG + "text") if ". " in el.text]
    assert labels == ["1. 乙站", "2. 甲站"]
