"""How an appraisal line's numbers read, on the screens and in the PDF alike.

A rate is stored as a fraction (0.88) with the unit ``"%"``: the formulas, the targets in
rules/indicators.toml and the explanation lines all work with the fraction. People read 88%, so a
``"%"`` value is shown times 100. Only the display changes; the stored snapshot does not.
"""

from __future__ import annotations

from app.charts.svg import finite_number

PERCENT = "%"


def format_number(value: float, places: int = 2) -> str:
    """``value`` rounded to ``places`` decimals, thousands separated, without trailing zeros."""
    text = f"{value:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def measure(value: object, unit: str | None = "") -> str | None:
    """A line's value or target with its unit: ``measure(0.88, "%") == "88%"``,
    ``measure(4.2094, "分") == "4.21 分"``; None when there is no number (N/A)."""
    number = finite_number(value)
    if number is None:
        return None
    unit = (unit or "").strip()
    if unit == PERCENT:
        return f"{format_number(number * 100)}%"
    return f"{format_number(number)} {unit}".strip()
