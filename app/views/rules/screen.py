"""What every screen of the rules editor shares: the version and row of a URL, the labels, the period."""

from __future__ import annotations

import datetime as dt

from flask import abort, request
from sqlalchemy import select

from ...extensions import db
from ...models import RuleSetVersion, Station, owning_version
from ...rules.formulas import INCENTIVE_VARIABLES
from ...web.context import row_or_none

SWOT_LABELS = {"S": ("优势", "Strengths"), "W": ("劣势", "Weaknesses"), "O": ("机会", "Opportunities"),
               "T": ("威胁", "Threats")}
ACTION_LABELS = {"bonus": ("奖金系数", "Bonus coefficient"), "training": ("培训", "Training"),
                 "promotion": ("晋升候选", "Promotion candidate"),
                 "improvement_plan": ("改进计划", "Improvement plan")}


def version_or_404(vid: int, *, discarded: bool = False) -> RuleSetVersion:
    """The version of a URL; a discarded draft only where ``discarded`` (its page and its restore),
    elsewhere it is gone."""
    version = row_or_none(RuleSetVersion, vid)
    if version is None or (version.is_discarded and not discarded):
        abort(404)
    return version


def row_or_404(model, version: RuleSetVersion, rid: int):
    row = row_or_none(model, rid)
    if row is None or owning_version(db.session, row) is not version:
        abort(404)
    return row


def period(args) -> tuple[dt.date, dt.date]:
    """The preview period of ``?start=&end=``: the last 90 days by default, at most ten years."""
    today = dt.date.today()
    try:
        end = dt.date.fromisoformat(args.get("end", ""))
    except ValueError:
        end = today
    try:
        start = dt.date.fromisoformat(args.get("start", ""))
    except ValueError:
        start = end - dt.timedelta(days=89)
    if start > end or (end - start).days > 3660:
        start = end - dt.timedelta(days=89)
    return start, end


def swot_back() -> dict | None:
    """The SWOT screen an indicator form was opened from (``?swot=S01&year=2026``, kept through the
    form's POST), to go back to once the indicator is saved; None for an unknown station."""
    code = request.values.get("swot", "").strip()
    if not code or db.session.scalar(select(Station.id).where(Station.code == code)) is None:
        return None
    year = request.values.get("year", type=int)
    return {"code": code, "year": year if year and 2000 <= year <= 2100 else None}


def back_args(back: dict | None) -> dict:
    return {"swot": back["code"], "year": back["year"]} if back else {}


def formula_names(version: RuleSetVersion) -> dict:
    """Extra names each formula role may use, for the live check (the catalogue has the rest)."""
    codes = [i.code for i in version.indicators]
    return {
        "indicator": codes,
        "score": [*codes, "value", "target"],
        "weight": [],
        "outcome": [*codes, "total", "subtotal", "adjustment", "grade"],
        # the incentive's own names, in English and Chinese (the check knows neither otherwise)
        "incentive": [*codes, *(v.code for v in INCENTIVE_VARIABLES), *(v.zh for v in INCENTIVE_VARIABLES)],
    }

