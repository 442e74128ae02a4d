"""The texts of notifications, rendered in the reader's language when read or sent.

A notification keeps its kind and parameters, never its text: ``render(kind, params, locale)`` gives the
title, the plain text and an escaped HTML fragment under ``force_locale(locale)``. A parameter that is a
label in both languages is stored as ``{"zh": …, "en": …}`` (a workflow state or action, named by the
rule set's table) and picked here. Due dates are stored as ISO moments (UTC) and shown as local dates.

What a text may carry: who, which step, the due date and the cycle. **Never totals, grades or
comments** — mails and robot messages are read outside the application.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from .. import clock
from ..locales import is_english

ACT = "act"
RESULT_PUBLISHED = "result_published"
COUNTERSIGN = "countersign"
REASSIGNED = "reassigned"
JOB_FINISHED = "job_finished"
REMINDER = "reminder"
ESCALATION = "escalation"
DIGEST = "digest"
KINDS = (ACT, RESULT_PUBLISHED, COUNTERSIGN, REASSIGNED, JOB_FINISHED, REMINDER, ESCALATION, DIGEST)


@dataclass(frozen=True)
class Rendered:
    """A notification in one language: ``html_fragment`` is escaped (safe to mark up)."""

    title: str
    text: str
    html_fragment: str


def bilingual(zh: str | None, en: str | None) -> dict:
    """A label to store once and show in either language."""
    return {"zh": zh or en or "", "en": en or zh or ""}


def pick(value, locale: str | None) -> str:
    """A stored label in the reader's language (a plain string is shown as it is)."""
    if isinstance(value, Mapping):
        first, second = ("en", "zh") if is_english(locale) else ("zh", "en")
        return str(value.get(first) or value.get(second) or "")
    return "" if value is None else str(value)


def local_date(value) -> str:
    """An ISO moment (or date) as the local date, ``2026-12-10``; empty when missing or unreadable."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    if len(str(value)) <= 10:  # a date
        return moment.date().isoformat()
    return clock.to_local(moment).date().isoformat()


def _who(params: Mapping, locale: str) -> str:
    """"张三（EMP1）" or the number alone."""
    name, number = params.get("employee") or "", params.get("employee_no") or ""
    if name and number:
        return f"{name} ({number})" if is_english(locale) else f"{name}（{number}）"
    return name or number


def _by(params: Mapping) -> str:
    by, principal = params.get("by") or "", params.get("by_for") or ""
    if by and principal:
        return _("%(who)s (for %(principal)s)", who=by, principal=principal)
    return by


def _act(params: Mapping, locale: str) -> tuple[str, str]:
    state = pick(params.get("state"), locale)
    title = _("%(state)s: %(employee)s", state=state, employee=_who(params, locale))
    lines = [_("Cycle %(cycle)s: %(employee)s is now %(state)s and waits for you.",
               cycle=params.get("cycle") or "", employee=_who(params, locale), state=state)]
    if params.get("action") and _by(params):
        lines.append(_("%(action)s by %(by)s.", action=pick(params.get("action"), locale), by=_by(params)))
    if params.get("acting_for"):
        lines.append(_("You stand in for %(principal)s.", principal=params["acting_for"]))
    if params.get("due"):
        lines.append(_("Due %(due)s.", due=local_date(params["due"])))
    return title, "\n".join(lines)


def _published(params: Mapping, locale: str) -> tuple[str, str]:
    title = _("Your result of %(cycle)s is published", cycle=params.get("cycle") or "")
    lines = [_("Read it, then sign it or raise a dispute.")]
    if params.get("due"):
        lines.append(_("Sign or dispute by %(due)s.", due=local_date(params["due"])))
    return title, "\n".join(lines)


def _countersign(params: Mapping, locale: str) -> tuple[str, str]:
    title = _("Countersign: %(employee)s", employee=_who(params, locale))
    text = _("Cycle %(cycle)s: %(done)s of %(needed)s have approved %(employee)s; your approval is needed.",
             cycle=params.get("cycle") or "", done=params.get("done", 0), needed=params.get("needed", 0),
             employee=_who(params, locale))
    return title, text


def _reassigned(params: Mapping, locale: str) -> tuple[str, str]:
    title = _("You review %(employee)s", employee=_who(params, locale))
    lines = [_("Cycle %(cycle)s: HR made you the reviewer of %(employee)s.",
               cycle=params.get("cycle") or "", employee=_who(params, locale))]
    if params.get("reason"):
        lines.append(_("Reason: %(reason)s", reason=params["reason"]))
    return title, "\n".join(lines)


def _job(params: Mapping, locale: str) -> tuple[str, str]:
    what = pick(params.get("job"), locale) or _("A job")
    if params.get("state") == "failed":
        return _("%(job)s failed", job=what), _("Open My jobs to see why.")
    return _("%(job)s is done", job=what), _("Open My jobs to see its result.")


def _reminder(params: Mapping, locale: str) -> tuple[str, str]:
    state = pick(params.get("state"), locale)
    title = _("Reminder: %(count)s %(state)s", count=params.get("count", 0), state=state)
    text = _("Cycle %(cycle)s: %(count)s appraisals are %(state)s, due %(due)s.",
             cycle=params.get("cycle") or "", count=params.get("count", 0), state=state,
             due=local_date(params.get("due")))
    if params.get("acting_for"):
        text += "\n" + _("You stand in for %(principal)s.", principal=pick(params["acting_for"], locale))
    return title, text


def _escalation(params: Mapping, locale: str) -> tuple[str, str]:
    state = pick(params.get("state"), locale)
    title = _("Overdue: %(count)s %(state)s", count=params.get("count", 0), state=state)
    lines = [_("Cycle %(cycle)s: %(count)s appraisals are still %(state)s; they were due %(due)s.",
               cycle=params.get("cycle") or "", count=params.get("count", 0), state=state,
               due=local_date(params.get("due")))]
    if params.get("late_party"):
        lines.append(_("Waiting for: %(who)s.", who=pick(params["late_party"], locale)))
    if params.get("acting_for"):
        lines.append(_("You stand in for %(principal)s.", principal=pick(params["acting_for"], locale)))
    return title, "\n".join(lines)


def _digest(params: Mapping, locale: str) -> tuple[str, str]:
    title = _("Your notifications of %(date)s", date=params.get("date") or "")
    return title, _("%(count)s new notifications.", count=params.get("count", 0))


_TEXTS = {ACT: _act, RESULT_PUBLISHED: _published, COUNTERSIGN: _countersign, REASSIGNED: _reassigned,
          JOB_FINISHED: _job, REMINDER: _reminder, ESCALATION: _escalation, DIGEST: _digest}


def render(kind: str, params: Mapping | None, locale: str) -> Rendered:
    """The notification ``kind`` with ``params`` in ``locale``; an unknown kind gives a plain title."""
    params = params or {}
    with force_locale(locale):
        texts = _TEXTS.get(kind)
        title, text = texts(params, locale) if texts else (_("Notification"), "")
    html = "<br>".join(str(escape(line)) for line in text.splitlines())
    return Rendered(title, text, html)
