"""Text a person typed, matched with SQL LIKE as the text itself: its ``%``, ``_`` and ``\\`` escaped."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped; compare with ``escape="\\\\"``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
