"""Computed styles shared between documents (app/pdf/styles.py): the same bytes as WeasyPrint's own
per-document styles, and a cache that stops growing once the template's styles are in it."""

import threading

import weasyprint

from app.pdf import render, styles
from app.pdf.sample import sample_snapshot


def in_new_thread(function):
    """Run ``function`` in a fresh thread, which builds a fresh renderer (one per thread)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - re-raised below, in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def varied() -> list[dict]:
    """Documents of different shapes one after another, so each takes some styles cached by
    another: signed or not, approvals, a long trail, hostile text, N/A lines, a bare minimum."""
    signed = sample_snapshot(1)
    signed["signed"] = {"by": "钱经理", "at": "2024-10-10 09:00"}
    signed["approved"] = [{"by": "钱经理", "at": "2024-10-09 18:00"}]
    long = sample_snapshot(2)
    long["trail"] = long["trail"] * 30
    long["comments"] = [{"who": '<b>"x"</b>', "when": "now", "text": "a & b <i>c</i>\n" * 20}]
    bare = {key: sample_snapshot(3)[key] for key in render.REQUIRED}
    bare["lines"] = bare["lines"][:1]
    return [sample_snapshot(0), signed, long, bare, sample_snapshot(4)]


def render_all(snapshots):
    return [render.render_appraisal_pdf(snapshot, locale)
            for locale in ("zh_CN", "en", "zh_CN") for snapshot in snapshots]


def test_sharing_is_on_for_the_installed_weasyprint():
    """The copy of StyleFor.__init__ was checked against these versions; after an upgrade, compare
    it with the new one and add the version (until then documents render without sharing)."""
    assert weasyprint.__version__ in styles.CHECKED_VERSIONS
    assert styles.ACTIVE and weasyprint.css.StyleFor is styles.SharedStyleFor


def test_shared_styles_give_the_same_bytes_as_styles_per_document(monkeypatch):
    snapshots = varied()
    shared = in_new_thread(lambda: (render_all(snapshots), render._renderer().font_config))
    pdfs, font_config = shared
    assert getattr(font_config, styles._ATTRIBUTE)  # the sharing did happen
    monkeypatch.setattr(render, "share_styles", lambda font_config: False)
    own = in_new_thread(lambda: (render_all(snapshots), render._renderer().font_config))
    assert not hasattr(own[1], styles._ATTRIBUTE)
    assert own[0] == pdfs


def test_the_cache_stops_growing_after_the_first_document():
    def sizes():
        seen = []
        for seed in range(6):
            render.render_appraisal_pdf(sample_snapshot(seed))
            cache = getattr(render._renderer().font_config, styles._ATTRIBUTE)
            seen.append(sum(len(entries) for entries in cache.values()))
        return seen

    seen = in_new_thread(sizes)
    assert seen[0] > 50 and seen == [seen[0]] * 6
