"""The appraisal PDF: content, embedded fonts, A4, labels, and user text that stays text."""

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pypdf
import pytest
from weasyprint.urls import FatalURLFetchingError

from app.pdf import SnapshotError, render_appraisal_pdf, render_document, render_html
from app.pdf.labels import LABELS, normalise_locale
from app.pdf.render import _html_to_pdf
from app.pdf.sample import sample_snapshot


def read(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


def squeeze(text: str) -> str:
    """Without whitespace: a long string may wrap anywhere in the PDF."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def snapshot():
    return sample_snapshot()


@pytest.fixture(scope="module")
def pdf(snapshot):
    return render_appraisal_pdf(snapshot)


def test_text_has_employee_indicators_total_and_grade(pdf, snapshot):
    text = text_of(pdf)
    for expected in (snapshot["employee"]["name"], snapshot["employee"]["no"],
                     snapshot["company"], snapshot["station"]["name"], snapshot["cycle"]["name"],
                     "一次修复率", "30天返修率", "客户满意度", "培训学时", "考核指标", "总分",
                     "97.11", "优秀", "季度绩效奖金系数 1.2", "第 1 页 / 共 2 页"):
        assert expected in text, expected
    assert re.search(r"等级\s*A\s*优秀", text)
    # The explanation line, the N/A line with its weight moved, the trail and the comments.
    assert "一次修复 276 单 ÷ 完工 300 单" in text
    assert "净推荐值 不适用" in text and "5% → 0%" in text and "15% → 15.79%" in text
    assert "待审批 → 已批准" in text and "下季度重点" in text and "尚未签署" in text


def test_fonts_are_embedded(pdf):
    fonts = {}
    for page in read(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            parts = [f.get_object() for f in font.get("/DescendantFonts", [font])]
            descriptor = parts[0]["/FontDescriptor"].get_object()
            fonts[font["/BaseFont"]] = {"/FontFile2", "/FontFile3"} & set(descriptor)
    assert fonts and all(fonts.values()), fonts
    assert any("WenQuanYi" in name or "NotoSansCJK" in name for name in fonts)


def test_a4_pages(pdf):
    for page in read(pdf).pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_same_snapshot_same_bytes(snapshot, pdf):
    """No timestamps or random ids: re-rendering a snapshot reproduces its hash."""
    assert render_appraisal_pdf(snapshot) == pdf


def test_threads_render_the_same_bytes(snapshot, pdf):
    """A threaded web server renders concurrently; each thread has its own font state."""
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(render_appraisal_pdf, [snapshot] * 4)) == [pdf] * 4


def test_english_labels(snapshot):
    text = text_of(render_appraisal_pdf(snapshot, "en_US"))
    assert "Performance appraisal" in text and "Page 1 of 2" in text and "一次修复率" in text


def test_label_catalogs_match():
    assert LABELS["zh_CN"].keys() == LABELS["en"].keys()
    assert [normalise_locale(x) for x in ("zh", "zh-CN", "en_GB", "fr", None)] == \
        ["zh_CN", "zh_CN", "en", "zh_CN", "zh_CN"]


def test_signed_block_names_signer_and_time(snapshot):
    signed = {**snapshot, "signed": {"by": "王建国", "at": "2024-10-10 09:00"}}
    assert "已于 2024-10-10 09:00 由 王建国 电子签署" in text_of(render_appraisal_pdf(signed))


def test_missing_keys_are_named(snapshot):
    broken = {k: v for k, v in snapshot.items() if k not in ("total", "grade")}
    with pytest.raises(SnapshotError, match="total, grade"):
        render_appraisal_pdf(broken)
    with pytest.raises(SnapshotError):
        render_document([])


def test_one_document_holds_every_appraisal_on_its_own_pages(snapshot, pdf):
    single = len(read(pdf).pages)
    snapshots = [sample_snapshot(i) for i in range(3)]
    document = render_document(snapshots)
    assert len(read(document).pages) == 3 * single
    assert all(s["employee"]["name"] in text_of(document) for s in snapshots)


def test_user_html_renders_as_text_and_fetches_nothing(snapshot, listener):
    port, seen = listener
    hostile = [
        "<b>x</b>",
        '<link rel=stylesheet href="file:///etc/passwd">',
        f'<img src="http://127.0.0.1:{port}/x">',
        f'<a rel="attachment" href="http://127.0.0.1:{port}/a">a</a>',
        '<style>@import url("file:///etc/passwd");</style>',
    ]
    evil = {**snapshot,
            "employee": {**snapshot["employee"], "name": hostile[0]},
            "station": {**snapshot["station"], "name": hostile[3]},
            "comments": [{"who": hostile[0], "when": "2024-10-09", "text": text} for text in hostile],
            "lines": [{**snapshot["lines"][0], "name": hostile[2], "explain": hostile[1]},
                      *snapshot["lines"][1:]],
            "trail": [{"when": "t", "who": hostile[0], "action": hostile[4], "from": "a",
                       "to": "b", "comment": hostile[2]}],
            "category_scores": {hostile[2]: 50.0}}
    html = render_html([evil])
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<img" not in html and "<link" not in html and "<style>@import" not in html

    pdf = render_appraisal_pdf(evil)
    text = squeeze(text_of(pdf))
    for literal in hostile:
        assert squeeze(literal) in text, literal
    assert seen == []
    assert b"/EmbeddedFile" not in pdf and b"root:" not in pdf


def test_attachments_are_never_embedded():
    """Even markup in our own template could not attach a file: <link rel=attachment> is dropped
    and <a rel=attachment> stops the render."""
    link = '<link rel="attachment" href="jixiao-asset:appraisal.css"><p>x</p>'
    assert b"/EmbeddedFile" not in _html_to_pdf(link, "zh_CN")
    with pytest.raises(FatalURLFetchingError):
        _html_to_pdf('<a rel="attachment" href="jixiao-asset:appraisal.css">x</a>', "zh_CN")
