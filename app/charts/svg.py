"""Charts as self-contained SVG strings, for dashboards and PDFs.

Every function takes plain Python values and returns the SVG as ``markupsafe.Markup`` (a ``str``),
so a Jinja template can place it inline with ``{{ chart }}`` and the PDF can embed the same markup.
All text that reaches the SVG (station names, categories, cycle names: user text) is XML-escaped
here, and characters XML forbids are dropped, so a label can never break out of its ``<text>``.
Nothing refers outside the SVG: no scripts, no links, no web fonts, no ids that could collide
when several charts share a page.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from html import escape

from markupsafe import Markup

from ..kept import Kept

FONT_FAMILY = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"
PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f", "#4a5568")
NA = "N/A"

_TEXT = "#2d3748"
_MUTED = "#718096"
_GRID = "#e2e8f0"
_TRACK = "#edf2f7"
# Characters XML 1.0 does not allow: one of them in a label would make the whole SVG unparsable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# A chart is a function of its values alone: the last charts drawn are kept, keyed by those values (their
# types too: ``True`` is drawn N/A, ``1`` is not), so a page drawn again from the same figures reuses the
# SVG, and a chart of other figures (another scope, a changed appraisal) is drawn anew.
KEPT = 256
_kept: Kept[str, Markup] = Kept(KEPT)


def _values(data: object) -> tuple:
    """The chart's input as a tuple of plain values: mappings keep their order (the chart follows it)."""
    if isinstance(data, Mapping):
        return tuple((_values(key), _values(value)) for key, value in data.items())
    if isinstance(data, list | tuple):
        return tuple(_values(item) for item in data)
    if data is None or isinstance(data, int | float):
        return (type(data).__name__, data)
    return ("str", str(data))  # a label (a lazy translation too) is drawn as its text


def kept(draw: Callable[..., Markup]) -> Callable[..., Markup]:
    """Keeps the last ``KEPT`` charts ``draw`` made, keyed by its arguments' values."""

    @functools.wraps(draw)
    def drawn(data, title: str | None = None) -> Markup:
        data = data if isinstance(data, Mapping | list | tuple) else list(data)
        key = repr((draw.__name__, None if title is None else str(title), _values(data)))
        return _kept.get_or_build(key, lambda: draw(data, title))

    return drawn


@kept
def category_bars(scores: Mapping[str, float | None], title: str | None = None) -> Markup:
    """Horizontal bars, one per category, on a 0–100 scale; a ``None`` score is drawn as N/A."""
    return _horizontal_bars(list(scores.items()), title, scale_max=100.0)


@kept
def ranking_bars(rows: Iterable[tuple[str, float | None]], title: str | None = None) -> Markup:
    """Horizontal bars in the given order, numbered 1, 2, 3…; the scale grows past 100 if needed."""
    items = [(f"{rank}. {name}", score) for rank, (name, score) in enumerate(rows, start=1)]
    values = [n for _, v in items if (n := finite_number(v)) is not None]
    return _horizontal_bars(items, title, scale_max=max([100.0, *values]))


@kept
def grade_distribution(counts: Mapping[str, int], title: str | None = None) -> Markup:
    """Vertical bars: how many appraisals got each grade, in the mapping's order."""
    items = [(str(grade), max(0, int(count or 0))) for grade, count in counts.items()]
    bar_w, gap, left, top, plot_h = 36, 20, 36, 30 if title else 16, 140
    width = max(240, left + len(items) * (bar_w + gap) + gap)
    height = top + plot_h + 26
    step, axis_max = _axis(max([c for _, c in items], default=0), integer=True)
    parts = _title(title)
    parts += _y_grid(left, width - 8, top, plot_h, 0.0, axis_max, step)
    for i, (grade, count) in enumerate(items):
        x = left + gap + i * (bar_w + gap)
        h = plot_h * count / axis_max
        y = top + plot_h - h
        color = PALETTE[i % len(PALETTE)]
        parts.append(f"<g><title>{_esc(grade)}: {count}</title>")
        parts.append(_rect(x, y, bar_w, h, fill=color))
        parts.append(_text(x + bar_w / 2, y - 4, str(count), anchor="middle"))
        label = _fit(grade, bar_w + gap - 4, 12)
        parts.append(_text(x + bar_w / 2, top + plot_h + 16, label, anchor="middle"))
        parts.append("</g>")
    return _svg(width, height, title or "", parts)


@kept
def history_lines(series: Mapping[str, list[tuple[str, float | None]]],
                  title: str | None = None) -> Markup:
    """One line per series (e.g. station → [(cycle name, score)]) across the cycles in first-seen
    order; a ``None`` score leaves a gap in its line."""
    cycles: dict[str, int] = {}
    for points in series.values():
        for cycle, _ in points:
            cycles.setdefault(str(cycle), len(cycles))
    values = [v for points in series.values() for _, score in points
              if (v := finite_number(score)) is not None]
    lo, hi = min([0.0, *values]), max([100.0, *values])
    step, _ = _axis(hi - lo)
    lo, hi = step * math.floor(lo / step), step * math.ceil(hi / step)

    width, left, right, top, plot_h = 560, 40, 16, 30 if title else 16, 160
    plot_w = width - left - right
    band = plot_w / max(1, len(cycles))
    legend = _legend_rows(list(series), width - left)
    height = top + plot_h + 24 + 18 * len(legend) + 6

    def x_of(index: int) -> float:
        return left + band * (index + 0.5)

    def y_of(value: float) -> float:
        return top + plot_h * (hi - value) / (hi - lo)

    parts = _title(title)
    parts += _y_grid(left, width - right, top, plot_h, lo, hi, step)
    for cycle, index in cycles.items():
        parts.append(_text(x_of(index), top + plot_h + 16, _fit(cycle, band - 4, 11),
                           anchor="middle", size=11, fill=_MUTED))
    for j, (name, points) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        by_index = {cycles[str(c)]: finite_number(s) for c, s in points}
        parts.append(f"<g><title>{_esc(name)}</title>")
        segment: list[str] = []
        for index in range(len(cycles) + 1):  # one past the end closes the last segment
            value = by_index.get(index)
            if value is None:
                if len(segment) > 1:
                    parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                                 f'points="{" ".join(segment)}"/>')
                segment = []
                continue
            x, y = x_of(index), y_of(value)
            segment.append(f"{x:.1f},{y:.1f}")
        for cycle, index in cycles.items():
            value = by_index.get(index)
            if value is not None:
                parts.append(f'<circle cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3" '
                             f'fill="{color}"><title>{_esc(name)} · {_esc(cycle)}: '
                             f"{_fmt(value)}</title></circle>")
        parts.append("</g>")
    y = top + plot_h + 24
    for row in legend:
        x = float(left)
        for j, name, w in row:
            parts.append(_rect(x, y + 2, 12, 12, fill=PALETTE[j % len(PALETTE)]))
            parts.append(_text(x + 16, y + 12, name, size=11))
            x += w
        y += 18
    return _svg(width, height, title or "", parts)


# -- shared drawing ------------------------------------------------------------------------------

def _horizontal_bars(items: list[tuple[str, float | None]], title: str | None,
                     scale_max: float) -> Markup:
    row, bar_h, width, value_w = 24, 14, 480, 48
    label_w = min(160.0, max([_text_width(str(k), 12) for k, _ in items], default=0.0)) + 12
    plot_x, plot_w = label_w, width - label_w - value_w
    top = 30 if title else 10
    rows_h = row * max(1, len(items))
    height = top + rows_h + 22
    step, axis_max = _axis(scale_max)
    parts = _title(title)
    tick = 0.0
    while tick <= axis_max + 1e-9:
        x = plot_x + plot_w * tick / axis_max
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + rows_h}" '
                     f'stroke="{_GRID}"/>')
        parts.append(_text(x, top + rows_h + 14, _fmt(tick), anchor="middle", size=10,
                           fill=_MUTED))
        tick += step
    if not items:
        parts.append(_text(plot_x + plot_w / 2, top + row / 2 + 4, NA, anchor="middle",
                           fill=_MUTED))
    for i, (name, score) in enumerate(items):
        cy = top + i * row + row / 2
        value = finite_number(score)
        parts.append(f"<g><title>{_esc(name)}: {_fmt(value)}</title>")
        parts.append(_text(label_w - 8, cy + 4, _fit(str(name), label_w - 10, 12), anchor="end"))
        if value is None:
            parts.append(_rect(plot_x, cy - bar_h / 2, plot_w, bar_h, fill="none",
                               extra=f'stroke="{_MUTED}" stroke-dasharray="3 2"'))
            parts.append(_text(plot_x + 6, cy + 4, NA, fill=_MUTED))
        else:
            parts.append(_rect(plot_x, cy - bar_h / 2, plot_w, bar_h, fill=_TRACK))
            w = plot_w * min(max(value, 0.0), axis_max) / axis_max
            parts.append(_rect(plot_x, cy - bar_h / 2, w, bar_h, fill=PALETTE[0]))
            parts.append(_text(plot_x + plot_w + 6, cy + 4, _fmt(value)))
        parts.append("</g>")
    return _svg(width, height, title or "", parts)


def _y_grid(x1: float, x2: float, top: float, plot_h: float, lo: float, hi: float,
            step: float) -> list[str]:
    parts = []
    tick = lo
    while tick <= hi + 1e-9:
        y = top + plot_h * (hi - tick) / (hi - lo)
        parts.append(f'<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="{_GRID}"/>')
        parts.append(_text(x1 - 4, y + 4, _fmt(tick), anchor="end", size=10, fill=_MUTED))
        tick += step
    return parts


def _legend_rows(names: list[str], max_width: float) -> list[list[tuple[int, str, float]]]:
    rows: list[list[tuple[int, str, float]]] = []
    used = max_width
    for j, name in enumerate(names):
        label = _fit(str(name), 160, 11)
        w = 16 + _text_width(label, 11) + 14
        if used + w > max_width:
            rows.append([])
            used = 0.0
        rows[-1].append((j, label, w))
        used += w
    return rows


def _axis(maximum: float, ticks: int = 4, integer: bool = False) -> tuple[float, float]:
    """A round tick step and the axis maximum (a multiple of it) covering ``maximum``."""
    maximum = max(maximum, 1.0)
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    return step, step * math.ceil(maximum / step - 1e-9)


def _svg(width: float, height: float, title: str, parts: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_esc(title)}" '
            f'font-family="{_esc(FONT_FAMILY)}" font-size="12">')
    return Markup(head + "".join(parts) + "</svg>")


def _title(title: str | None) -> list[str]:
    if not title:
        return []
    return [f"<title>{_esc(title)}</title>", _text(0, 16, _fit(title, 460, 13), size=13,
                                                    weight="bold")]


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12,
          fill: str = _TEXT, weight: str | None = None) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}"{bold}>{_esc(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{h:.1f}" '
            f'fill="{fill}" {extra}/>')


def _esc(text: object) -> str:
    return escape(_XML_INVALID.sub("", str(text)), quote=True)


def finite_number(value: object) -> float | None:
    """A finite float, or None for missing, N/A or broken values (NaN must not reach a width).
    The PDF formats its numbers through this too."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(value: float | None) -> str:
    if value is None:
        return NA
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text_width(text: str, size: float) -> float:
    """Estimated rendered width: CJK and other wide characters take a full em, the rest ~0.6."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.6 * size for c in text)


def _fit(text: str, max_width: float, size: float) -> str:
    if _text_width(text, size) <= max_width:
        return text
    while text and _text_width(text + "…", size) > max_width:
        text = text[:-1]
    return text + "…"
