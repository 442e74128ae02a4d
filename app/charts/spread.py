"""How totals spread: the five numbers of a group of scores, and a box-and-strip chart of several groups
side by side (one row per group, on the 0–100 scale, with the grade bands' minimums marked).

Pure Python, like the rest of ``app.charts``: plain values in, a self-contained SVG (``Markup``) out; all
text is escaped by the shared drawing helpers of :mod:`app.charts.svg`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from .svg import (
    _GRID,
    _MUTED,
    _TEXT,
    PALETTE,
    _esc,
    _fit,
    _fmt,
    _rect,
    _svg,
    _text,
    _text_width,
    finite_number,
)

# Rows with more values than this draw the box only: thousands of dots say nothing a box does not.
MAX_POINTS = 60
_BREACH = "#c53030"


@dataclass(frozen=True)
class FiveNumbers:
    """A group's spread: how many, lowest, quartiles (linear interpolation between the sorted values,
    as spreadsheets' QUARTILE.INC does), highest and mean; all None when there is no value."""

    count: int
    min: float | None = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    max: float | None = None
    mean: float | None = None

    def to_dict(self) -> dict:
        return {"count": self.count, "min": self.min, "q1": self.q1, "median": self.median, "q3": self.q3,
                "max": self.max, "mean": self.mean}


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0–1) of values sorted ascending, interpolated linearly."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def five_numbers(values: Iterable[object], digits: int = 2) -> FiveNumbers:
    """The spread of the finite numbers among ``values`` (others are left out)."""
    ordered = sorted(n for v in values if (n := finite_number(v)) is not None)
    if not ordered:
        return FiveNumbers(0)

    def r(x: float) -> float:
        return round(x, digits)

    return FiveNumbers(len(ordered), r(ordered[0]), r(quantile(ordered, 0.25)), r(quantile(ordered, 0.5)),
                       r(quantile(ordered, 0.75)), r(ordered[-1]), r(math.fsum(ordered) / len(ordered)))


@dataclass(frozen=True)
class SpreadRow:
    """One row of the chart: its label, its totals, and whether to draw it as breaching a limit.
    ``spread``, when the caller has it already, is :func:`five_numbers` of ``values``: the row is then
    drawn without reading its values again, unless it has few enough of them to draw as dots."""

    label: str
    values: Sequence[float]
    flagged: bool = False
    spread: FiveNumbers | None = None

    def five(self) -> FiveNumbers:
        return self.spread if self.spread is not None else five_numbers(self.values)


def score_spread(rows: Sequence[SpreadRow], bands: Sequence[tuple[str, float]] = (),
                 title: str | None = None, max_points: int = MAX_POINTS) -> Markup:
    """One row per group on a 0–100 axis (starting at the ten below the lowest total or grade minimum
    shown, so that the totals are not squeezed into the right half): whiskers from the lowest to the
    highest total, a box from the first to the third quartile with the median, and each total as a dot (up
    to ``max_points``; spread over the row's height in a fixed pattern, so the same data draws the same
    chart). ``bands`` are (grade, minimum) pairs: a dashed line with the grade's name marks each minimum
    above 0."""
    row_h, width, count_w = 30, 640, 52
    label_w = min(180.0, max([_text_width(str(r.label), 12) for r in rows], default=0.0)) + 12
    plot_x, plot_w = label_w, width - label_w - count_w
    top = (30 if title else 10) + 16  # room for the grade names above the plot
    rows_h = row_h * max(1, len(rows))
    height = top + rows_h + 24

    spreads = [row.five() for row in rows]
    lowest = min([s.min for s in spreads if s.count]
                 + [n for _, m in bands if (n := finite_number(m)) is not None and 0 < n <= 100], default=0.0)
    start = min(max(0, 10 * math.floor((lowest - 5) / 10)), 50)
    step = 10 if start >= 40 else 20
    start -= start % step

    def x_of(value: float) -> float:
        return plot_x + plot_w * (min(max(value, start), 100.0) - start) / (100.0 - start)

    parts = [f"<title>{_esc(title)}</title>", _text(0, 16, _fit(title, width - 20, 13), size=13,
                                                   weight="bold")] if title else []
    for tick in range(start, 101, step):
        x = x_of(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + rows_h}" stroke="{_GRID}"/>')
        parts.append(_text(x, top + rows_h + 14, str(tick), anchor="middle", size=10, fill=_MUTED))
    for grade, minimum in bands:
        value = finite_number(minimum)
        if value is None or value <= 0 or value > 100:
            continue
        x = x_of(value)
        parts.append(f'<g><title>{_esc(grade)} ≥ {_fmt(value)}</title>')
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + rows_h}" stroke="{_MUTED}" '
                     f'stroke-dasharray="4 3"/>')
        parts.append(_text(x + 3, top - 6, _fit(f"{grade} ≥ {_fmt(value)}", 80, 10), size=10, fill=_MUTED))
        parts.append("</g>")
    if not rows:
        parts.append(_text(plot_x + plot_w / 2, top + row_h / 2 + 4, "N/A", anchor="middle", fill=_MUTED))
    for i, (row, spread) in enumerate(zip(rows, spreads, strict=True)):
        parts += _row(row, spread, top + i * row_h, row_h, label_w, plot_x, plot_w, x_of, max_points,
                      PALETTE[0] if not row.flagged else _BREACH)
    return _svg(width, height, title or "", parts)


def _row(row: SpreadRow, spread: FiveNumbers, y0: float, row_h: float, label_w: float, plot_x: float,
         plot_w: float, x_of, max_points: int, color: str) -> list[str]:
    cy = y0 + row_h / 2
    label_color = _BREACH if row.flagged else _TEXT
    summary = ("N/A" if spread.count == 0 else
               f"n={spread.count} · {_fmt(spread.min)} / {_fmt(spread.q1)} / {_fmt(spread.median)} / "
               f"{_fmt(spread.q3)} / {_fmt(spread.max)}")
    parts = [f"<g><title>{_esc(row.label)}: {_esc(summary)}</title>",
             _text(label_w - 8, cy + 4, _fit(str(row.label), label_w - 10, 12), anchor="end",
                   fill=label_color)]
    if spread.count == 0:
        parts.append(_text(plot_x + 6, cy + 4, "N/A", fill=_MUTED))
        parts.append("</g>")
        return parts
    box_h = row_h * 0.5
    parts.append(f'<line x1="{x_of(spread.min):.1f}" y1="{cy:.1f}" x2="{x_of(spread.max):.1f}" y2="{cy:.1f}" '
                 f'stroke="{color}"/>')
    for end in (spread.min, spread.max):
        parts.append(f'<line x1="{x_of(end):.1f}" y1="{cy - box_h / 3:.1f}" x2="{x_of(end):.1f}" '
                     f'y2="{cy + box_h / 3:.1f}" stroke="{color}"/>')
    parts.append(_rect(x_of(spread.q1), cy - box_h / 2, x_of(spread.q3) - x_of(spread.q1), box_h,
                       fill=color, extra=f'fill-opacity="0.18" stroke="{color}"'))
    median = x_of(spread.median)
    parts.append(f'<line x1="{median:.1f}" y1="{cy - box_h / 2:.1f}" x2="{median:.1f}" '
                 f'y2="{cy + box_h / 2:.1f}" stroke="{color}" stroke-width="2"/>')
    if spread.count <= max_points:  # the values are read only to draw them as dots
        values = sorted(n for v in row.values if (n := finite_number(v)) is not None)
        offsets = (0.0, -0.25, 0.25, -0.12, 0.12, -0.35, 0.35)
        for j, value in enumerate(values):
            y = cy + row_h * offsets[j % len(offsets)] * 0.8
            parts.append(f'<circle cx="{x_of(value):.1f}" cy="{y:.1f}" r="2.5" fill="{color}" '
                         f'fill-opacity="0.8"/>')
    parts.append(_text(plot_x + plot_w + 6, cy + 4, f"n={spread.count}", size=11, fill=_MUTED))
    parts.append("</g>")
    return parts
