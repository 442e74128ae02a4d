"""Appraisal snapshot (a plain dict, see README.md) → HTML → PDF bytes, with no Flask app.

Each thread keeps one ``_Renderer``: the Jinja environment, the WeasyPrint font configuration, the
parsed stylesheets and the computed styles (styles.py). Parsing CSS, loading fonts and computing the
template's styles cost more than laying out a page, so a process that renders many PDFs (an export
worker) pays for them once, and each PDF after the first costs what it would inside one long document.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from app.charts.svg import category_bars, finite_number

from .fetcher import ASSET_SCHEME, AssetFetcher, RefuseAll
from .labels import LABELS, normalise_locale
from .numbers import format_number, measure
from .sample import sample_snapshot
from .styles import share_styles
from .trail import ADJUSTMENT_CHARS, compact_comments, compact_trail, shorten

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "pdf"
STYLESHEET = f"{ASSET_SCHEME}:appraisal.css"

REQUIRED = ("company", "cycle", "employee", "station", "lines", "total", "grade")
SNAPSHOT_DEFAULTS = {
    "rule_version": "", "na_notes": [], "subtotal": None, "adjustment": 0.0,
    "adjustment_reason": "", "grade_label": "", "outcomes": [], "comments": [], "trail": [],
    "category_scores": {}, "signed": None, "approved": [],
}
LINE_DEFAULTS = {
    "code": "", "unit": "", "value": None, "target": None, "score": None, "weighted": None,
    "explain": "", "na": False, "manual": False,
}


class SnapshotError(ValueError):
    """The snapshot lacks something the PDF must show."""


def render_appraisal_pdf(snapshot: Mapping, locale: str = "zh_CN") -> bytes:
    """Render one appraisal snapshot as an A4 PDF; ``locale`` picks the labels (zh_CN or en)."""
    return render_document([snapshot], locale)


def render_document(snapshots: Iterable[Mapping], locale: str = "zh_CN") -> bytes:
    """Render several snapshots into one PDF, each starting on a new page (page numbers run
    through the whole document)."""
    return _html_to_pdf(render_html(snapshots, locale), locale)


def _html_to_pdf(html: str, locale: str) -> bytes:
    renderer = _renderer()
    document = HTML(string=html, url_fetcher=renderer.fetcher).render(
        font_config=renderer.font_config, stylesheets=renderer.stylesheets(locale))
    # Layout has loaded every image and font; all that writing could still fetch is an
    # attachment. None may be embedded, whatever the markup says.
    document.metadata.attachments = []
    document.url_fetcher = RefuseAll()
    return document.write_pdf(attachments=[])


def warm_up() -> None:
    """Render the sample appraisal once in this process and forget its renderer: what WeasyPrint and
    the font libraries do only once per process is done, and a process forked afterwards (the
    export's workers, from its fork server) starts with it done."""
    render_appraisal_pdf(sample_snapshot())
    _LOCAL.renderer = None


def render_html(snapshots: Iterable[Mapping], locale: str = "zh_CN") -> str:
    """The HTML the PDF is made from (autoescaped; useful for tests and an HTML preview)."""
    locale = normalise_locale(locale)
    appraisals = [_prepare(snapshot) for snapshot in snapshots]
    if not appraisals:
        raise SnapshotError("nothing to render: no snapshots")
    template = _renderer().env.get_template("appraisal.html")
    return template.render(appraisals=appraisals, t=LABELS[locale], lang=locale.replace("_", "-"))


def _prepare(snapshot: Mapping) -> dict:
    missing = [key for key in REQUIRED if key not in snapshot]
    if missing:
        raise SnapshotError(f"snapshot lacks {', '.join(missing)}")
    view = {**SNAPSHOT_DEFAULTS, **snapshot}
    view["lines"] = [{**LINE_DEFAULTS, "effective_weight": line.get("weight"), **line}
                     for line in snapshot["lines"]]
    for line in view["lines"]:
        line["redistributed"] = not _close(line["weight"], line["effective_weight"])
    view["redistributed"] = [line for line in view["lines"] if line["redistributed"]]
    # However long the history, the document stays a few pages (app/pdf/trail.py).
    view["trail"] = compact_trail(view["trail"])
    view["comments"] = compact_comments(view["comments"])
    view["adjustment_reason"] = shorten(view["adjustment_reason"], ADJUSTMENT_CHARS)
    view["chart"] = category_bars(view["category_scores"] or {})
    return view


@dataclass
class _Renderer:
    env: Environment
    fetcher: AssetFetcher
    font_config: FontConfiguration
    pid: int = field(default_factory=os.getpid)
    _css: dict[str, list[CSS]] = field(default_factory=dict)

    def stylesheets(self, locale: str) -> list[CSS]:
        locale = normalise_locale(locale)
        if locale not in self._css:
            self._css[locale] = [
                CSS(url=STYLESHEET, url_fetcher=self.fetcher, font_config=self.font_config),
                CSS(string=_page_css(LABELS[locale]), url_fetcher=self.fetcher,
                    font_config=self.font_config),
            ]
        return self._css[locale]


_LOCAL = threading.local()


def _renderer() -> _Renderer:
    """This thread's renderer. One per thread because a font configuration holds mutable caches
    and Pango state that WeasyPrint does not lock (a threaded web server renders concurrently);
    rebuilt after a fork, so a child never shares its parent's fontconfig and Pango state."""
    renderer = getattr(_LOCAL, "renderer", None)
    if renderer is None or renderer.pid != os.getpid():
        env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters.update(num=_num, pct=_pct, signed=_signed)
        font_config = FontConfiguration()
        share_styles(font_config)
        renderer = _LOCAL.renderer = _Renderer(env=env, fetcher=AssetFetcher(), font_config=font_config)
    return renderer


def _page_css(labels: Mapping[str, str]) -> str:
    """The locale's page-number line, e.g. "第 " counter(page) " 页 / 共 " counter(pages) " 页"."""
    parts = []
    for piece in labels["page"].replace("{pages}", "\0pages\0").replace("{page}", "\0page\0") \
            .split("\0"):
        if piece in ("page", "pages"):
            parts.append(f"counter({piece})")
        elif piece:
            parts.append('"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return f"@page {{ @bottom-center {{ content: {' '.join(parts)}; }} }}"


@pass_context
def _num(context, value: object, unit: str = "") -> str:
    shown = measure(value, unit)
    return context["t"]["na"] if shown is None else shown


def _pct(value: object) -> str:
    number = finite_number(value)
    return "" if number is None else f"{format_number(number)}%"


def _signed(value: object) -> str:
    number = finite_number(value) or 0.0
    return f"+{format_number(number)}" if number > 0 else format_number(number)


def _close(a: object, b: object) -> bool:
    x, y = finite_number(a), finite_number(b)
    return x == y if x is None or y is None else abs(x - y) < 0.005
