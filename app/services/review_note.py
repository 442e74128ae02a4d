"""The comment a review edit leaves in the trail, as it is stored and as people read it.

The audit event keeps what changed in codes and plain numbers, whatever the writer's language
(``kpi_teamwork = 90; adjustment = +3``, then ``: `` and the supervisor's reason): an audit record of
facts. The trail shows it in the reader's language, each indicator by its name and its value as the
appraisal prints it (``团队协作 90 分；调整分 +3：<reason>``). Events written before this module (whose
adjustment reads ``调整分 +3`` or ``Adjustment +3``) read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask_babel import gettext as _

from ..locales import is_english
from ..pdf.numbers import format_number, measure

ADJUSTMENT = "adjustment"
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_ITEM = rf"(?:[^\W\d]\w* = (?:{_NUMBER}|N/A)|(?:调整分|Adjustment) {_NUMBER})"
_NOTE = re.compile(rf"({_ITEM}(?:; {_ITEM})*)(?:: (.*))?", re.S)


def write_note(manual: Mapping[str, float | None], adjustment: float | None, reason: str) -> str:
    """The stored comment of a review edit: the manual values it set (by code), the new adjustment
    (None: unchanged), then the reason."""
    items = [f"{code} = {'N/A' if manual[code] is None else manual[code]}" for code in sorted(manual)]
    if adjustment is not None:
        items.append(f"{ADJUSTMENT} = {adjustment:+g}")
    summary = "; ".join(items)
    return f"{summary}: {reason}" if reason and summary else (reason or summary)


def _signed(value: float) -> str:
    return f"+{format_number(value)}" if value > 0 else format_number(value)


def read_note(comment: str, lines: Iterable[Mapping], locale: str | None) -> str:
    """A review edit's stored comment as the reader reads it, in the current gettext locale (whose
    code is ``locale``): ``lines`` are the appraisal's (``code``, ``name`` in the reader's language,
    ``unit``). A comment that is no such note, or that names an indicator the lines lack, is shown
    as written."""
    match = _NOTE.fullmatch(comment or "")
    if match is None:
        return comment
    by_code = {line.get("code"): line for line in lines}
    parts = []
    for item in match.group(1).split("; "):
        code, raw = item.split(" = ", 1) if " = " in item else (ADJUSTMENT, item.rsplit(" ", 1)[1])
        value = None if raw == "N/A" else float(raw)
        if code in by_code:
            line = by_code[code]
            shown = measure(value, line.get("unit")) or _("does not apply")
            parts.append(f"{line.get('name') or code} {shown}")
        elif code == ADJUSTMENT and value is not None:
            parts.append(_("Adjustment %(points)s", points=_signed(value)))
        else:
            return comment
    changes = ("; " if is_english(locale) else "；").join(parts)
    reason = match.group(2)
    return _("%(changes)s: %(reason)s", changes=changes, reason=reason) if reason else changes
