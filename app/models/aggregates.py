"""Stored dashboard figures: one cycle's appraisals summed per station and over the whole network.

Rows are written by app.services.dashboard_store, all of a cycle's at once, with the fingerprint of the
cycle's appraisals they were computed from (their latest ``updated_at``); a reader whose fingerprint differs
computes them again. Nothing here is a source of truth: deleting every row only costs
the next dashboard view its computation.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .appraisal import Appraisal
from .base import Model


class DashboardFigures(Model):
    """The sums behind a dashboard for one cycle and one station (``station_id`` None: every station).

    Sums and counts rather than means, so that a mean is exact whatever it is read with: ``categories`` maps
    a category to ``[sum of scores, scores]``; ``indicators`` lists ``[code, rule-set version number, name,
    category, appraisals, N/A, sum of scores, scores]``; ``grades`` a grade ("" for none) to a count;
    ``versions`` a rule-set version number (as text) to a count; ``top`` the best totals, ``[total,
    employee number, appraisal id, employee id, grade]``, best first."""

    __tablename__ = "dashboard_figures"
    __table_args__ = (Index("ix_dashboard_figures_cycle_station", "cycle_id", "station_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), nullable=False)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"),
                                                   nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(120), nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    people: Mapped[int] = mapped_column(Integer, nullable=False)
    total_sum: Mapped[float] = mapped_column(Float, nullable=False)
    total_n: Mapped[int] = mapped_column(Integer, nullable=False)
    grades: Mapped[dict] = mapped_column(JSON, nullable=False)
    categories: Mapped[dict] = mapped_column(JSON, nullable=False)
    versions: Mapped[dict] = mapped_column(JSON, nullable=False)
    indicators: Mapped[list] = mapped_column(JSON, nullable=False)
    top: Mapped[list] = mapped_column(JSON, nullable=False)


# A cycle's fingerprint, its latest updated_at, is one descent of this index, never a pass over the rows.
APPRAISAL_CYCLE_UPDATED = Index("ix_appraisal_cycle_updated", Appraisal.cycle_id, Appraisal.updated_at)
